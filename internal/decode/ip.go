package decode

// IP protocol numbers we act on.
const (
	protoICMP   = 1
	protoIPIP   = 4
	protoTCP    = 6
	protoUDP    = 17
	protoIPv6   = 41
	protoGRE    = 47
	protoICMPv6 = 58

	// IPv6 extension headers.
	extHopByHop = 0
	extRouting  = 43
	extFragment = 44
	extAH       = 51
	extDestOpts = 60
	extMobility = 135
	extHIP      = 139
	extShim6    = 140
)

func (d *Decoder) ipv4(b []byte, p *Parsed, depth int) Result {
	if len(b) < 20 {
		return d.bad(ShortIPv4)
	}
	if b[0]>>4 != 4 {
		return d.bad(BadIPVersion)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) {
		return d.bad(BadIPv4HeaderLength)
	}
	total := int(be16(b[2:]))
	if total < ihl {
		return d.bad(IPv4TotalLength)
	}
	cut := false // the capture holds less than the packet
	if total > len(b) {
		if !d.truncated {
			return d.bad(IPv4TotalLength)
		}
		total, cut = len(b), true
	}
	// Bytes past total (Ethernet padding to 60 bytes, trailers) are not ours.
	p.Family = 4
	p.Src, p.Dst = [16]byte{}, [16]byte{}
	copy(p.Src[:4], b[12:16])
	copy(p.Dst[:4], b[16:20])
	p.Proto = b[9]
	p.TTL = b[8]
	p.IPID = be16(b[4:])
	fo := be16(b[6:])
	off := int(fo&0x1fff) * 8
	more := fo&0x2000 != 0
	if more || off != 0 {
		k := fragKey{family: 4, proto: p.Proto, vlan: p.VLAN, id: uint32(p.IPID), src: p.Src, dst: p.Dst}
		return d.fragment(&k, off, b[ihl:total], !more, cut, ihl, p.Proto, p, depth)
	}
	return d.l4(p.Proto, b[ihl:total], p, depth)
}

func (d *Decoder) ipv6(b []byte, p *Parsed, depth int) Result {
	if len(b) < 40 {
		return d.bad(ShortIPv6)
	}
	if b[0]>>4 != 6 {
		return d.bad(BadIPVersion)
	}
	end := 40 + int(be16(b[4:]))
	cut := false
	if end > len(b) {
		if !d.truncated {
			return d.bad(IPv6PayloadLength)
		}
		end, cut = len(b), true
	}
	p.Family = 6
	copy(p.Src[:], b[8:24])
	copy(p.Dst[:], b[24:40])
	p.TTL = b[7]
	p.IPID = 0
	return d.ext6(b[6], b[40:end], cut, p, depth)
}

// ext6 walks the IPv6 extension-header chain of pl (what follows the fixed
// header, or a reassembled fragmentable part) starting at next header nh.
func (d *Decoder) ext6(nh uint8, pl []byte, cut bool, p *Parsed, depth int) Result {
	off := 0
	for n := 0; ; n++ {
		var l int
		switch nh {
		case extHopByHop, extRouting, extDestOpts, extMobility, extHIP, extShim6:
			if n == maxIPv6Ext || off+8 > len(pl) {
				return d.bad(BadIPv6Extension)
			}
			l = (int(pl[off+1]) + 1) * 8
		case extAH:
			if n == maxIPv6Ext || off+8 > len(pl) {
				return d.bad(BadIPv6Extension)
			}
			l = (int(pl[off+1]) + 2) * 4
		case extFragment:
			if n == maxIPv6Ext || off+8 > len(pl) {
				return d.bad(BadIPv6Extension)
			}
			fo := be16(pl[off+2:])
			foff := int(fo &^ 7)
			more := fo&1 != 0
			next := pl[off]
			if foff == 0 && !more {
				// Atomic fragment (RFC 6946): not really fragmented.
				nh = next
				off += 8
				continue
			}
			k := fragKey{family: 6, vlan: p.VLAN, id: be32(pl[off+4:]), src: p.Src, dst: p.Dst}
			return d.fragment(&k, foff, pl[off+8:], !more, cut, 0, next, p, depth)
		default:
			p.Proto = nh
			return d.l4(nh, pl[off:], p, depth)
		}
		if off+l > len(pl) {
			return d.bad(BadIPv6Extension)
		}
		nh = pl[off]
		off += l
	}
}

