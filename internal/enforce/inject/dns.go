package inject

import (
	"net/netip"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

// DNS constants (RFC 1035, 6891, 8914).
const (
	dnsHeaderLen = 12
	maxName      = 255
	typeA        = 1
	typeAAAA     = 28
	typeOPT      = 41
	classIN      = 1
	rcodeNX      = 3
	optionEDE    = 15

	// EDNSSize is the UDP payload size Weir's OPT record advertises: the
	// DNS Flag Day 2020 value, which fits any path without fragmenting.
	EDNSSize = 1232
	// DefaultTTL is the sinkhole answer's TTL when DNSAnswer.TTL is 0:
	// short, so lifting a block takes effect quickly.
	DefaultTTL = 60

	// largest response: header, question (name + 4), one AAAA record
	// (2+10+16), OPT (11) with EDE (4+2+text).
	maxDNS = dnsHeaderLen + maxName + 4 + 28 + 11 + 6 + rstMax
)

// DNSAnswer is the sinkhole DNSBlock answers with. The zero value means
// NXDOMAIN. With A or AAAA set the answer is NOERROR: an A query gets A,
// an AAAA query gets AAAA, and every other query (or a family left unset)
// gets no answer records (NODATA), so the name never looks both present
// and absent.
type DNSAnswer struct {
	A    netip.Addr // IPv4 sinkhole, invalid = none
	AAAA netip.Addr // IPv6 sinkhole, invalid = none
	TTL  uint32     // answer TTL in seconds; 0 = DefaultTTL
}

func (a DNSAnswer) sinkhole() bool { return a.A.Is4() || a.AAAA.Is6() && !a.AAAA.Is4In6() }

// DNSBlock answers the client's DNS query p with a response that appears
// to come from the server it asked (source p.Dst:p.DstPort), over the
// query's transport: a UDP datagram, or for DNS over TCP (the message
// after its 2-byte length prefix, RFC 1035 4.2.2) a PSH|ACK segment with
// seq = p.TCPAck, ack = end of the query segment.
//
// The message keeps the query's ID and question bytes (case included:
// resolvers using 0x20 randomisation check it), copies RD and CD and sets
// RA = RD (a recursive resolver answered; dig warns otherwise), and has
// rcode NXDOMAIN, or NOERROR with the sinkhole of answer. It always ends
// with an OPT record (EDNS0, UDP size 1232) holding an Extended DNS Error
// (RFC 8914) with info-code ede (marker.EDEBlocked, EDECensored or
// EDEFiltered) and EXTRA-TEXT marker.EDEText(rule, notice). Every
// enforcement announces itself, so the OPT is added even when the query
// had none (RFC 6891 7 would omit it; clients without EDNS skip it).
//
// The query is parsed here, strictly and without trusting any length: one
// question, QR clear, opcode QUERY, uncompressed name of at most 255
// bytes. Anything else is an *Error (ErrMalformed, or ErrNotApplicable for
// a packet that is not UDP/TCP, is tunnelled or is a lone fragment, or a
// TCP segment without ACK). It never panics.
func DNSBlock(pkt []byte, p *decode.Parsed, rule, notice string, ede uint16, answer DNSAnswer) ([]byte, error) {
	if p == nil {
		return nil, errNotApplicable
	}
	var msg []byte
	switch {
	case usable(p, protoUDP):
		msg = p.Payload
	case usable(p, protoTCP):
		if p.TCPFlags&(flagRST|flagSYN) != 0 || p.TCPFlags&flagACK == 0 {
			return nil, errNotApplicable
		}
		pl := p.Payload
		if len(pl) < 2 || int(be.Uint16(pl)) > len(pl)-2 {
			return nil, errShort
		}
		msg = pl[2 : 2+int(be.Uint16(pl))]
	default:
		return nil, errNotApplicable
	}
	qend, err := parseQuery(msg)
	if err != nil {
		return nil, err
	}
	question := msg[dnsHeaderLen:qend]
	qtype := be.Uint16(msg[qend-4:])
	qclass := be.Uint16(msg[qend-2:])

	// The DNS message, built on the stack, then copied once into the packet.
	var scratch [maxDNS]byte
	m := scratch[:dnsHeaderLen]
	be.PutUint16(m[0:], be.Uint16(msg[0:])) // ID
	rd, cd := msg[2]&0x01, msg[3]&0x10
	m[2] = 0x80 | rd // QR, opcode 0, AA 0, TC 0, RD
	m[3] = rd<<7 | cd
	be.PutUint16(m[4:], 1) // QDCOUNT
	be.PutUint16(m[6:], 0) // ANCOUNT
	be.PutUint16(m[8:], 0) // NSCOUNT
	be.PutUint16(m[10:], 1)
	m = append(m, question...)
	if !answer.sinkhole() {
		m[3] |= rcodeNX
	} else if ttl := cmpOr(answer.TTL, DefaultTTL); qclass == classIN {
		switch {
		case qtype == typeA && answer.A.Is4():
			a := answer.A.As4()
			m = appendRR(m, typeA, ttl, a[:])
		case qtype == typeAAAA && answer.AAAA.Is6() && !answer.AAAA.Is4In6():
			a := answer.AAAA.As16()
			m = appendRR(m, typeAAAA, ttl, a[:])
		}
	}
	// OPT: root name, type 41, class = UDP size, TTL = ext-rcode/version/flags 0.
	m = append(m, 0, 0, typeOPT, byte(EDNSSize>>8), byte(EDNSSize&0xff), 0, 0, 0, 0, 0, 0)
	rdl := len(m) - 2
	m = append(m, 0, optionEDE, 0, 0, byte(ede>>8), byte(ede))
	m = marker.AppendEDEText(m, rule, notice)
	be.PutUint16(m[rdl:], uint16(len(m)-rdl-2))
	be.PutUint16(m[rdl+4:], uint16(len(m)-rdl-6))

	fam, hl := p.Family, ipHeaderLen(p.Family)
	if p.Proto == protoUDP {
		out := make([]byte, hl+udpLen+len(m))
		copy(out[hl+udpLen:], m)
		putIP(out, fam, &p.Dst, &p.Src, protoUDP)
		putUDP(out, fam, hl, p.DstPort, p.SrcPort)
		return out, nil
	}
	out := make([]byte, hl+tcpLen+2+len(m))
	be.PutUint16(out[hl+tcpLen:], uint16(len(m)))
	copy(out[hl+tcpLen+2:], m)
	putIP(out, fam, &p.Dst, &p.Src, protoTCP)
	putTCP(out, fam, hl, p.DstPort, p.SrcPort, p.TCPAck, p.TCPSeq+segLen(p), flagPSH|flagACK, dataWindow)
	return out, nil
}

func cmpOr(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// appendRR appends an IN record named by a pointer to the question name
// (offset 12) and bumps ANCOUNT.
func appendRR(m []byte, typ uint16, ttl uint32, rdata []byte) []byte {
	m = append(m, 0xc0, dnsHeaderLen, byte(typ>>8), byte(typ), 0, classIN,
		byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), 0, byte(len(rdata)))
	m = append(m, rdata...)
	be.PutUint16(m[6:], be.Uint16(m[6:])+1)
	return m
}

// parseQuery checks msg is a standard query with one question and returns
// the offset just past that question. Records after it are ignored.
func parseQuery(msg []byte) (qend int, err error) {
	if len(msg) < dnsHeaderLen {
		return 0, errShort
	}
	if msg[2]&0x80 != 0 || msg[2]>>3&0x0f != 0 {
		return 0, errNotQuery
	}
	if be.Uint16(msg[4:]) != 1 {
		return 0, errQuestionCount
	}
	off := dnsHeaderLen
	for {
		if off >= len(msg) {
			return 0, errShort
		}
		l := int(msg[off])
		if l&0xc0 != 0 {
			// A pointer in the first name could only point into the
			// header; 01 and 10 label types are reserved/obsolete.
			return 0, errBadName
		}
		off += 1 + l
		if off-dnsHeaderLen > maxName {
			return 0, errBadName
		}
		if l == 0 {
			break
		}
	}
	if off+4 > len(msg) {
		return 0, errShort
	}
	return off + 4, nil
}
