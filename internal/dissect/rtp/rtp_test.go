package rtp

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

func pkt(pt uint8, seq uint16, ts, ssrc uint32, payload int) []byte {
	b := []byte{0x80, pt, 0, 0}
	binary.BigEndian.PutUint16(b[2:], seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	b = binary.BigEndian.AppendUint32(b, ssrc)
	for i := 0; i < payload; i++ {
		b = append(b, 0xd5)
	}
	return b
}

func rtcp(types ...uint8) []byte {
	var b []byte
	for _, t := range types {
		// header + SSRC + one word of body
		b = append(b, 0x80, t, 0, 2)
		b = append(b, 0x37, 0x96, 0xcb, 0x71, 0, 0, 0, 1)
	}
	return b
}

func framed(p []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }

type step = dissecttest.Step

func TestDissector(t *testing.T) {
	const ssrc = 0x3796cb71
	stun := []byte("\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl")
	tests := []struct {
		name  string
		l4    uint8
		steps []step
		want  dissect.Status
		proto dissect.Proto
	}{
		{"three in a row", 17, []step{{0, pkt(8, 100, 160, ssrc, 160)}, {0, pkt(8, 101, 320, ssrc, 160)}, {0, pkt(8, 102, 480, ssrc, 160)}}, dissect.Done, dissect.RTP},
		{"marker bit and loss", 17, []step{{0, pkt(0x80|96, 7, 0, ssrc, 20)}, {0, pkt(96, 9, 3000, ssrc, 20)}, {0, pkt(96, 10, 3000, ssrc, 20)}}, dissect.Done, dissect.RTP},
		{"stun in between", 17, []step{{0, stun}, {0, pkt(0, 1, 0, ssrc, 20)}, {1, stun}, {0, pkt(0, 2, 160, ssrc, 20)}, {0, pkt(0, 3, 320, ssrc, 20)}}, dissect.Done, dissect.RTP},
		{"ssrc changes", 17, []step{{0, pkt(8, 100, 160, ssrc, 10)}, {0, pkt(8, 101, 320, ssrc+1, 10)}, {0, pkt(8, 102, 480, ssrc, 10)}}, dissect.Continue, dissect.Unknown},
		{"sequence jumps", 17, []step{{0, pkt(8, 100, 160, ssrc, 10)}, {0, pkt(8, 500, 320, ssrc, 10)}, {0, pkt(8, 501, 480, ssrc, 10)}}, dissect.Continue, dissect.Unknown},
		{"tcp rfc4571", 6, []step{{0, framed(pkt(8, 1, 0, ssrc, 50))}, {0, framed(pkt(8, 2, 160, ssrc, 50))}, {0, framed(pkt(8, 3, 320, ssrc, 50))}}, dissect.Done, dissect.RTP},
		{"rtcp sr+sdes", 17, []step{{0, rtcp(200, 202)}}, dissect.Done, dissect.RTCP},
		{"rtcp rr", 17, []step{{0, rtcp(201)}}, dissect.Done, dissect.RTCP},
		{"rtcp trailing bytes", 17, []step{{0, append(rtcp(201), 1, 2)}}, dissect.Continue, dissect.Unknown},
		{"not version 2", 17, []step{{0, []byte("hello world!!")}, {0, []byte("hello world!!")}, {0, []byte("hello world!!")}}, dissect.NotMine, dissect.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := dissecttest.Run(&Dissector{}, tc.l4, tc.steps)
			if st != tc.want || m.Proto != tc.proto {
				t.Fatalf("got (%v, %v), want (%v, %v)", st, m.Proto, tc.want, tc.proto)
			}
		})
	}
}

func TestRejectNoAllocs(t *testing.T) {
	var d Dissector
	var m dissect.Meta
	p := dissect.Packet{L4: 17, Payload: []byte("GET / HTTP/1.1\r\n\r\n")}
	q := dissect.Packet{L4: 17, Payload: pkt(8, 1, 2, 3, 100)}
	dissecttest.NoAllocs(t, "feed", func() { d.Reset(); d.Feed(&p, &m); d.Feed(&q, &m) })
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 17, nil, 100000, 0.001)
}

func FuzzFeed(f *testing.F) {
	f.Add(uint8(17), pkt(8, 1, 0, 7, 20), pkt(8, 2, 160, 7, 20))
	f.Add(uint8(17), rtcp(200, 202, 203), []byte{0xb0, 0, 0, 0})
	f.Add(uint8(6), framed(pkt(8, 1, 0, 7, 20)), []byte{0x90, 0x78, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9})
	f.Fuzz(func(t *testing.T, l4 uint8, a, b []byte) {
		var d Dissector
		var m dissect.Meta
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		d.Feed(&dissect.Packet{L4: l4, Payload: b}, &m)
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		ParseRTP(a)
		ParseRTCP(b)
	})
}

// Last run (2 vCPU): 22.3 ns/op 0 B/op 0 allocs/op
func BenchmarkFeed(b *testing.B) {
	p := dissect.Packet{L4: 17, Payload: pkt(8, 1, 2, 3, 160)}
	var d Dissector
	var m dissect.Meta
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func ExampleParseRTP() {
	h, ok := ParseRTP([]byte{0x80, 0x08, 0x6f, 0xae, 0, 0, 0x04, 0xd8, 0x37, 0x96, 0xcb, 0x71, 0xd5, 0xd5})
	fmt.Println(ok, h.PT, h.Seq, h.TS, fmt.Sprintf("%#x", h.SSRC), h.PayloadOffset)
	// Output: true 8 28590 1240 0x3796cb71 12
}

func TestCorpus(t *testing.T) {
	for _, name := range []string{"rtp.pcapng", "sip.pcap", "stun_classic.pcap"} {
		t.Run(name, func(t *testing.T) {
			var want, got int
			for _, f := range dissecttest.Load(t, name).Flows {
				st, m := dissecttest.Feed(&Dissector{}, f)
				ok := (st == dissect.Identified || st == dissect.Done) && (m.Proto == dissect.RTP || m.Proto == dissect.RTCP)
				lab := f.Label()
				if f.NDPI.HasLabel("RTP") || f.NDPI.HasLabel("RTCP") {
					want++
					if ok {
						got++
					} else {
						t.Logf("missed %s [%s]", f, lab)
					}
				} else if ok {
					t.Logf("also RTP/RTCP: %s [%s] %v", f, lab, m.Proto)
				}
			}
			t.Logf("%s: identified %d/%d nDPI RTP flows", name, got, want)
			if want == 0 || got*10 < want*9 {
				t.Fatalf("rate %d/%d below 90%%", got, want)
			}
		})
	}
}
