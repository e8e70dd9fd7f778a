package tls

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

func ja4Part(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// TestGoClientHelloJA4 checks ParseClientHello against Go's own
// ClientHello, with JA4 worked out by hand from the wire (Go 1.26 defaults,
// ServerName and ALPN set, no ECH config):
//
//	ciphers (13): c02b c02f c02c c030 cca9 cca8 c009 c013 c00a c014 1301 1302 1303
//	extensions (12): 0000 000b ff01 0017 0012 0005 000a 000d 0032 0010 002b 0033
//	supported_versions: 0304 0303 -> "13"; SNI present -> 'd'; ALPN "h2" -> "h2"
//	a = "t13d1312h2"
//	b = sha256("1301,1302,1303,c009,c00a,c013,c014,c02b,c02c,c02f,c030,cca8,cca9")[:12]
//	c = sha256("0005,000a,000b,000d,0012,0017,002b,0032,0033,ff01_" +
//	           "0804,0403,0807,0805,0806,0401,0501,0601,0503,0603")[:12]
//
// If a future Go changes its defaults this test says so; the hand-made
// string then needs updating, not the parser.
func TestGoClientHelloJA4(t *testing.T) {
	rec := goClientHello(t)
	var m dissect.Meta
	if err := ParseClientHello(rec[5:], 't', &m); err != nil {
		t.Fatal(err)
	}
	want := "t13d1312h2_" +
		ja4Part("1301,1302,1303,c009,c00a,c013,c014,c02b,c02c,c02f,c030,cca8,cca9") + "_" +
		ja4Part("0005,000a,000b,000d,0012,0017,002b,0032,0033,ff01_0804,0403,0807,0805,0806,0401,0501,0601,0503,0603")
	if m.TLS.JA4() != want {
		t.Errorf("JA4 = %s, want %s (extensions %x)", m.TLS.JA4(), want, m.TLS.Extensions())
	}
	if m.Host != "weir.test" || strings.Join(m.TLS.ALPN(), ",") != "h2,http/1.1" || m.TLS.CipherSuites() != 13 {
		t.Errorf("got host %q alpn %v ciphers %d", m.Host, m.TLS.ALPN(), m.TLS.CipherSuites())
	}
	if fmt.Sprint(m.TLS.SupportedVersions()) != "[772 771]" || m.TLS.ClientVersion != 0x0303 || len(m.TLS.JA3()) != 32 {
		t.Errorf("versions %v legacy %x ja3 %q", m.TLS.SupportedVersions(), m.TLS.ClientVersion, m.TLS.JA3())
	}
}

// TestJA4Hashing checks the b and c parts against a published JA4 / JA4_r
// pair (Chrome; browserleaks.com output quoted in public repositories).
func TestJA4Hashing(t *testing.T) {
	if got := ja4Part("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"); got != "8daaf6152771" {
		t.Errorf("cipher hash %s", got)
	}
	if got := ja4Part("0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_0403,0804,0401,0503,0805,0501,0806,0601"); got != "d8a2da3f94cd" {
		t.Errorf("extension hash %s", got)
	}
}

func TestClientHelloEdgeCases(t *testing.T) {
	grease := uint16(0x1a1a)
	tests := []struct {
		name    string
		hs      []byte
		tr      byte
		wantErr error
		check   func(t *testing.T, m *dissect.Meta)
	}{
		{
			name: "ech outer sni",
			hs:   buildCH([]uint16{grease, 0x1301}, ext{grease, nil}, sniExt("Public.Example."), ext{extECH, []byte{0, 1, 2}}),
			tr:   't',
			check: func(t *testing.T, m *dissect.Meta) {
				if !m.TLS.ECH || m.Host != "public.example" {
					t.Errorf("ech %v host %q", m.TLS.ECH, m.Host)
				}
				// GREASE is out of the counts, SNI counts but is not hashed.
				if !strings.HasPrefix(m.TLS.JA4(), "t12d010200_") || !strings.HasSuffix(m.TLS.JA4(), "_"+ja4Part("fe0d")) {
					t.Errorf("JA4 %s", m.TLS.JA4())
				}
				if m.TLS.CipherSuites() != 1 || len(m.TLS.Extensions()) != 3 {
					t.Errorf("ciphers %d extensions %v", m.TLS.CipherSuites(), m.TLS.Extensions())
				}
			},
		},
		{
			name: "no extensions",
			hs: func() []byte {
				b := buildCH([]uint16{0x002f})[:4+2+32+1+4+2]
				b[3] = byte(len(b) - 4)
				return b
			}(),
			tr: 'q',
			check: func(t *testing.T, m *dissect.Meta) {
				if m.TLS.JA4() != "q12i010000_"+ja4Part("002f")+"_000000000000" {
					t.Errorf("JA4 %s", m.TLS.JA4())
				}
			},
		},
		{
			name: "binary alpn uses hex",
			hs:   buildCH([]uint16{0x1301}, ext{extALPN, vec16([]byte{2, 0xab, 0xcd})}),
			tr:   't',
			check: func(t *testing.T, m *dissect.Meta) {
				if m.TLS.JA4()[8:10] != "ad" {
					t.Errorf("JA4 %s", m.TLS.JA4())
				}
			},
		},
		{name: "wrong type", hs: append([]byte{2}, buildCH([]uint16{1})[1:]...), wantErr: ErrWrongType},
		{name: "truncated", hs: buildCH([]uint16{1}, sniExt("a.b"))[:30], wantErr: ErrTruncated},
		{name: "odd cipher list", hs: func() []byte {
			b := buildCH([]uint16{1})
			b[4+2+32+1+1] = 3 // cipher vector length 3
			return b
		}(), wantErr: ErrMalformed},
		{name: "bad version", hs: func() []byte { b := buildCH([]uint16{1}); b[4] = 9; return b }(), wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m dissect.Meta
			err := ParseClientHello(tc.hs, tc.tr, &m)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, &m)
			}
		})
	}
}

