package inject

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

// FuzzBuilders feeds arbitrary IP packets, decoded by internal/decode,
// into every builder: none may panic, and whatever they build must decode
// again with correct checksums.
func FuzzBuilders(f *testing.F) {
	for _, s := range []seg{
		{src: "192.0.2.1:50000", dst: "198.51.100.7:443", proto: protoTCP, seq: 1, ack: 2, flags: flagACK | flagPSH, payload: clientHello},
		{src: "[2001:db8::1]:50000", dst: "[2001:db8::2]:80", proto: protoTCP, seq: 1, ack: 2, flags: flagACK | flagPSH, payload: httpGet},
		{src: "192.0.2.1:40000", dst: "192.0.2.53:53", proto: protoUDP, payload: query(f, "blocked.test.", dns.TypeA, true)},
		{src: "[2001:db8::1]:40000", dst: "[2001:db8::53]:53", proto: protoTCP, flags: flagACK, payload: tcpDNS(query(f, "x.", dns.TypeAAAA, false))},
		{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoTCP, flags: flagSYN},
	} {
		f.Add(s.build(f), uint8(0))
	}
	d, err := decode.New(decode.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	sink := DNSAnswer{A: netip.MustParseAddr("192.0.2.99"), AAAA: netip.MustParseAddr("2001:db8::99")}
	f.Fuzz(func(t *testing.T, pkt []byte, opt uint8) {
		var p decode.Parsed
		if d.Decode(capture.LinkRaw, pkt, len(pkt), 0, &p) != decode.OK {
			return
		}
		var outs [][]byte
		c, s := TCPReset(pkt, &p, "rule", "notice")
		outs = append(outs, c, s)
		hc, hs := HTTPBlock(pkt, &p, "rule", "notice", "host")
		outs = append(append(outs, hc...), hs)
		answer := DNSAnswer{}
		if opt&1 != 0 {
			answer = sink
		}
		if b, err := DNSBlock(pkt, &p, "rule", "notice", marker.EDEBlocked, answer); err == nil {
			outs = append(outs, b)
		} else if b != nil {
			t.Fatal("DNSBlock returned a packet and an error")
		}
		from := netip.Addr{}
		if opt&2 != 0 {
			from = netip.MustParseAddr("192.0.2.254")
		}
		outs = append(outs, ICMPProhibited(pkt, &p, from))
		for _, o := range outs {
			if o != nil {
				checkInjected(t, o)
			}
		}
	})
}
