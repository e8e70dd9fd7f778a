package flow

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/weirnet/weir/internal/decode"
)

// Key identifies a bidirectional flow. Lo is the numerically lower
// (address, port) endpoint so both directions map to the same key.
type Key struct {
	Lo, Hi         [16]byte
	LoPort, HiPort uint16
	VLAN           uint16
	Proto          uint8
	Family         uint8 // 4 or 6
}

// hasPorts reports whether the protocol's flows are split by port. ICMP echo
// request and reply carry different types, so ICMP and anything without ports
// keys on addresses alone (as nDPI does).
func hasPorts(proto uint8) bool {
	switch proto {
	case 6, 17, 132, 136: // TCP, UDP, SCTP, UDP-Lite
		return true
	}
	return false
}

// makeKey builds the canonical key for p and reports whether p's source is
// the Lo endpoint.
func makeKey(p *decode.Parsed) (k Key, srcIsLo bool) {
	sp, dp := p.SrcPort, p.DstPort
	if !hasPorts(p.Proto) {
		sp, dp = 0, 0
	}
	srcIsLo = lessEndpoint(&p.Src, sp, &p.Dst, dp)
	if srcIsLo {
		k.Lo, k.Hi, k.LoPort, k.HiPort = p.Src, p.Dst, sp, dp
	} else {
		k.Lo, k.Hi, k.LoPort, k.HiPort = p.Dst, p.Src, dp, sp
	}
	k.VLAN, k.Proto, k.Family = p.VLAN, p.Proto, p.Family
	return k, srcIsLo
}

func lessEndpoint(a *[16]byte, ap uint16, b *[16]byte, bp uint16) bool {
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if a0 != b0 {
		return a0 < b0
	}
	a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if a1 != b1 {
		return a1 < b1
	}
	return ap <= bp
}

// Hash is a fast, well-mixed hash of the key. It is symmetric by
// construction (the key is canonical), so both directions of a flow land on
// the same shard.
func (k *Key) Hash() uint64 {
	const m = 0x9E3779B97F4A7C15
	h := uint64(k.Proto)<<56 ^ uint64(k.Family)<<48 ^ uint64(k.VLAN)<<32 ^ uint64(k.LoPort)<<16 ^ uint64(k.HiPort)
	h = mix(h^binary.LittleEndian.Uint64(k.Lo[:8]), m)
	h = mix(h^binary.LittleEndian.Uint64(k.Lo[8:]), m)
	h = mix(h^binary.LittleEndian.Uint64(k.Hi[:8]), m)
	h = mix(h^binary.LittleEndian.Uint64(k.Hi[8:]), m)
	return h ^ h>>29
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Addr returns one endpoint of the key as a netip.Addr (lo selects Lo or Hi).
func (k *Key) Addr(lo bool) netip.Addr {
	a := &k.Hi
	if lo {
		a = &k.Lo
	}
	if k.Family == 4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}
