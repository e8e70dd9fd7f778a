package openvpn

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

var (
	sidC = []byte{0x50, 0x7a, 0x28, 0xa7, 0x82, 0x75, 0x78, 0x8d}
	sidS = []byte{0x9a, 0xd7, 0x47, 0xbe, 0xb2, 0x4d, 0x8a, 0x1b}
)

// ctl builds a control packet: opcode, session id, optional tls-auth block
// (HMAC of hmacLen, packet id, time), the ack array, and a message packet id.
func ctl(op uint8, sid []byte, hmacLen int, acks []uint32, remote []byte, pid uint32, payload string) []byte {
	b := []byte{op << 3}
	b = append(b, sid...)
	if hmacLen > 0 {
		for i := 0; i < hmacLen; i++ {
			b = append(b, byte(i*31+7))
		}
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 0x5e3e7b98)
	}
	b = append(b, byte(len(acks)))
	for _, a := range acks {
		b = binary.BigEndian.AppendUint32(b, a)
	}
	if len(acks) > 0 {
		b = append(b, remote...)
	}
	if op != opAckV1 {
		b = binary.BigEndian.AppendUint32(b, pid)
	}
	return append(b, payload...)
}

func tcp(pkts ...[]byte) []byte {
	var b []byte
	for _, p := range pkts {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b
}

type step = dissecttest.Step

func TestDissector(t *testing.T) {
	cReset := ctl(opHardResetClientV2, sidC, 0, nil, nil, 0, "")
	sReset := ctl(opHardResetServerV2, sidS, 0, []uint32{0}, sidC, 0, "")
	cResetH := ctl(opHardResetClientV2, sidC, 20, nil, nil, 0, "")
	sResetH := ctl(opHardResetServerV2, sidS, 20, []uint32{0}, sidC, 0, "")
	tests := []struct {
		name  string
		l4    uint8
		steps []step
		want  dissect.Status
		why   string
	}{
		{"udp no hmac", 17, []step{{0, cReset}, {1, sReset}}, dissect.Done, "OpenVPN reset reply echoes session id"},
		{"udp tls-auth sha1", 17, []step{{0, cResetH}, {1, sResetH}}, dissect.Done, "OpenVPN reset reply echoes session id"},
		{"udp tls-auth sha512", 17, []step{
			{0, ctl(opHardResetClientV2, sidC, 64, nil, nil, 0, "")},
			{1, ctl(opHardResetServerV2, sidS, 64, []uint32{0}, sidC, 0, "")},
		}, dissect.Done, "OpenVPN reset reply echoes session id"},
		{"tcp no hmac", 6, []step{{0, tcp(cReset)}, {1, tcp(sReset)}}, dissect.Done, "OpenVPN reset reply echoes session id"},
		{"tcp two packets in one segment", 6, []step{{0, tcp(cReset, ctl(opAckV1, sidC, 0, []uint32{0}, sidS, 0, ""), ctl(opControlV1, sidC, 0, nil, nil, 1, "\x16\x03\x01"))}}, dissect.Done, "OpenVPN control session id repeated"},
		{"tls-crypt both sides repeat", 17, []step{
			{0, append([]byte{opHardResetClientV3 << 3}, append(append([]byte{}, sidC...), make([]byte, 40)...)...)},
			{1, append([]byte{opHardResetServerV2 << 3}, append(append([]byte{}, sidS...), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)...)},
			{0, append([]byte{opControlWKCV1 << 3}, append(append([]byte{}, sidC...), make([]byte, 60)...)...)},
			{1, append([]byte{opControlV1 << 3}, append(append([]byte{}, sidS...), 9, 9, 9, 9, 9, 9, 9)...)},
		}, dissect.Done, "OpenVPN control session id repeated"},
		{"one-way capture", 17, []step{
			{0, cReset}, {0, ctl(opAckV1, sidC, 0, []uint32{0}, sidS, 0, "")}, {0, ctl(opControlV1, sidC, 0, nil, nil, 0, "\x16\x03\x01")},
		}, dissect.Done, "OpenVPN control session id repeated"},
		{"lonely reset", 17, []step{{0, cReset}}, dissect.Continue, ""},
		{"starts with data", 17, []step{{0, []byte{opDataV2<<3 | 1, 0, 0, 1, 0xaa, 0xbb}}}, dissect.NotMine, ""},
		{"starts with control", 17, []step{{0, ctl(opControlV1, sidC, 0, nil, nil, 1, "x")}}, dissect.NotMine, ""},
		{"bad opcode", 17, []step{{0, []byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}, dissect.NotMine, ""},
		{"short", 17, []step{{0, []byte{0x38, 1, 2}}}, dissect.NotMine, ""},
		{"tcp length zero", 6, []step{{0, []byte{0, 0, 0x38}}}, dissect.NotMine, ""},
		{"tls not openvpn", 6, []step{{0, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")}}, dissect.NotMine, ""},
		{"different session no echo", 17, []step{{0, cReset}, {1, ctl(opHardResetServerV2, sidS, 0, []uint32{0}, []byte("ABCDEFGH"), 0, "")}}, dissect.Continue, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := dissecttest.Run(&Dissector{}, tc.l4, tc.steps)
			if st != tc.want {
				t.Fatalf("status = %v, want %v", st, tc.want)
			}
			if tc.why != "" && (m.Proto != dissect.OpenVPN || m.Why != tc.why) {
				t.Fatalf("meta = (%v, %q), want (OpenVPN, %q)", m.Proto, m.Why, tc.why)
			}
		})
	}
}

func TestRejectNoAllocs(t *testing.T) {
	var d Dissector
	var m dissect.Meta
	dissecttest.NoAllocsReject(t, &d, dissect.Packet{L4: 6, Payload: []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")})
	cReset := ctl(opHardResetClientV2, sidC, 0, nil, nil, 0, "")
	sReset := ctl(opHardResetServerV2, sidS, 0, []uint32{0}, sidC, 0, "")
	dissecttest.NoAllocs(t, "accept path", func() {
		d.Reset()
		d.Feed(&dissect.Packet{L4: 17, Payload: cReset}, &m)
		d.Feed(&dissect.Packet{Dir: 1, L4: 17, Payload: sReset}, &m)
	})
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 0, nil, 100000, 0.001)
}

func FuzzFeed(f *testing.F) {
	f.Add(uint8(17), ctl(opHardResetClientV2, sidC, 0, nil, nil, 0, ""), ctl(opHardResetServerV2, sidS, 0, []uint32{0}, sidC, 0, ""))
	f.Add(uint8(6), tcp(ctl(opHardResetClientV2, sidC, 20, nil, nil, 0, "")), tcp(ctl(opHardResetServerV2, sidS, 20, []uint32{0}, sidC, 0, "")))
	f.Add(uint8(6), []byte{0, 5, 0x38}, []byte{0xff})
	f.Fuzz(func(t *testing.T, l4 uint8, a, b []byte) {
		var d Dissector
		var m dissect.Meta
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		d.Feed(&dissect.Packet{Dir: 1, L4: l4, Payload: b}, &m)
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		ParseHeader(a)
	})
}

// Last run (2 vCPU): 55.3 ns/op 0 B/op 0 allocs/op
func BenchmarkFeed(b *testing.B) {
	c := ctl(opHardResetClientV2, sidC, 20, nil, nil, 0, "")
	s := ctl(opHardResetServerV2, sidS, 20, []uint32{0}, sidC, 0, "")
	var d Dissector
	var m dissect.Meta
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&dissect.Packet{L4: 17, Payload: c}, &m)
		d.Feed(&dissect.Packet{Dir: 1, L4: 17, Payload: s}, &m)
	}
}

func ExampleParseHeader() {
	h, ok := ParseHeader([]byte{0x38, 0x50, 0x7a, 0x28, 0xa7, 0x82, 0x75, 0x78, 0x8d, 0, 0, 0, 0, 0})
	fmt.Println(ok, h.Opcode, h.KeyID, fmt.Sprintf("%x", h.Session))
	// Output: true 7 0 507a28a78275788d
}

func TestCorpus(t *testing.T) {
	for _, name := range []string{"openvpn.pcap", "openvpn-tlscrypt.pcap", "openvpn_nohmac_tcp.pcapng", "443-opvn.pcap"} {
		t.Run(name, func(t *testing.T) {
			var want, got int
			for _, f := range dissecttest.Load(t, name).Flows {
				st, m := dissecttest.Feed(&Dissector{}, f)
				ok := (st == dissect.Identified || st == dissect.Done) && m.Proto == dissect.OpenVPN
				if f.NDPI.HasLabel("OpenVPN") {
					want++
					if ok {
						got++
					} else {
						t.Logf("missed %s", f)
					}
				} else if ok {
					t.Errorf("false positive on %s [%s]", f, f.Label())
				}
			}
			t.Logf("%s: identified %d/%d nDPI OpenVPN flows", name, got, want)
			if want == 0 || got*10 < want*9 {
				t.Fatalf("rate %d/%d below 90%%", got, want)
			}
		})
	}
}