// l4 decodes the transport header of the current packet; seg is bounded by
// the IP length (never the captured padding).
func (d *Decoder) l4(proto uint8, seg []byte, p *Parsed, depth int) Result {
	p.Proto = proto
	switch proto {
	case protoTCP:
		return d.tcp(seg, p)
	case protoUDP:
		return d.udp(seg, p, depth)
	case protoICMP, protoICMPv6:
		return d.icmp(proto, seg, p)
	case protoGRE:
		return d.gre(seg, p, depth)
	case protoIPIP:
		if depth == MaxTunnelDepth {
			return d.bad(TunnelTooDeep)
		}
		enter(p, TunnelIPinIP)
		return d.ipv4(seg, p, depth+1)
	case protoIPv6:
		if depth == MaxTunnelDepth {
			return d.bad(TunnelTooDeep)
		}
		enter(p, TunnelIPinIP)
		return d.ipv6(seg, p, depth+1)
	}
	// ESP, AH-only, IGMP, SCTP, OSPF, ...: a flow without ports.
	p.Payload = seg
	return OK
}

// enter records a decapsulation and forgets the outer packet's L4 fields.
func enter(p *Parsed, t Tunnel) {
	if p.Tunnel == TunnelNone {
		p.Tunnel = t
	}
	p.SrcPort, p.DstPort = 0, 0
	p.TCPFlags, p.TCPSeq, p.TCPAck, p.TCPWindow = 0, 0, 0, 0
	p.Payload = nil
}

func (d *Decoder) tcp(seg []byte, p *Parsed) Result {
	if len(seg) < 20 {
		return d.bad(ShortTCP)
	}
	off := int(seg[12]>>4) * 4
	if off < 20 {
		return d.bad(BadTCPOffset)
	}
	if off > len(seg) {
		if !d.truncated {
			return d.bad(BadTCPOffset)
		}
		off = len(seg) // snaplen cut the options: the header fields are still good
	}
	p.SrcPort = be16(seg)
	p.DstPort = be16(seg[2:])
	p.TCPSeq = be32(seg[4:])
	p.TCPAck = be32(seg[8:])
	p.TCPFlags = seg[13]
	p.TCPWindow = be16(seg[14:])
	p.Payload = seg[off:]
	return OK
}

// Well-known tunnel ports.
const (
	portVXLAN = 4789
	portGTPU  = 2152
)

func (d *Decoder) udp(seg []byte, p *Parsed, depth int) Result {
	if len(seg) < 8 {
		return d.bad(ShortUDP)
	}
	sp, dp := be16(seg), be16(seg[2:])
	pl := seg[8:]
	// The UDP length may only shrink the payload; 0 (jumbograms) or a
	// value past the IP payload leaves it bounded by IP.
	if n := int(be16(seg[4:])); n >= 8 && n <= len(seg) {
		pl = seg[8:n]
	}
	if dp == portVXLAN && len(pl) >= 8 && pl[0]&0x08 != 0 {
		// VXLAN (RFC 7348): flags(1, I bit) reserved(3) VNI(3) reserved(1).
		if depth == MaxTunnelDepth {
			return d.bad(TunnelTooDeep)
		}
		enter(p, TunnelVXLAN)
		return d.ether(pl[8:], p, depth+1)
	}
	if sp == portGTPU || dp == portGTPU {
		if r, ok := d.gtpu(pl, p, depth); ok {
			return r
		}
	}
	p.SrcPort, p.DstPort = sp, dp
	p.Payload = pl
	return OK
}

func (d *Decoder) icmp(proto uint8, seg []byte, p *Parsed) Result {
	if len(seg) < 4 {
		return d.bad(ShortICMP)
	}
	typ := seg[0]
	p.SrcPort = uint16(typ)<<8 | uint16(seg[1])
	echo := false
	if proto == protoICMP {
		echo = typ == 0 || typ == 8 // echo reply, request
	} else {
		echo = typ == 128 || typ == 129
	}
	if echo && len(seg) >= 6 {
		p.DstPort = be16(seg[4:])
	}
	p.Payload = seg[min(8, len(seg)):]
	return OK
}
