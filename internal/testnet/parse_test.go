package testnet

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Outputs captured from dig 9.18 and openssl 3.0 on Debian 12.
const digBlocked = `
; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +tries=1 +time=2 @10.200.2.2 casino-royal.test
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 16141
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1
;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; EDE: 15 (Blocked): (blocked by policy)
;; QUESTION SECTION:
;casino-royal.test.		IN	A

;; Query time: 4 msec
`

const digFiltered = `;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 42530
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1
; EDE: 17 (Filtered)
`

const digAnswers = `;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 16096
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1
;; QUESTION SECTION:
;allowed.test.			IN	A

;; ANSWER SECTION:
www.allowed.test.	300	IN	CNAME	allowed.test.
allowed.test.		60	IN	A	10.200.2.2

;; AUTHORITY SECTION:
test.			60	IN	NS	ns.test.
`

func TestParseDig(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want DigResult
	}{
		{"blocked", digBlocked, DigResult{
			Rcode: "NXDOMAIN", Flags: []string{"qr", "aa", "rd"},
			EDE: []EDE{{Code: 15, Purpose: "Blocked", Text: "blocked by policy"}},
		}},
		{"filtered-no-text", digFiltered, DigResult{
			Rcode: "NOERROR", Flags: []string{"qr", "aa", "rd"},
			EDE: []EDE{{Code: 17, Purpose: "Filtered"}},
		}},
		{"answers", digAnswers, DigResult{
			Rcode: "NOERROR", Flags: []string{"qr", "aa", "rd"},
			Answers: []RR{
				{Name: "www.allowed.test.", TTL: 300, Class: "IN", Type: "CNAME", Data: "allowed.test."},
				{Name: "allowed.test.", TTL: 60, Class: "IN", Type: "A", Data: "10.200.2.2"},
			},
		}},
		{"timeout", ";; connection timed out; no servers could be reached\n", DigResult{}},
		{"empty", "", DigResult{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseDig(c.in)
			got.Raw = ""
			if !reflect.DeepEqual(*got, c.want) {
				t.Fatalf("(-got, +want)\n-%+v\n+%+v", *got, c.want)
			}
		})
	}
}

func TestParseOpenSSL(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want TLSResult
	}{
		{"ok", "CONNECTION ESTABLISHED\nProtocol version: TLSv1.3\nCiphersuite: TLS_AES_128_GCM_SHA256\nVerification: OK\nDONE\n",
			TLSResult{Handshake: true, Verified: true, Protocol: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"}},
		{"plain-http", "40D768C2147F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:350:\n",
			TLSResult{Err: "40D768C2147F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:350:"}},
		{"refused", "connect:errno=111\n", TLSResult{Err: "connect:errno=111"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseOpenSSL(c.in)
			got.Output = ""
			if !reflect.DeepEqual(*got, c.want) {
				t.Fatalf("(-got, +want)\n-%+v\n+%+v", *got, c.want)
			}
		})
	}
}

func TestReadPcap(t *testing.T) {
	var b []byte
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b = append(b, hdr...)
	for _, p := range []string{"hello MARKER", "nothing"} {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, 1700000000)
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(p)))
		b = append(append(b, rec...), p...)
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := PcapContains(path, []byte("MARKER"))
	if err != nil || k != 1 {
		t.Fatalf("k=%d err=%v", k, err)
	}
	// Truncated file: packets so far plus an error, never a panic.
	if err := os.WriteFile(path, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	pkts, err := ReadPcap(path)
	if err == nil || len(pkts) != 1 {
		t.Fatalf("truncated: %d packets, err %v", len(pkts), err)
	}
}
