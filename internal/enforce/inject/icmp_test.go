package inject

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
)

func TestICMPProhibited(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 1400)
	for _, tc := range []struct {
		name    string
		in      seg
		from    netip.Addr
		wantSrc string // expected source of the error
		quote   int    // bytes of the original quoted
	}{
		{"v4 small", seg{src: "192.0.2.1:5000", dst: "198.51.100.7:443", proto: protoUDP, payload: []byte("quic")}, netip.Addr{}, "198.51.100.7", 20 + 8 + 4},
		{"v4 big", seg{src: "192.0.2.1:5000", dst: "198.51.100.7:443", proto: protoTCP, flags: flagACK, payload: big}, netip.Addr{}, "198.51.100.7", MaxICMPv4 - 28},
		{"v4 router", seg{src: "192.0.2.1:5000", dst: "198.51.100.7:443", proto: protoUDP}, netip.MustParseAddr("192.0.2.254"), "192.0.2.254", 28},
		{"v4 router mapped", seg{src: "192.0.2.1:5000", dst: "198.51.100.7:443", proto: protoUDP}, netip.MustParseAddr("::ffff:192.0.2.254"), "192.0.2.254", 28},
		{"v4 wrong-family router", seg{src: "192.0.2.1:5000", dst: "198.51.100.7:443", proto: protoUDP}, netip.MustParseAddr("2001:db8::fe"), "198.51.100.7", 28},
		{"v6 small", seg{src: "[2001:db8::1]:5000", dst: "[2001:db8::2]:443", proto: protoUDP, payload: []byte("quic")}, netip.Addr{}, "2001:db8::2", 40 + 8 + 4},
		{"v6 big", seg{src: "[2001:db8::1]:5000", dst: "[2001:db8::2]:443", proto: protoTCP, flags: flagACK, payload: big}, netip.Addr{}, "2001:db8::2", MaxICMPv6 - 48},
		{"v6 router", seg{src: "[2001:db8::1]:5000", dst: "[2001:db8::2]:443", proto: protoUDP}, netip.MustParseAddr("fe80::1"), "fe80::1", 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := tc.in.build(t)
			p := decodeRaw(t, pkt)
			out := ICMPProhibited(pkt, p, tc.from)
			if out == nil {
				t.Fatal("no ICMP error")
			}
			r := checkInjected(t, out)
			wantType := uint16(3<<8 | 13)
			max := MaxICMPv4
			if p.Family == 6 {
				wantType, max = 1<<8|1, MaxICMPv6
			}
			if r.SrcPort != wantType {
				t.Errorf("type/code %#x, want %#x", r.SrcPort, wantType)
			}
			if got := addrPort(r, true).Addr(); got.String() != tc.wantSrc {
				t.Errorf("source %v, want %v", got, tc.wantSrc)
			}
			if addrPort(r, false).Addr() != addrPort(p, true).Addr() {
				t.Errorf("sent to %v, want the offender %v", addrPort(r, false).Addr(), addrPort(p, true).Addr())
			}
			if len(out) > max {
				t.Errorf("%d bytes, limit %d", len(out), max)
			}
			if len(r.Payload) != tc.quote || !bytes.Equal(r.Payload, pkt[:tc.quote]) {
				t.Errorf("quotes %d bytes, want the first %d of the packet", len(r.Payload), tc.quote)
			}
			// The quoted packet decodes as the original flow (what the
			// client's stack matches the error against).
			d, err := decode.New(decode.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			var q decode.Parsed
			if res := d.Decode(capture.LinkRaw, r.Payload, len(pkt), 0, &q); res != decode.OK ||
				addrPort(&q, true) != addrPort(p, true) || addrPort(&q, false) != addrPort(p, false) {
				t.Errorf("quoted packet decodes as %v %v -> %v", res, addrPort(&q, true), addrPort(&q, false))
			}
		})
	}
}

func TestICMPProhibitedRefuses(t *testing.T) {
	icmpErr := func(typ byte) func([]byte) []byte {
		return func(b []byte) []byte {
			b[9] = protoICMP
			b[20] = typ
			return b
		}
	}
	for _, tc := range []struct {
		name string
		in   seg
		edit func([]byte) []byte
	}{
		{"v4 icmp error", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}, icmpErr(3)},
		{"v4 time exceeded", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}, icmpErr(11)},
		{"v4 multicast dst", seg{src: "192.0.2.1:1", dst: "224.0.0.251:5353", proto: protoUDP}, nil},
		{"v4 broadcast dst", seg{src: "192.0.2.1:1", dst: "255.255.255.255:67", proto: protoUDP}, nil},
		{"v4 unspecified src", seg{src: "0.0.0.0:68", dst: "192.0.2.2:67", proto: protoUDP}, nil},
		{"v4 later fragment", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}, func(b []byte) []byte { b[7] = 8; return b }},
		{"v4 cut", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP, payload: []byte("abcd")}, func(b []byte) []byte { return b[:len(b)-1] }},
		{"v4 other addresses", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}, func(b []byte) []byte { b[15]++; return b }},
		{"v6 icmp error", seg{src: "[2001:db8::1]:1", dst: "[2001:db8::2]:2", proto: protoUDP}, func(b []byte) []byte { b[6] = protoICMPv6; b[40] = 1; return b }},
		{"v6 multicast dst", seg{src: "[2001:db8::1]:1", dst: "[ff02::fb]:5353", proto: protoUDP}, nil},
		{"v6 unspecified src", seg{src: "[::]:1", dst: "[2001:db8::2]:2", proto: protoUDP}, nil},
		{"v6 later fragment", seg{src: "[2001:db8::1]:1", dst: "[2001:db8::2]:2", proto: protoUDP, payload: []byte("12345678")}, func(b []byte) []byte {
			// Turn the UDP header into a fragment header: next 17, offset 8.
			b[6] = 44
			copy(b[40:48], []byte{17, 0, 0, 8, 0, 0, 0, 1})
			return b
		}},
		{"v6 family mismatch", seg{src: "[2001:db8::1]:1", dst: "[2001:db8::2]:2", proto: protoUDP}, func(b []byte) []byte { b[0] = 0x45; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := tc.in.build(t)
			p := decodeRaw(t, pkt)
			if tc.edit != nil {
				pkt = tc.edit(pkt)
			}
			if out := ICMPProhibited(pkt, p, netip.Addr{}); out != nil {
				t.Errorf("answered with % x", out)
			}
		})
	}
	in := seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}
	pkt := in.build(t)
	p := decodeRaw(t, pkt)
	p.Tunnel = decode.TunnelVXLAN
	if ICMPProhibited(pkt, p, netip.Addr{}) != nil || ICMPProhibited(nil, nil, netip.Addr{}) != nil || ICMPProhibited(nil, p, netip.Addr{}) != nil {
		t.Error("answered a tunnelled or missing packet")
	}
}
