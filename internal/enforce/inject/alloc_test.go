package inject

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/marker"
)

// Each builder allocates its output and nothing else; refusals allocate
// nothing.
func TestAllocs(t *testing.T) {
	tcp := seg{src: "192.0.2.1:50000", dst: "198.51.100.7:443", proto: protoTCP, seq: 1, ack: 2, flags: flagACK | flagPSH, payload: clientHello}
	tcpPkt := tcp.build(t)
	tcpP := decodeRaw(t, tcpPkt)
	udp := seg{src: "[2001:db8::1]:40000", dst: "[2001:db8::53]:53", proto: protoUDP, payload: query(t, "blocked.test.", dns.TypeAAAA, true)}
	udpPkt := udp.build(t)
	udpP := decodeRaw(t, udpPkt)
	bad := seg{src: "192.0.2.1:40000", dst: "192.0.2.53:53", proto: protoUDP, payload: []byte("not dns")}
	badPkt := bad.build(t)
	badP := decodeRaw(t, badPkt)
	sink := DNSAnswer{AAAA: netip.MustParseAddr("2001:db8::99")}
	for _, tc := range []struct {
		name string
		want float64
		f    func()
	}{
		{"TCPReset", 1, func() { TCPReset(tcpPkt, tcpP, testRule, testNotice) }},
		{"TCPReset refused", 0, func() { TCPReset(udpPkt, udpP, testRule, testNotice) }},
		{"DNSBlock", 1, func() { DNSBlock(udpPkt, udpP, testRule, testNotice, marker.EDEBlocked, sink) }},
		{"DNSBlock malformed", 0, func() { DNSBlock(badPkt, badP, testRule, testNotice, marker.EDEBlocked, sink) }},
		{"ICMPProhibited", 1, func() { ICMPProhibited(tcpPkt, tcpP, netip.Addr{}) }},
		{"ICMPProhibited refused", 0, func() { ICMPProhibited(udpPkt, tcpP, netip.Addr{}) }},
		// marker.HTTP451 builds the page (its own allocations), then one
		// buffer and one slice of segments.
		{"HTTPBlock", 2 + allocsHTTP451(), func() { HTTPBlock(tcpPkt, tcpP, testRule, testNotice, "blocked.test") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n != tc.want {
				t.Errorf("%v allocations, want %v", n, tc.want)
			}
		})
	}
}

func allocsHTTP451() float64 {
	return testing.AllocsPerRun(100, func() { marker.HTTP451(testRule, testNotice, "blocked.test") })
}
