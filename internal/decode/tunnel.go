package decode

// GRE flag bits (RFC 2784/2890; RFC 2637 for version 1).
const (
	greC      = 0x8000 // checksum (+ reserved1) present
	greR      = 0x4000 // routing present (RFC 1701, deprecated)
	greK      = 0x2000 // key present
	greS      = 0x1000 // sequence number present
	greA      = 0x0080 // version 1: acknowledgment number present
	greVerMsk = 0x0007
	grePPP    = 0x880b // PPTP payload
)

// gre decapsulates GRE. Payloads other than IPv4, IPv6, transparent
// Ethernet and PPTP's PPP-carrying-IP are not decapsulated: the GRE packet
// itself is the flow (protocol 47, ports 0).
func (d *Decoder) gre(seg []byte, p *Parsed, depth int) Result {
	p.Payload = seg
	if len(seg) < 4 {
		return d.bad(ShortGRE)
	}
	fl := be16(seg)
	pt := be16(seg[2:])
	off := 4
	switch fl & greVerMsk {
	case 0:
		if fl&greR != 0 {
			return OK // source routing entries: never seen in practice, not worth a parser
		}
		if fl&greC != 0 {
			off += 4
		}
		if fl&greK != 0 {
			off += 4
		}
		if fl&greS != 0 {
			off += 4
		}
		if off > len(seg) {
			return d.bad(ShortGRE)
		}
		switch pt {
		case etIPv4, etIPv6, etTEB:
		default:
			return OK
		}
		if depth == MaxTunnelDepth {
			return d.bad(TunnelTooDeep)
		}
		enter(p, TunnelGRE)
		inner := seg[off:]
		switch pt {
		case etIPv4:
			return d.ipv4(inner, p, depth+1)
		case etIPv6:
			return d.ipv6(inner, p, depth+1)
		}
		return d.ether(inner, p, depth+1)
	case 1:
		// Enhanced GRE (PPTP): the key is mandatory and holds payload
		// length(2) and call id(2); C and R are never set.
		if pt != grePPP || fl&greK == 0 || fl&(greC|greR) != 0 {
			return OK
		}
		off = 8
		if fl&greS != 0 {
			off += 4
		}
		if fl&greA != 0 {
			off += 4
		}
		if off > len(seg) {
			return d.bad(ShortGRE)
		}
		inner := seg[off:]
		if n := int(be16(seg[4:])); n < len(inner) {
			inner = inner[:n]
		}
		// PPP: optional address/control 0xff 0x03, then a protocol field
		// of 1 byte when compressed (odd first byte) or 2 bytes.
		if len(inner) >= 2 && inner[0] == 0xff && inner[1] == 0x03 {
			inner = inner[2:]
		}
		var proto uint16
		switch {
		case len(inner) >= 1 && inner[0]&1 == 1:
			proto, inner = uint16(inner[0]), inner[1:]
		case len(inner) >= 2:
			proto, inner = be16(inner), inner[2:]
		default:
			return OK // acknowledgment-only packet
		}
		if proto != pppIPv4 && proto != pppIPv6 {
			return OK // LCP, CCP, compressed data, ...
		}
		if depth == MaxTunnelDepth {
			return d.bad(TunnelTooDeep)
		}
		enter(p, TunnelGRE)
		if proto == pppIPv4 {
			return d.ipv4(inner, p, depth+1)
		}
		return d.ipv6(inner, p, depth+1)
	}
	return OK
}

// GTP-U header flags (3GPP TS 29.281).
const (
	gtpPT    = 0x10 // protocol type: 1 = GTP (0 = GTP')
	gtpE     = 0x04 // next extension header present
	gtpS     = 0x02 // sequence number present
	gtpPN    = 0x01 // N-PDU number present
	gtpTPDU  = 0xff // message type carrying user data
	gtpFixed = 8
)

// gtpu decapsulates a GTP-U T-PDU. ok is false when pl is not one (GTP
// signalling such as echo, another version, a non-IP T-PDU): the caller
// then treats the packet as plain UDP.
func (d *Decoder) gtpu(pl []byte, p *Parsed, depth int) (r Result, ok bool) {
	if len(pl) < gtpFixed {
		return 0, false
	}
	fl := pl[0]
	if fl>>5 != 1 || fl&gtpPT == 0 || pl[1] != gtpTPDU {
		return 0, false
	}
	end := gtpFixed + int(be16(pl[2:])) // the length excludes the fixed 8 bytes
	if end > len(pl) {
		if !d.truncated {
			return d.bad(BadGTP), true
		}
		end = len(pl)
	}
	off := gtpFixed
	if fl&(gtpE|gtpS|gtpPN) != 0 {
		// All three optional fields are present when any flag is set.
		if off+4 > end {
			return d.bad(BadGTP), true
		}
		next := pl[off+3]
		if fl&gtpE == 0 {
			next = 0
		}
		off += 4
		for n := 0; next != 0; n++ {
			// Extension: length in 4-byte units(1) content ... next type(1).
			if n == maxGTPExt || off >= end {
				return d.bad(BadGTP), true
			}
			l := int(pl[off]) * 4
			if l == 0 || off+l > end {
				return d.bad(BadGTP), true
			}
			next = pl[off+l-1]
			off += l
		}
	}
	inner := pl[off:end]
	if len(inner) == 0 {
		return 0, false
	}
	v := inner[0] >> 4
	if v != 4 && v != 6 {
		return 0, false
	}
	if depth == MaxTunnelDepth {
		return d.bad(TunnelTooDeep), true
	}
	enter(p, TunnelGTPU)
	if v == 4 {
		return d.ipv4(inner, p, depth+1), true
	}
	return d.ipv6(inner, p, depth+1), true
}