// TestDissectorGo feeds a real crypto/tls handshake in one piece, split in
// three segments, out of order and with retransmissions.
func TestDissectorGo(t *testing.T) {
	cli12, srv12 := goHandshake(t, 0x0303)
	cli13, srv13 := goHandshake(t, 0x0304)
	n := len(cli12)
	// Only the first flight matters for the client: cut inside the hello.
	ch12 := cli12[:5+(int(cli12[3])<<8|int(cli12[4]))]
	ch13 := cli13[:5+(int(cli13[3])<<8|int(cli13[4]))]
	_ = n
	third := len(ch12) / 3
	tests := []struct {
		name     string
		pkts     []dissect.Packet
		want     dissect.Status
		wantCert bool
	}{
		{"one piece tls12", append(segments(0, 1000, ch12), segments(1, 5000, srv12)...), dissect.Done, true},
		{"one piece tls13", append(segments(0, 1000, ch13), segments(1, 5000, srv13)...), dissect.Done, false},
		{"three segments", append(segments(0, 1000, ch12, third, 2*third), segments(1, 5000, srv12, 7, 100)...), dissect.Done, true},
		{"out of order", func() []dissect.Packet {
			p := segments(0, 1000, ch12, third, 2*third)
			p[0], p[2] = p[2], p[0]
			return append(p, segments(1, 5000, srv12)...)
		}(), dissect.Done, true},
		{"second first, with retransmission", func() []dissect.Packet {
			p := segments(0, 1000, ch12, third, 2*third)
			p = []dissect.Packet{p[1], p[0], p[0], p[2], p[1]}
			return append(p, segments(1, 5000, srv12)...)
		}(), dissect.Done, true},
		{"client only", segments(0, 1000, ch13, 10), dissect.Identified, false},
		{"server only", segments(1, 5000, srv13), dissect.Done, false},
	}
	// One dissector for every case, reset in between, as the classifier
	// pools them: nothing of a reordered flow may reach the next one.
	var d Dissector
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d.Reset()
			var m dissect.Meta
			st := feedAll(&d, &m, tc.pkts)
			if st != tc.want {
				t.Fatalf("status %d, want %d (why %q)", st, tc.want, m.Why)
			}
			if m.Proto != dissect.TLS {
				t.Errorf("proto %v", m.Proto)
			}
			if tc.name != "server only" {
				if m.Host != "weir.test" || !strings.HasPrefix(m.TLS.JA4(), "t1") || m.Why != "TLS ClientHello SNI" {
					t.Errorf("host %q ja4 %q why %q", m.Host, m.TLS.JA4(), m.Why)
				}
			}
			if tc.wantCert && (m.TLS.CertSubject != "weir.test" || len(m.TLS.CertSANs()) != 2 || m.TLS.Version != 0x0303 || m.TLS.ServerALPN != "h2") {
				t.Errorf("cert %q sans %v version %x alpn %q", m.TLS.CertSubject, m.TLS.CertSANs(), m.TLS.Version, m.TLS.ServerALPN)
			}
		})
	}
}

