package dns

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

// MaxTCPBuffer bounds the bytes buffered per direction while a DNS-over-TCP
// message (2-byte length prefix included) spans segments. A longer message
// is parsed from its first MaxTCPBuffer bytes (question and the answers
// that fit).
const MaxTCPBuffer = 4096

const (
	stFresh uint8 = iota
	stIdentified
	stDone
)

// Dissector recognises DNS, mDNS and LLMNR over UDP and DNS over TCP. The
// zero value is ready; see the package documentation for the flow of
// states.
type Dissector struct {
	state uint8
	id    uint16 // ID of the message that identified the flow
	tcp   [2]stream
}

// stream reassembles one direction of a TCP flow from in-order segments.
type stream struct {
	buf   []byte // bytes of an unfinished message, prefix included
	next  uint32 // expected sequence number
	began bool
	dead  bool // a gap or an oversized message: stop reading this direction
}

// Reset returns d to its zero state, keeping its TCP buffers' capacity
// (at most MaxTCPBuffer each) for the next flow.
func (d *Dissector) Reset() {
	b0, b1 := d.tcp[0].buf[:0], d.tcp[1].buf[:0]
	*d = Dissector{}
	d.tcp[0].buf, d.tcp[1].buf = b0, b1
}

func (d *Dissector) status() dissect.Status {
	switch d.state {
	case stIdentified:
		return dissect.Identified
	case stDone:
		return dissect.Done
	}
	return dissect.Continue
}

func (d *Dissector) reject() dissect.Status {
	if d.state == stFresh {
		return dissect.NotMine
	}
	return d.status()
}

func hasPort(p *dissect.Packet, port uint16) bool {
	return p.ServerPort == port || p.ClientPort == port
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if d.state == stDone {
		return dissect.Done
	}
	if d.state == stFresh && (hasPort(p, 137) || hasPort(p, 138) || hasPort(p, 139)) {
		// NetBIOS name service shares DNS's wire format; the port is the
		// tie-breaker (the lan package claims it).
		return dissect.NotMine
	}
	switch p.L4 {
	case 17:
		return d.message(p, p.Payload, m, true)
	case 6:
		return d.feedTCP(p, m)
	}
	return dissect.NotMine
}

func proto(p *dissect.Packet) dissect.Proto {
	switch {
	case p.L4 == 17 && hasPort(p, 5353):
		return dissect.MDNS
	case hasPort(p, 5355):
		return dissect.LLMNR
	}
	return dissect.DNS
}

// message handles one complete (or, when !full, truncated) message.
func (d *Dissector) message(p *dissect.Packet, msg []byte, m *dissect.Meta, full bool) dissect.Status {
	pr := proto(p)
	mdns := pr == dissect.MDNS
	h, err := readHeader(msg)
	if err != nil || checkHeader(h, mdns, len(msg), full) != nil {
		return d.reject()
	}
	return d.body(p, msg, h, pr, m, full)
}

// body handles a message whose header passed; it is split from message
// so the common reject path does not clear a name buffer.
func (d *Dissector) body(p *dissect.Packet, msg []byte, h header, pr dissect.Proto, m *dissect.Meta, full bool) dissect.Status {
	mdns := pr == dissect.MDNS
	var nb [maxText]byte
	q, err := readQuestions(msg, h, mdns, &nb)
	if err != nil {
		return d.reject()
	}
	if d.state == stFresh {
		if h.qd == 0 {
			// mDNS announcement: the first record's owner names the
			// service (what nDPI reports as the host).
			n, _, err := readName(msg, q.end, &nb)
			if err != nil {
				return dissect.NotMine
			}
			q.nameLen = n
		}
		if full && !h.response() {
			// A query's records (OPT, TSIG, known answers) must parse too.
			if recordInfo(msg, q.end, h, nil, &nb) != nil {
				return dissect.NotMine
			}
		}
		host := intern.Bytes(nb[:q.nameLen])
		m.Proto, m.Host = pr, host
		switch {
		case h.qd == 0:
			m.Why = "mDNS announcement"
		case h.response():
			m.Why = "DNS response"
		default:
			m.Why = "DNS query"
		}
		if h.qd > 0 {
			m.DNS.QName, m.DNS.QType, m.DNS.QClass = host, q.qtype, q.qclass
		}
		d.id, d.state = h.id, stIdentified
	} else if !h.response() || h.id != d.id {
		return d.status() // a retransmitted or unrelated message
	}
	if h.response() {
		m.DNS.Response = true
		m.DNS.RCode = h.rcode()
		_ = recordInfo(msg, q.end, h, &m.DNS, &nb) // keep what parsed
		d.state = stDone
	}
	return d.status()
}

// feedTCP reassembles length-prefixed messages (RFC 1035 4.2.2, RFC 7766:
// several per segment, or one across segments).
func (d *Dissector) feedTCP(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	s := &d.tcp[p.Dir&1]
	if s.dead {
		return d.reject()
	}
	data := p.Payload
	if s.began {
		switch delta := int32(p.Seq - s.next); {
		case delta < 0: // retransmission or overlap
			if int(-delta) >= len(data) {
				return d.status()
			}
			data = data[-delta:]
		case delta > 0: // a segment is missing: no reordering here
			s.dead, s.buf = true, nil
			return d.reject()
		}
	}
	s.began = true
	s.next = p.Seq + uint32(len(p.Payload))

	src := data
	buffered := len(s.buf) > 0
	if buffered {
		room := MaxTCPBuffer - len(s.buf)
		if len(data) > room {
			data = data[:room]
		}
		s.buf = append(s.buf, data...)
		src = s.buf
	}
	for len(src) >= 2 {
		l := int(binary.BigEndian.Uint16(src))
		if l < headerLen+5 && d.state == stFresh {
			return dissect.NotMine
		}
		if len(src) < 2+l {
			if d.state == stFresh && !plausiblePrefix(p, src[2:]) {
				return dissect.NotMine
			}
			if len(src) >= MaxTCPBuffer {
				// The message cannot fit: parse the prefix we hold.
				st := d.message(p, src[2:], m, false)
				s.dead, s.buf = true, nil
				return st
			}
			break
		}
		st := d.message(p, src[2:2+l], m, true)
		if st == dissect.NotMine || st == dissect.Done {
			s.buf = s.buf[:0]
			return st
		}
		src = src[2+l:]
	}
	// Keep the unfinished tail.
	switch {
	case len(src) == 0:
		s.buf = s.buf[:0]
	case buffered:
		s.buf = s.buf[:copy(s.buf, src)]
	default:
		if len(src) > MaxTCPBuffer {
			src = src[:MaxTCPBuffer]
		}
		s.buf = append(s.buf[:0], src...)
	}
	return d.status()
}

// plausiblePrefix checks the part of a first message that has arrived.
func plausiblePrefix(p *dissect.Packet, msg []byte) bool {
	if len(msg) < headerLen {
		return true // undecided until the header is in
	}
	h, _ := readHeader(msg)
	if checkHeader(h, false, len(msg), false) != nil {
		return false
	}
	// Validate only: the name text is not needed.
	off := headerLen
	for i := 0; i < int(h.qd); i++ {
		next, err := skipName(msg, off)
		if err != nil {
			return err == ErrShort
		}
		if next+4 > len(msg) {
			return true
		}
		if !plausibleQuestion(binary.BigEndian.Uint16(msg[next:]), binary.BigEndian.Uint16(msg[next+2:]), false) {
			return false
		}
		off = next + 4
	}
	return true
}
