package inject

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

// Header constants of every packet Weir injects.
const (
	// TTL is the IPv4 TTL / IPv6 hop limit of injected packets: a fresh
	// packet from this host, as the kernel would send it.
	TTL = 64

	ipv4Len = 20
	ipv6Len = 40
	tcpLen  = 20 // no options: RFC 9293 needs none on RST or data segments
	udpLen  = 8
	icmpLen = 8

	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58

	// TCP flags.
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10

	// window advertised on injected data segments (no scaling assumed by
	// anyone: the client only needs it non-zero to ACK our data).
	dataWindow = 65535
)

var be = binary.BigEndian

func ipHeaderLen(family uint8) int {
	if family == 6 {
		return ipv6Len
	}
	return ipv4Len
}

// putIP writes the IP header for a packet of len(b) bytes from src to dst.
// IPv4 gets ID marker.IPID, DF, TTL 64 and its header checksum.
func putIP(b []byte, family uint8, src, dst *[16]byte, proto uint8) {
	if family == 6 {
		be.PutUint32(b[0:], 6<<28) // traffic class 0, flow label 0
		be.PutUint16(b[4:], uint16(len(b)-ipv6Len))
		b[6] = proto
		b[7] = TTL
		copy(b[8:24], src[:])
		copy(b[24:40], dst[:])
		return
	}
	b[0] = 0x45
	b[1] = 0
	be.PutUint16(b[2:], uint16(len(b)))
	be.PutUint16(b[4:], marker.IPID)
	be.PutUint16(b[6:], 0x4000) // DF, offset 0
	b[8] = TTL
	b[9] = proto
	b[10], b[11] = 0, 0
	copy(b[12:16], src[:4])
	copy(b[16:20], dst[:4])
	be.PutUint16(b[10:], fold(sum(0, b[:ipv4Len])))
}

// sum adds b to the running one's-complement sum s (RFC 1071).
func sum(s uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := be.Uint64(b)
		s += v >> 32
		s += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(be.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold reduces s to 16 bits and complements it.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudo returns the sum of the TCP/UDP/ICMPv6 pseudo-header of pkt, whose
// IP header (hl bytes) is already written.
func pseudo(pkt []byte, family uint8, hl int, proto uint8) uint64 {
	n := uint64(len(pkt) - hl)
	if family == 6 {
		return sum(0, pkt[8:40]) + uint64(proto) + n
	}
	return sum(0, pkt[12:20]) + uint64(proto) + n
}

// putTCP writes a 20-byte TCP header at pkt[hl:] and its checksum over
// the pseudo-header and the payload already in place after it.
func putTCP(pkt []byte, family uint8, hl int, sport, dport uint16, seq, ack uint32, flags uint8, win uint16) {
	t := pkt[hl:]
	be.PutUint16(t[0:], sport)
	be.PutUint16(t[2:], dport)
	be.PutUint32(t[4:], seq)
	be.PutUint32(t[8:], ack)
	t[12] = (tcpLen / 4) << 4
	t[13] = flags
	be.PutUint16(t[14:], win)
	t[16], t[17] = 0, 0
	t[18], t[19] = 0, 0 // urgent pointer
	be.PutUint16(t[16:], fold(sum(pseudo(pkt, family, hl, protoTCP), t)))
}

// putUDP writes the UDP header at pkt[hl:] and its checksum.
func putUDP(pkt []byte, family uint8, hl int, sport, dport uint16) {
	u := pkt[hl:]
	be.PutUint16(u[0:], sport)
	be.PutUint16(u[2:], dport)
	be.PutUint16(u[4:], uint16(len(u)))
	u[6], u[7] = 0, 0
	c := fold(sum(pseudo(pkt, family, hl, protoUDP), u))
	if c == 0 {
		c = 0xffff // 0 means "no checksum" (and is forbidden over IPv6)
	}
	be.PutUint16(u[6:], c)
}

// usable reports whether p describes a packet Weir can answer with a raw
// socket: plain (not tunnelled: a reply to the inner flow would be routed
// past the tunnel) IPv4 or IPv6, not a lone fragment (its payload is not
// the whole segment), carrying proto.
func usable(p *decode.Parsed, proto uint8) bool {
	return p != nil && (p.Family == 4 || p.Family == 6) && p.Tunnel == decode.TunnelNone &&
		!p.Unreassembled && p.Proto == proto
}

// segLen is the sequence space the TCP segment p occupies (RFC 9293 3.4).
func segLen(p *decode.Parsed) uint32 {
	n := uint32(len(p.Payload))
	if p.TCPFlags&flagSYN != 0 {
		n++
	}
	if p.TCPFlags&flagFIN != 0 {
		n++
	}
	return n
}
