package inject

import (
	"net/netip"

	"github.com/weirnet/weir/internal/decode"
)

// ICMP sizes: how much of the offending packet an error quotes.
const (
	// MaxICMPv4 is the largest ICMPv4 error: RFC 792 asks for the IP
	// header and 64 bits of data, RFC 1812 4.3.2.3 lets a router quote as
	// much as keeps the error within 576 bytes.
	MaxICMPv4 = 576
	// MaxICMPv6 is the largest ICMPv6 error (RFC 4443 2.4(c): as much of
	// the invoking packet as fits the minimum IPv6 MTU).
	MaxICMPv6 = 1280

	icmpUnreach    = 3  // ICMPv4 destination unreachable
	icmpProhibited = 13 // communication administratively prohibited (RFC 1812)
	icmp6Unreach   = 1  // ICMPv6 destination unreachable
	icmp6Prohib    = 1  // communication with destination administratively prohibited
)

// ICMPProhibited answers pkt (the offending IP packet, decoded into p) as a
// router that refuses to forward it: ICMPv4 type 3 code 13, or ICMPv6
// type 1 code 1, sent to pkt's source and quoting as much of pkt as
// MaxICMPv4/MaxICMPv6 allow. The source address is from when it is valid
// and of pkt's family (a router address), else pkt's destination.
//
// It returns nil where RFC 1122 3.2.2 and RFC 4443 2.4(e) forbid an error:
// pkt is itself an ICMP error, is not the first fragment, was sent to a
// multicast or broadcast address, or from an address that is not a single
// host (unspecified, multicast, broadcast). It also returns nil when pkt
// and p disagree on the addresses (a tunnelled flow, or a stale p) or pkt
// is not a whole IP packet. The limiter (Limiter) is the caller's job.
func ICMPProhibited(pkt []byte, p *decode.Parsed, from netip.Addr) []byte {
	if p == nil || p.Tunnel != decode.TunnelNone || len(pkt) < 1 {
		return nil
	}
	from = from.Unmap()
	switch {
	case p.Family == 4 && pkt[0]>>4 == 4:
		return icmp4(pkt, p, from)
	case p.Family == 6 && pkt[0]>>4 == 6:
		return icmp6(pkt, p, from)
	}
	return nil
}

func icmp4(pkt []byte, p *decode.Parsed, from netip.Addr) []byte {
	if len(pkt) < ipv4Len {
		return nil
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(be.Uint16(pkt[2:]))
	if ihl < ipv4Len || total < ihl || total > len(pkt) ||
		be.Uint16(pkt[6:])&0x1fff != 0 || // a later fragment
		[4]byte(pkt[12:16]) != [4]byte(p.Src[:4]) || [4]byte(pkt[16:20]) != [4]byte(p.Dst[:4]) {
		return nil
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	bcast := netip.AddrFrom4([4]byte{255, 255, 255, 255})
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() || src == bcast ||
		dst.IsMulticast() || dst == bcast {
		return nil
	}
	if pkt[9] == protoICMP && ihl < total {
		switch pkt[ihl] { // the quoted packet's ICMP type
		case 3, 4, 5, 11, 12, 31, 40: // errors (unreachable, quench, redirect, time, parameter, conversion, security)
			return nil
		}
	}
	var me [16]byte
	if from.Is4() {
		a := from.As4()
		copy(me[:], a[:])
	} else {
		copy(me[:4], pkt[16:20])
	}
	quote := pkt[:min(total, MaxICMPv4-ipv4Len-icmpLen)]
	out := make([]byte, ipv4Len+icmpLen+len(quote))
	copy(out[ipv4Len+icmpLen:], quote)
	putIP(out, 4, &me, &p.Src, protoICMP)
	m := out[ipv4Len:]
	m[0], m[1] = icmpUnreach, icmpProhibited // checksum and "unused" stay 0
	be.PutUint16(m[2:], fold(sum(0, m)))
	return out
}

func icmp6(pkt []byte, p *decode.Parsed, from netip.Addr) []byte {
	if len(pkt) < ipv6Len {
		return nil
	}
	total := ipv6Len + int(be.Uint16(pkt[4:]))
	if total > len(pkt) || [16]byte(pkt[8:24]) != p.Src || [16]byte(pkt[24:40]) != p.Dst {
		return nil
	}
	src := netip.AddrFrom16(p.Src)
	dst := netip.AddrFrom16(p.Dst)
	if src.IsUnspecified() || src.IsMulticast() || dst.IsMulticast() {
		return nil
	}
	nh, l4 := lastHeader6(pkt[:total])
	if nh < 0 { // a later fragment, or a chain we cannot walk
		return nil
	}
	if nh == protoICMPv6 && l4 < total && pkt[l4] < 128 { // an ICMPv6 error
		return nil
	}
	me := p.Dst
	if from.Is6() {
		me = from.As16()
	}
	quote := pkt[:min(total, MaxICMPv6-ipv6Len-icmpLen)]
	out := make([]byte, ipv6Len+icmpLen+len(quote))
	copy(out[ipv6Len+icmpLen:], quote)
	putIP(out, 6, &me, &p.Src, protoICMPv6)
	m := out[ipv6Len:]
	m[0], m[1] = icmp6Unreach, icmp6Prohib
	be.PutUint16(m[2:], fold(sum(pseudo(out, 6, ipv6Len, protoICMPv6), m)))
	return out
}

// lastHeader6 walks pkt's extension headers (at most 8) and returns the
// upper-layer protocol and its offset, or -1 for a fragment other than the
// first or a chain that is too long or runs past the packet.
func lastHeader6(pkt []byte) (nh, off int) {
	nh, off = int(pkt[6]), ipv6Len
	for range 8 {
		switch nh {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dest opts, mobility, HIP, shim6
			if off+8 > len(pkt) {
				return -1, 0
			}
			nh, off = int(pkt[off]), off+(int(pkt[off+1])+1)*8
		case 51: // AH
			if off+8 > len(pkt) {
				return -1, 0
			}
			nh, off = int(pkt[off]), off+(int(pkt[off+1])+2)*4
		case 44: // fragment
			if off+8 > len(pkt) || be.Uint16(pkt[off+2:])&^7 != 0 {
				return -1, 0
			}
			nh, off = int(pkt[off]), off+8
		default:
			return nh, off
		}
	}
	return -1, 0
}
