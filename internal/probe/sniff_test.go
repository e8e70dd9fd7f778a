package probe

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/marker"
)

// ipv4TCP builds an IPv4+TCP packet (checksums left zero: the sniffer
// does not verify them, the kernel already did).
func ipv4TCP(src, dst string, sport, dport uint16, ttl uint8, id uint16, flags byte, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0], b[8], b[9] = 0x45, ttl, 6
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], id)
	copy(b[12:16], net.ParseIP(src).To4())
	copy(b[16:20], net.ParseIP(dst).To4())
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	b[32], b[33] = 5<<4, flags
	copy(b[40:], payload)
	return b
}

func TestSniffTable_evidence(t *testing.T) {
	const rst, synack = 0x04 | 0x10, 0x12
	server := netip.MustParseAddrPort("10.200.2.2:443")
	key := sniffKey{remote: server, local: 40000, proto: 6}
	tests := []struct {
		name      string
		pkts      [][]byte
		weir      bool
		injected  bool
		rule, why string
	}{
		{"weir payload", [][]byte{
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 63, 0x1111, synack, nil),
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 64, marker.IPID, rst, marker.RSTPayload("sni-rule", "https://n.test/")),
		}, true, true, "sni-rule", "Weir marker"},
		{"weir ip id only", [][]byte{
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 64, marker.IPID, rst, nil),
		}, true, true, "", "ip.id 0x5745"},
		{"unmarked ttl differs", [][]byte{
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 63, 0x1111, synack, nil),
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 64, 0, rst, nil),
		}, false, true, "", "differs"},
		{"server's own reset", [][]byte{
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 63, 0x1111, synack, nil),
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40000, 63, 0, rst, nil),
		}, false, false, "", "matches"},
		{"other connection ignored", [][]byte{
			ipv4TCP("10.200.2.2", "10.200.1.2", 443, 40001, 64, marker.IPID, rst, nil),
		}, false, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st sniffTable
			for _, p := range tc.pkts {
				st.parseL3(p)
			}
			ev := st.evidence(key, 0)
			if tc.why == "" {
				if ev != nil {
					t.Fatalf("evidence %+v, want none", ev)
				}
				return
			}
			if ev == nil {
				t.Fatal("no evidence")
			}
			if ev.Weir != tc.weir || ev.Injected != tc.injected || ev.WeirRule != tc.rule {
				t.Errorf("got weir=%v injected=%v rule=%q, want %v %v %q (%+v)", ev.Weir, ev.Injected, ev.WeirRule, tc.weir, tc.injected, tc.rule, ev)
			}
			if !strings.Contains(ev.Why, tc.why) {
				t.Errorf("why %q lacks %q", ev.Why, tc.why)
			}
		})
	}
}

func TestSniffTable_icmp(t *testing.T) {
	// ICMPv4 port unreachable from the router quoting our UDP packet
	// 10.200.1.2:50000 -> 10.200.2.2:443.
	quoted := make([]byte, 28)
	quoted[0], quoted[9] = 0x45, 17
	copy(quoted[12:16], net.ParseIP("10.200.1.2").To4())
	copy(quoted[16:20], net.ParseIP("10.200.2.2").To4())
	binary.BigEndian.PutUint16(quoted[20:], 50000)
	binary.BigEndian.PutUint16(quoted[22:], 443)
	icmp := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quoted...)
	pkt := make([]byte, 20+len(icmp))
	pkt[0], pkt[8], pkt[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	binary.BigEndian.PutUint16(pkt[4:], marker.IPID)
	copy(pkt[12:16], net.ParseIP("10.200.1.1").To4())
	copy(pkt[16:20], net.ParseIP("10.200.1.2").To4())
	copy(pkt[20:], icmp)
	var st sniffTable
	st.parseL3(pkt)
	ev := st.evidence(sniffKey{remote: netip.MustParseAddrPort("10.200.2.2:443"), local: 50000, proto: 17}, 0)
	if ev == nil || ev.Kind != "icmp 3/3" || !ev.Weir {
		t.Fatalf("evidence %+v", ev)
	}
}

// Weir's QUIC block: the datagram is dropped and answered with ICMP 3/13
// (administratively prohibited) from the router, IP ID marker.IPID, quoting
// the probe's own datagram. Another box's 3/13 (any other ID) is not Weir's,
// and an error quoting another socket's datagram is not evidence for ours.
func TestSniffTable_weirQUICBlock(t *testing.T) {
	server := netip.MustParseAddrPort("10.200.2.2:443")
	tests := []struct {
		name  string
		id    uint16
		sport uint16
		weir  bool
		found bool
	}{
		{"weir", marker.IPID, 50000, true, true},
		{"other router", 0x1234, 50000, false, true},
		{"another socket's datagram", marker.IPID, 50001, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st sniffTable
			st.parseL3(icmpv4("10.200.1.1", "10.200.1.2", 3, 13, tc.id, udpv4("10.200.1.2", "10.200.2.2", tc.sport, 443, 1200)))
			ev := st.evidence(sniffKey{remote: server, local: 50000, proto: 17}, 0)
			if !tc.found {
				if ev != nil {
					t.Fatalf("evidence %+v, want none", ev)
				}
				return
			}
			if ev == nil || ev.Kind != "icmp 3/13" || ev.Weir != tc.weir {
				t.Fatalf("evidence %+v, want icmp 3/13 weir=%v", ev, tc.weir)
			}
			if tc.weir && (ev.IPID == nil || *ev.IPID != marker.IPID || !strings.Contains(ev.Why, "ip.id 0x5745")) {
				t.Errorf("marker not in the evidence: %+v", ev)
			}
		})
	}
}