func TestDissectorEdgeCases(t *testing.T) {
	manyCiphers := make([]uint16, 30000) // 60 KB of cipher suites + 40 KB padding > maxDirBytes
	for i := range manyCiphers {
		manyCiphers[i] = uint16(i + 1)
	}
	huge := buildCH(manyCiphers, sniExt("huge.example"), ext{0x0015, make([]byte, 40000)})
	hugeRec := records(recHandshake, huge, 16384)
	small := records(recHandshake, buildCH([]uint16{0x1301}, sniExt("gap.example"), ext{0x15, make([]byte, 3000)}), 16384)
	tests := []struct {
		name     string
		pkts     []dissect.Packet
		port     uint16
		want     dissect.Status
		wantHost string
		wantWhy  string
		proto    dissect.Proto
	}{
		{"huge client hello", segments(0, 7, hugeRec, 1400, 20000, 40000, 60000), 443, dissect.Identified, "", "TLS ClientHello too large to reassemble", dissect.TLS},
		{"missing fragment", func() []dissect.Packet {
			p := segments(0, 7, small, 1000, 2000)
			tail := records(recApplicationData, make([]byte, 50), 100)
			var out []dissect.Packet
			out = append(out, p[0], p[2]) // p[1] never captured
			for i := 0; i < 5; i++ {
				out = append(out, segments(0, 7+uint32(len(small)+i*len(tail)), tail)...)
			}
			return out
		}(), 443, dissect.Identified, "", "TLS ClientHello incomplete (segment missing)", dissect.TLS},
		{"several hellos per record, dot", segments(0, 1, records(recHandshake, buildCH([]uint16{1}, sniExt("dns.example")), 16384)), 853, dissect.Identified, "dns.example", "TLS ClientHello SNI", dissect.DoT},
		{"hello across records, imaps", segments(0, 1, records(recHandshake, buildCH([]uint16{1}, sniExt("mail.example")), 20), 33), 993, dissect.Identified, "mail.example", "TLS ClientHello SNI", dissect.IMAPS},
		{"mid-stream", append(segments(0, 1, records(recApplicationData, make([]byte, 300), 100)), segments(1, 9, records(recApplicationData, make([]byte, 40), 100))...), 443, dissect.Done, "", "TLS records (mid-stream)", dissect.TLS},
		{"http is not tls", segments(0, 1, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")), 443, dissect.NotMine, "", "", dissect.Unknown},
		{"bad record after header", segments(0, 1, []byte{0x16, 3, 1, 0, 8, 1, 0, 0, 4, 9, 9, 9, 9}), 443, dissect.NotMine, "", "", dissect.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.pkts {
				tc.pkts[i].ServerPort = tc.port
			}
			var d Dissector
			var m dissect.Meta
			st := feedAll(&d, &m, tc.pkts)
			if st != tc.want || m.Host != tc.wantHost || m.Why != tc.wantWhy || m.Proto != tc.proto {
				t.Errorf("got (%d, %q, %q, %v), want (%d, %q, %q, %v)", st, m.Host, m.Why, m.Proto, tc.want, tc.wantHost, tc.wantWhy, tc.proto)
			}
		})
	}
}

func TestTorName(t *testing.T) {
	for s, want := range map[string]bool{
		"www.q4cyamnc6mtokjurvdclt.com": true, "www.t3i3ru.com": true, "www.google.com": true,
		"www.go.com": false, "www.x1y.com": false, "mail.abcdefgh.com": false, "www.abcdefgh.net": false,
	} {
		if got := torName(s, ".com"); got != want {
			t.Errorf("torName(%q) = %v", s, got)
		}
	}
	// www.google.com passes the name shape: that is why one name is never
	// enough and isTorLink needs SNI, issuer and subject together.
}

// TestRandomPayloads: random bytes must practically never look like TLS.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 6, []uint16{443, 0}, 100000, 0.001)
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &DTLSDissector{} }, 17, []uint16{443, 0}, 100000, 0.001)
}

