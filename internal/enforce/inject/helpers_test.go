package inject

import (
	"net/netip"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
)

// seg describes an offending packet for the tests.
type seg struct {
	src, dst string // "ip:port" / "[ip]:port"
	proto    uint8
	seq, ack uint32
	flags    uint8
	payload  []byte
	ipid     uint16 // IPv4 identification of the offending packet (not Weir's)
}

// build returns the raw IP packet for s, checksums filled in.
func (s seg) build(t testing.TB) []byte {
	t.Helper()
	src, dst := netip.MustParseAddrPort(s.src), netip.MustParseAddrPort(s.dst)
	fam := uint8(4)
	if src.Addr().Is6() {
		fam = 6
	}
	hl := ipHeaderLen(fam)
	l4 := udpLen
	if s.proto == protoTCP {
		l4 = tcpLen
	}
	pkt := make([]byte, hl+l4+len(s.payload))
	copy(pkt[hl+l4:], s.payload)
	sa, da := src.Addr().As16(), dst.Addr().As16()
	if fam == 4 {
		a, b := src.Addr().As4(), dst.Addr().As4()
		sa, da = [16]byte{}, [16]byte{}
		copy(sa[:], a[:])
		copy(da[:], b[:])
	}
	putIP(pkt, fam, &sa, &da, s.proto)
	if fam == 4 { // not Weir's ID: the tests must tell the two apart
		be.PutUint16(pkt[4:], s.ipid)
		be.PutUint16(pkt[6:], 0)
		be.PutUint16(pkt[10:], 0)
		be.PutUint16(pkt[10:], fold(sum(0, pkt[:ipv4Len])))
	}
	if s.proto == protoTCP {
		putTCP(pkt, fam, hl, src.Port(), dst.Port(), s.seq, s.ack, s.flags, 502)
	} else {
		putUDP(pkt, fam, hl, src.Port(), dst.Port())
	}
	return pkt
}

// decodeRaw decodes an IP packet with internal/decode.
func decodeRaw(t testing.TB, pkt []byte) *decode.Parsed {
	t.Helper()
	d, err := decode.New(decode.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p decode.Parsed
	if r := d.Decode(capture.LinkRaw, pkt, len(pkt), 0, &p); r != decode.OK {
		t.Fatalf("decode: %v (%v) of % x", r, d.LastReason(), pkt)
	}
	return &p
}

func addrPort(p *decode.Parsed, src bool) netip.AddrPort {
	a, port := p.Dst, p.DstPort
	if src {
		a, port = p.Src, p.SrcPort
	}
	if p.Family == 4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(a), port)
}

// checkInjected verifies what every injected packet shares: TTL 64, IPv4
// ID 0x5745 with DF, and correct IP and L4 checksums (recomputed here over
// the whole packet: a correct checksum sums to zero).
func checkInjected(t *testing.T, pkt []byte) *decode.Parsed {
	t.Helper()
	p := decodeRaw(t, pkt)
	if p.TTL != TTL {
		t.Errorf("TTL %d, want %d", p.TTL, TTL)
	}
	hl := ipHeaderLen(p.Family)
	if p.Family == 4 {
		if p.IPID != 0x5745 {
			t.Errorf("IPv4 ID %#x, want 0x5745", p.IPID)
		}
		if be.Uint16(pkt[6:]) != 0x4000 {
			t.Errorf("flags/offset %#x, want DF", be.Uint16(pkt[6:]))
		}
		if fold(sum(0, pkt[:hl])) != 0 {
			t.Errorf("bad IPv4 header checksum")
		}
		if int(be.Uint16(pkt[2:])) != len(pkt) {
			t.Errorf("IPv4 total length %d, packet %d", be.Uint16(pkt[2:]), len(pkt))
		}
	} else if int(be.Uint16(pkt[4:]))+ipv6Len != len(pkt) {
		t.Errorf("IPv6 payload length %d, packet %d", be.Uint16(pkt[4:]), len(pkt))
	}
	var s uint64
	switch {
	case p.Proto == protoICMP:
		s = sum(0, pkt[hl:])
	default:
		s = sum(pseudo(pkt, p.Family, hl, p.Proto), pkt[hl:])
	}
	if fold(s) != 0 {
		t.Errorf("bad %d checksum", p.Proto)
	}
	return p
}
