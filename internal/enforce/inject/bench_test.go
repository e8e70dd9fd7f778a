package inject

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/marker"
)

// go test -run XXX -bench . (2 vCPU, shared machine):
//
//	BenchmarkTCPReset-2         	  575188	       387.2 ns/op	     224 B/op	       1 allocs/op
//	BenchmarkHTTPBlock-2        	   43792	      9168 ns/op	    3824 B/op	      14 allocs/op
//	BenchmarkDNSBlock-2         	  729090	       349.0 ns/op	     144 B/op	       1 allocs/op
//	BenchmarkICMPProhibited-2   	  155995	      2316 ns/op	    1280 B/op	       1 allocs/op
//	BenchmarkLimiterAllow-2     	 3777938	        56.66 ns/op	       0 B/op	       0 allocs/op
//
// HTTPBlock's extra allocations are marker.HTTP451 building the page.

func BenchmarkTCPReset(b *testing.B) {
	in := seg{src: "192.0.2.1:50000", dst: "198.51.100.7:443", proto: protoTCP, seq: 1, ack: 2, flags: flagACK | flagPSH, payload: clientHello}
	pkt := in.build(b)
	p := decodeRaw(b, pkt)
	b.ReportAllocs()
	for b.Loop() {
		TCPReset(pkt, p, testRule, testNotice)
	}
}

func BenchmarkHTTPBlock(b *testing.B) {
	in := seg{src: "192.0.2.1:50000", dst: "198.51.100.7:80", proto: protoTCP, seq: 1, ack: 2, flags: flagACK | flagPSH, payload: httpGet}
	pkt := in.build(b)
	p := decodeRaw(b, pkt)
	b.ReportAllocs()
	for b.Loop() {
		HTTPBlock(pkt, p, testRule, testNotice, "blocked.test")
	}
}

func BenchmarkDNSBlock(b *testing.B) {
	in := seg{src: "192.0.2.1:40000", dst: "192.0.2.53:53", proto: protoUDP, payload: query(b, "www.blocked.test.", dns.TypeA, true)}
	pkt := in.build(b)
	p := decodeRaw(b, pkt)
	b.ReportAllocs()
	for b.Loop() {
		DNSBlock(pkt, p, testRule, testNotice, marker.EDEBlocked, DNSAnswer{})
	}
}

func BenchmarkICMPProhibited(b *testing.B) {
	in := seg{src: "[2001:db8::1]:5000", dst: "[2001:db8::2]:443", proto: protoUDP, payload: make([]byte, 1200)}
	pkt := in.build(b)
	p := decodeRaw(b, pkt)
	b.ReportAllocs()
	for b.Loop() {
		ICMPProhibited(pkt, p, netip.Addr{})
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(DefaultICMPRate, DefaultICMPBurst, DefaultICMPMaxKeys)
	now := time.Unix(1700000000, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now)
	}
}