func TestNoAllocsReject(t *testing.T) {
	dissecttest.NoAllocsReject(t, &Dissector{}, dissect.Packet{L4: 6, Index: 1, Payload: []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")})
	dissecttest.NoAllocsReject(t, &DTLSDissector{}, dissect.Packet{L4: 17, Index: 1, Payload: bytes.Repeat([]byte{0x45}, 100)})
}

// BenchmarkClientHello-2  9831 ns/op  154.51 MB/s  192 B/op  9 allocs/op (shared, busy host)
func BenchmarkClientHello(b *testing.B) {
	rec := goClientHello(b)
	pkts := segments(0, 1, rec)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		var d Dissector
		var m dissect.Meta
		p := pkts[0]
		d.Feed(&p, &m)
	}
}

// BenchmarkReject-2  48.94 ns/op  0 B/op  0 allocs/op
func BenchmarkReject(b *testing.B) {
	p := dissect.Packet{L4: 6, Index: 1, Payload: []byte("SSH-2.0-OpenSSH_9.2p1\r\n")}
	var m dissect.Meta
	var d Dissector
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func ExampleParseClientHello() {
	hs := buildCH([]uint16{0x1301, 0x1302}, sniExt("Example.COM"), alpnExt("h2", "http/1.1"))
	var m dissect.Meta
	if err := ParseClientHello(hs, 't', &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Host, m.TLS.ALPN(), m.TLS.CipherSuites(), m.TLS.JA4())
	// Output: example.com [h2 http/1.1] 2 t12d0202h2_62ed6f6ca7ad_000000000000
}

// A dissector reset while segments wait for a hole that never filled
// starts the next flow clean, keeping only the stash index's array: the
// classifier pools dissectors.
func TestResetAfterHole(t *testing.T) {
	cli, srv := goHandshake(t, 0x0303)
	ch := cli[:5+(int(cli[3])<<8|int(cli[4]))]
	third := len(ch) / 3
	var d Dissector
	var m dissect.Meta
	p := segments(0, 1000, ch, third, 2*third)
	feedAll(&d, &m, []dissect.Packet{p[1], p[2]}) // the first segment never comes
	if len(d.dir[0].pend) == 0 {
		t.Fatal("no segment waiting for the hole")
	}
	d.Reset()
	if s := &d.dir[0]; len(s.pend) != 0 || cap(s.pend) == 0 {
		t.Fatalf("after Reset: %d segments waiting, index capacity %d; want none and the array kept", len(s.pend), cap(s.pend))
	}
	m = dissect.Meta{}
	st := feedAll(&d, &m, append(segments(0, 1000, ch, third, 2*third), segments(1, 5000, srv)...))
	if st != dissect.Done || m.Host != "weir.test" || m.TLS.CertSubject != "weir.test" {
		t.Fatalf("after Reset: status %v host %q cert %q", st, m.Host, m.TLS.CertSubject)
	}
}

// TestRepeatFlowAllocs: a TLS 1.2 handshake to a server seen before costs
// two allocations, the two per-flow copies its record keeps (the
// ClientHello's lists for JA3/JA4, the certificate's SAN list); the names
// (SNI, ALPN, certificate subject and issuer) are interned.
func TestRepeatFlowAllocs(t *testing.T) {
	cli, srv := goHandshake(t, 0x0303)
	ch := cli[:5+(int(cli[3])<<8|int(cli[4]))]
	pkts := append(segments(0, 1000, ch), segments(1, 5000, srv)...)
	if n := dissecttest.RepeatAllocs(&Dissector{}, pkts); n != 2 {
		t.Errorf("repeated TLS 1.2 handshake: %v allocations, want 2", n)
	}
}