// udpv4 builds an IPv4+UDP datagram of size bytes (a QUIC Initial is
// padded to 1200).
func udpv4(src, dst string, sport, dport uint16, size int) []byte {
	b := make([]byte, size)
	b[0], b[8], b[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(b[2:], uint16(size))
	copy(b[12:16], net.ParseIP(src).To4())
	copy(b[16:20], net.ParseIP(dst).To4())
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(size-20))
	b[28] = 0xc0 // long header
	return b
}

// icmpv4 builds an ICMPv4 error quoting quoted, cut to 576 bytes in all as
// RFC 1812 4.3.2.3 (and Weir) do.
func icmpv4(src, dst string, typ, code byte, id uint16, quoted []byte) []byte {
	if len(quoted) > 576-28 {
		quoted = quoted[:576-28]
	}
	b := make([]byte, 28+len(quoted))
	b[0], b[8], b[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], id)
	copy(b[12:16], net.ParseIP(src).To4())
	copy(b[16:20], net.ParseIP(dst).To4())
	b[20], b[21] = typ, code
	copy(b[28:], quoted)
	return b
}

// The DSCP of incoming data packets is counted per connection, for IPv4
// (TOS >> 2) and IPv6 (traffic class >> 2); handshake packets are not data.
func TestSniffTable_dscp(t *testing.T) {
	const ack, synack = 0x10, 0x12
	withTOS := func(p []byte, tos byte) []byte { p[1] = tos; return p }
	v6 := func(tc byte, payload int) []byte {
		b := make([]byte, 60+payload)
		b[0], b[1] = 0x60|tc>>4, tc<<4
		binary.BigEndian.PutUint16(b[4:], uint16(20+payload))
		b[6], b[7] = 6, 64
		copy(b[8:24], net.ParseIP("fd00:200:2::2"))
		copy(b[24:40], net.ParseIP("fd00:200:1::2"))
		binary.BigEndian.PutUint16(b[40:], 443)
		binary.BigEndian.PutUint16(b[42:], 40000)
		b[52], b[53] = 5<<4, ack
		return b
	}
	le := byte(marker.ThrottleDSCP << 2)
	data := []byte("0123456789")
	tests := []struct {
		name string
		key  string
		pkts [][]byte
		want *DSCPEvidence
	}{
		{"weir throttled v4", "10.200.2.3:80", [][]byte{
			ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, synack, nil),
			ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, data), // before Weir's verdict
			withTOS(ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, data), le),
			withTOS(ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, data), le|0x01), // ECN bits do not matter
			withTOS(ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, nil), le),       // pure ACK: not data
		}, &DSCPEvidence{Packets: 3, LowerEffort: 2, Values: []int{0, 1}, Weir: true}},
		{"unmarked v4", "10.200.2.3:80", [][]byte{
			ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, data),
			withTOS(ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, ack, data), 0x28<<2), // AF11
		}, &DSCPEvidence{Packets: 2, Values: []int{0, 0x28}}},
		{"weir throttled v6", "[fd00:200:2::2]:443", [][]byte{v6(le, 10), v6(le, 10), v6(0, 0)},
			&DSCPEvidence{Packets: 2, LowerEffort: 2, Values: []int{1}, Weir: true}},
		{"no data", "10.200.2.3:80", [][]byte{ipv4TCP("10.200.2.3", "10.200.1.2", 80, 40000, 63, 0, synack, nil)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st sniffTable
			for _, p := range tc.pkts {
				st.parseL3(p)
			}
			got := st.dscpEvidence(sniffKey{remote: netip.MustParseAddrPort(tc.key), local: 40000, proto: 6}, 0)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("(-got, +want)\n-%+v\n+%+v", got, tc.want)
			}
		})
	}
}

// With root, the real AF_PACKET sniffer sees the kernel's RST for a
// connect to a closed loopback port.
func TestSniffer_loopbackRST(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("AF_PACKET sniffing needs root on linux")
	}
	s, err := startSniffer()
	if err != nil {
		t.Skipf("no AF_PACKET: %v", err)
	}
	defer s.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close() // now closed: the SYN gets a RST
	st := &steps{timeout: time.Second, sniff: s}
	r, conn, _ := st.connect(t.Context(), ap)
	if conn != nil {
		conn.Close()
		t.Skip("port reused")
	}
	if r.Failure != FailRefused {
		t.Fatalf("failure %q, want %q", r.Failure, FailRefused)
	}
	if r.Reset == nil || r.Reset.Kind != "rst" || r.Reset.TTL != 64 {
		t.Fatalf("reset evidence %+v", r.Reset)
	}
}

// FuzzSniffParse: arbitrary packets never panic the sniffer's decoder.
func FuzzSniffParse(f *testing.F) {
	f.Add(ipv4TCP("10.0.0.1", "10.0.0.2", 443, 40000, 64, marker.IPID, 0x14, marker.RSTPayload("r", "n")))
	f.Add(ipv4TCP("10.0.0.1", "10.0.0.2", 443, 40000, 63, 1, 0x12, nil))
	v6 := make([]byte, 60)
	v6[0], v6[5], v6[6], v6[7], v6[52], v6[53] = 0x60, 20, 6, 64, 5<<4, 0x14
	f.Add(v6)
	f.Add([]byte{0x45, 0, 0, 48, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1, 1, 2, 3, 4})
	f.Add(icmpv4("10.0.0.9", "10.0.0.2", 3, 13, marker.IPID, udpv4("10.0.0.2", "10.0.0.1", 50000, 443, 1200)))
	f.Add(ipv4TCP("10.0.0.1", "10.0.0.2", 80, 40000, 63, 0, 0x10, []byte("data")))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st sniffTable
		st.parseL3(b)
		for k := range st.entries {
			_ = st.evidence(k, 0)
			_ = st.dscpEvidence(k, 0)
		}
	})
}
