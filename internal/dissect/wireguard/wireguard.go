package wireguard

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

// Message types and their fixed sizes from the WireGuard whitepaper §5.4.
const (
	typeInitiation = 1
	typeResponse   = 2
	typeCookie     = 3
	typeTransport  = 4

	sizeInitiation   = 148
	sizeResponse     = 92
	sizeCookie       = 64
	sizeTransportMin = 32 // 16-byte header + 16-byte Poly1305 tag (keepalive)
)

// maxUnproven is how many packets a flow may show without a handshake or a
// second direction before we give up.
const maxUnproven = 16

// Message is one decoded WireGuard header.
type Message struct {
	Type     uint8
	Sender   uint32 // initiation, response
	Receiver uint32 // response, cookie, transport
	Counter  uint64 // transport
}

// Parse decodes b as one WireGuard message. It reports false when b does not
// have the exact layout of any message type.
func Parse(b []byte) (Message, bool) {
	if len(b) < sizeTransportMin || b[1] != 0 || b[2] != 0 || b[3] != 0 {
		return Message{}, false
	}
	m := Message{Type: b[0]}
	switch b[0] {
	case typeInitiation:
		if len(b) != sizeInitiation {
			return Message{}, false
		}
		m.Sender = binary.LittleEndian.Uint32(b[4:])
	case typeResponse:
		if len(b) != sizeResponse {
			return Message{}, false
		}
		m.Sender = binary.LittleEndian.Uint32(b[4:])
		m.Receiver = binary.LittleEndian.Uint32(b[8:])
	case typeCookie:
		if len(b) != sizeCookie {
			return Message{}, false
		}
		m.Receiver = binary.LittleEndian.Uint32(b[4:])
	case typeTransport:
		if (len(b)-16)%16 != 0 {
			return Message{}, false
		}
		m.Receiver = binary.LittleEndian.Uint32(b[4:])
		m.Counter = binary.LittleEndian.Uint64(b[8:])
		// A session rekeys long before 2^32 messages in practice; a high
		// half of zero rejects most random data.
		if m.Counter>>32 != 0 {
			return Message{}, false
		}
	default:
		return Message{}, false
	}
	return m, true
}

// Dissector recognises one WireGuard flow. The zero value is ready.
type Dissector struct {
	recv    [2]uint32 // receiver index seen per direction (transport)
	nData   [2]uint8  // transport messages per direction with that index
	initSnd uint32    // sender index of an initiation, if seen
	seen    uint8
	gotInit bool
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if p.L4 != 17 {
		return dissect.NotMine
	}
	msg, ok := Parse(p.Payload)
	if !ok {
		return dissect.NotMine
	}
	d.seen++
	dir := p.Dir & 1
	switch msg.Type {
	case typeInitiation:
		d.gotInit, d.initSnd = true, msg.Sender
		return d.found(m, "WireGuard handshake initiation")
	case typeResponse:
		if d.gotInit && msg.Receiver == d.initSnd {
			return d.found(m, "WireGuard handshake response to initiation")
		}
		return d.found(m, "WireGuard handshake response")
	case typeCookie:
		// Cookie replies are rare and short of evidence on their own.
	case typeTransport:
		switch {
		case d.nData[dir] == 0:
			d.recv[dir], d.nData[dir] = msg.Receiver, 1
		case d.recv[dir] == msg.Receiver:
			if d.nData[dir] < 255 {
				d.nData[dir]++
			}
		default:
			return dissect.NotMine // a direction switched index without a handshake
		}
		if d.nData[0] >= 2 && d.nData[1] >= 2 && d.recv[0] != d.recv[1] {
			return d.found(m, "WireGuard transport indices in both directions")
		}
	}
	if d.seen >= maxUnproven {
		return dissect.NotMine
	}
	return dissect.Continue
}

func (d *Dissector) found(m *dissect.Meta, why string) dissect.Status {
	m.Proto = dissect.WireGuard
	m.Why = why
	return dissect.Done
}
