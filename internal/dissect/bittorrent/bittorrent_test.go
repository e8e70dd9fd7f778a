package bittorrent

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

func handshake() []byte {
	b := []byte(handshakePrefix)
	b = append(b, 0, 0, 0, 0, 0, 0x18, 0, 5)
	for i := 0; i < 20; i++ {
		b = append(b, byte(0xa0+i))
	}
	return append(b, "-qB4650-abcdefghijkl"...)
}

func utp(typ uint8, ext uint8, conn, seq, ack uint16, extData []byte, payload string) []byte {
	b := make([]byte, 20, 64)
	b[0] = typ<<4 | 1
	b[1] = ext
	binary.BigEndian.PutUint16(b[2:], conn)
	binary.BigEndian.PutUint32(b[4:], 0xed639296)
	binary.BigEndian.PutUint32(b[12:], 0x100000)
	binary.BigEndian.PutUint16(b[16:], seq)
	binary.BigEndian.PutUint16(b[18:], ack)
	b = append(b, extData...)
	return append(b, payload...)
}

const (
	dhtPing     = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
	dhtResponse = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"
	dhtError    = "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee"
)

type step = dissecttest.Step

func TestDissector(t *testing.T) {
	tracker := binary.BigEndian.AppendUint64(nil, trackerMagic)
	tracker = append(tracker, 0, 0, 0, 0, 1, 2, 3, 4)
	tests := []struct {
		name  string
		l4    uint8
		steps []step
		want  dissect.Status
		why   string
	}{
		{"tcp handshake", 6, []step{{0, handshake()}}, dissect.Done, "BitTorrent handshake"},
		{"tcp handshake after MSE", 6, []step{{0, []byte{0x5a, 5, 0xbe}}, {1, []byte{0xfd, 0x11}}, {1, handshake()}}, dissect.Done, "BitTorrent handshake"},
		{"tcp handshake too short", 6, []step{{0, []byte(handshakePrefix)}}, dissect.Continue, ""},
		{"dht ping", 17, []step{{0, []byte(dhtPing)}}, dissect.Done, "BitTorrent DHT message"},
		{"dht response", 17, []step{{1, []byte(dhtResponse)}}, dissect.Done, "BitTorrent DHT message"},
		{"dht error", 17, []step{{1, []byte(dhtError)}}, dissect.Done, "BitTorrent DHT message"},
		{"dht trailing garbage", 17, []step{{0, []byte(dhtPing + "x")}}, dissect.Continue, ""},
		{"dht without t", 17, []step{{0, []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe")}}, dissect.Continue, ""},
		{"dht leading zero int", 17, []step{{0, []byte("d1:ai03e1:q4:ping1:t2:aa1:y1:qe")}}, dissect.Continue, ""},
		{"utp handshake", 17, []step{
			{0, utp(utpSyn, 0, 0x4567, 0x23c6, 0, nil, "")},
			{1, utp(utpState, 0, 0x4567, 0x4567, 0x23c6, nil, "")},
		}, dissect.Done, "uTP SYN acknowledged"},
		{"utp with selective ack", 17, []step{
			{0, utp(utpSyn, 2, 0x4567, 0x23c6, 0, []byte{0, 8, 0, 0, 0, 0, 0, 0, 0, 0}, "")},
			{1, utp(utpState, 1, 0x4567, 0x4567, 0x23c6, []byte{0, 4, 1, 2, 3, 4}, "")},
		}, dissect.Done, "uTP SYN acknowledged"},
		{"utp mid-stream", 17, []step{
			{0, utp(0, 0, 0x4568, 1, 2, nil, "data")}, {1, utp(utpState, 0, 0x4567, 2, 1, nil, "")},
			{0, utp(0, 0, 0x4568, 2, 2, nil, "more")}, {1, utp(utpState, 0, 0x4567, 2, 2, nil, "")},
		}, dissect.Done, "uTP connection ids in both directions"},
		{"utp wrong ack", 17, []step{
			{0, utp(utpSyn, 0, 0x4567, 0x23c6, 0, nil, "")},
			{1, utp(utpState, 0, 0x4567, 0x4567, 0x1111, nil, "")},
		}, dissect.Continue, ""},
		{"utp bad extension chain", 17, []step{{0, utp(utpSyn, 1, 1, 2, 0, []byte{0, 40}, "")}}, dissect.Continue, ""},
		{"udp tracker connect", 17, []step{{0, tracker}}, dissect.Done, "BitTorrent UDP tracker connect"},
		{"lsd", 17, []step{{0, []byte("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n\r\n")}}, dissect.Done, "BitTorrent local service discovery"},
		{"icmp", 1, []step{{0, handshake()}}, dissect.NotMine, ""},
		{"junk udp", 17, []step{{0, []byte("hello")}, {0, []byte("hello")}, {0, []byte("hello")}, {0, []byte("hello")}}, dissect.NotMine, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := dissecttest.Run(&Dissector{}, tc.l4, tc.steps)
			if st != tc.want {
				t.Fatalf("status = %v, want %v", st, tc.want)
			}
			if tc.why != "" && (m.Proto != dissect.BitTorrent || m.Why != tc.why) {
				t.Fatalf("meta = (%v, %q), want (BitTorrent, %q)", m.Proto, m.Why, tc.why)
			}
		})
	}
}

func TestRejectNoAllocs(t *testing.T) {
	var d Dissector
	var m dissect.Meta
	udp := dissect.Packet{L4: 17, Payload: []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe")}
	tcp := dissect.Packet{L4: 6, Payload: []byte("GET / HTTP/1.1\r\n\r\n")}
	dissecttest.NoAllocs(t, "feed", func() { d.Reset(); d.Feed(&udp, &m); d.Feed(&tcp, &m) })
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 0, nil, 100000, 0.001)
}

func FuzzParseDHT(f *testing.F) {
	for _, s := range []string{dhtPing, dhtResponse, dhtError, "d1:ti1ee", "lli1eee", "i-0e"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, ok := ParseDHT(b); ok && k != 'q' && k != 'r' && k != 'e' {
			t.Fatalf("kind %q", k)
		}
		skipValue(b, 0, 0)
	})
}

func FuzzFeed(f *testing.F) {
	f.Add(uint8(6), handshake(), []byte{})
	f.Add(uint8(17), utp(utpSyn, 0, 1, 2, 0, nil, ""), utp(utpState, 0, 1, 9, 2, nil, ""))
	f.Add(uint8(17), utp(utpSyn, 2, 1, 2, 0, []byte{0, 8, 0, 0, 0, 0, 0, 0, 0, 0}, ""), []byte(dhtPing))
	f.Fuzz(func(t *testing.T, l4 uint8, a, b []byte) {
		var d Dissector
		var m dissect.Meta
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		d.Feed(&dissect.Packet{Dir: 1, L4: l4, Payload: b}, &m)
		ParseUTP(a)
	})
}

// Last run (2 vCPU): 334.6 ns/op 0 B/op 0 allocs/op
func BenchmarkFeedDHT(b *testing.B) {
	p := dissect.Packet{L4: 17, Payload: []byte(dhtPing)}
	var d Dissector
	var m dissect.Meta
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func ExampleParseDHT() {
	k, ok := ParseDHT([]byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"))
	fmt.Println(string(rune(k)), ok)
	// Output: q true
}

func TestCorpus(t *testing.T) {
	for _, name := range []string{"bittorrent.pcap", "bittorrent_utp.pcap", "bittorrent_tcp_miss.pcapng"} {
		t.Run(name, func(t *testing.T) {
			var want, got int
			for _, f := range dissecttest.Load(t, name).Flows {
				st, m := dissecttest.Feed(&Dissector{}, f)
				ok := (st == dissect.Identified || st == dissect.Done) && m.Proto == dissect.BitTorrent
				if f.NDPI.HasLabel("BitTorrent") {
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
			t.Logf("%s: identified %d/%d nDPI BitTorrent flows", name, got, want)
			if want == 0 || got*10 < want*9 {
				t.Fatalf("rate %d/%d below 90%%", got, want)
			}
		})
	}
}
