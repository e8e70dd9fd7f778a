package openvpn

import (
	"bytes"
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

// Opcodes (high five bits of the first byte).
const (
	opHardResetClientV1 = 1
	opHardResetServerV1 = 2
	opSoftResetV1       = 3
	opControlV1         = 4
	opAckV1             = 5
	opDataV1            = 6
	opHardResetClientV2 = 7
	opHardResetServerV2 = 8
	opDataV2            = 9
	opHardResetClientV3 = 10
	opControlWKCV1      = 11
)

const (
	sidLen = 8
	// echoWindow bounds where a peer's session id may appear: opcode,
	// session id, the largest HMAC (SHA-512, 64 bytes), packet id and time
	// (8), the ack count and up to 8 acked ids (33), then the remote id.
	echoWindow = 1 + sidLen + 64 + 8 + 33 + sidLen
	// maxPackets without evidence before giving up.
	maxPackets = 12
)

// Header is the part of an OpenVPN packet that has a fixed place.
type Header struct {
	Opcode  uint8
	KeyID   uint8
	Session [sidLen]byte // zero for data packets
}

// IsControl reports whether op carries a session id.
func IsControl(op uint8) bool {
	switch op {
	case opHardResetClientV1, opHardResetServerV1, opSoftResetV1, opControlV1, opAckV1,
		opHardResetClientV2, opHardResetServerV2, opHardResetClientV3, opControlWKCV1:
		return true
	}
	return false
}

// isHardReset accepts the resets a flow can start with. The V1 resets of
// OpenVPN 1.x are left out: opcode 1 is also the first byte of common
// datagrams (DHCPv6 Information-request is 0x0b), and no current peer
// sends them.
func isHardReset(op uint8) bool {
	switch op {
	case opHardResetClientV2, opHardResetServerV2, opHardResetClientV3:
		return true
	}
	return false
}

// ParseHeader decodes the opcode, key id and (for control packets) session
// id of one OpenVPN packet without a TCP length prefix.
func ParseHeader(b []byte) (Header, bool) {
	if len(b) < 1 {
		return Header{}, false
	}
	h := Header{Opcode: b[0] >> 3, KeyID: b[0] & 7}
	switch {
	case IsControl(h.Opcode):
		// A control packet has at least the session id and either an ack
		// count (P_ACK) or a packet id after it.
		if len(b) < 1+sidLen+1 {
			return Header{}, false
		}
		copy(h.Session[:], b[1:1+sidLen])
	case h.Opcode == opDataV1 || h.Opcode == opDataV2:
		if len(b) < 4 {
			return Header{}, false
		}
	default:
		return Header{}, false
	}
	return h, true
}

// Dissector recognises one OpenVPN flow. The zero value is ready.
type Dissector struct {
	sid     [2][sidLen]byte
	nCtrl   [2]uint8 // control packets per direction with the same session id
	nLater  [2]uint8 // of those, ones that are not resets (ACK, CONTROL, WKC)
	packets uint8
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	switch p.L4 {
	case 17:
		return d.packet(p.Dir&1, b, m)
	case 6:
		// Walk the length-prefixed packets this segment starts with. A
		// segment that does not start on a packet boundary is skipped after
		// the first one (the engine does not reassemble).
		st := dissect.Continue
		for n := 0; len(b) >= 2 && n < 4; n++ {
			l := int(binary.BigEndian.Uint16(b))
			if l == 0 {
				return d.reject()
			}
			if 2+l > len(b) {
				// Only the first packet of a flow must be complete, and
				// only its header is needed later on.
				if d.packets == 0 {
					// Peers send their first reset as one whole segment.
					return dissect.NotMine
				}
				return d.packet(p.Dir&1, b[2:], m)
			}
			st = d.packet(p.Dir&1, b[2:2+l], m)
			if st != dissect.Continue {
				return st
			}
			b = b[2+l:]
		}
		if len(b) == 1 {
			return d.reject()
		}
		return st
	}
	return dissect.NotMine
}

func (d *Dissector) reject() dissect.Status {
	if d.packets == 0 {
		return dissect.NotMine
	}
	return d.wait()
}

func (d *Dissector) wait() dissect.Status {
	if d.packets >= maxPackets {
		return dissect.NotMine
	}
	return dissect.Continue
}

func (d *Dissector) packet(dir dissect.Dir, b []byte, m *dissect.Meta) dissect.Status {
	h, ok := ParseHeader(b)
	first := d.packets == 0
	if d.packets < 255 {
		d.packets++
	}
	if !ok {
		if first {
			return dissect.NotMine
		}
		return d.wait()
	}
	if first && !isHardReset(h.Opcode) {
		return dissect.NotMine
	}
	if !IsControl(h.Opcode) {
		return d.wait()
	}
	other := 1 - dir
	if d.nCtrl[dir] == 0 {
		d.sid[dir], d.nCtrl[dir] = h.Session, 1
	} else if d.sid[dir] == h.Session {
		d.nCtrl[dir]++
		if !isHardReset(h.Opcode) && h.Opcode != opHardResetClientV1 && h.Opcode != opHardResetServerV1 {
			d.nLater[dir]++
		}
	} else {
		// Not this session (a segment that does not start on a packet
		// boundary, or a stray packet): no evidence either way.
		return d.wait()
	}
	// The peer acknowledging our session id.
	if d.nCtrl[other] > 0 && h.Session != d.sid[other] {
		w := b[1+sidLen:]
		if len(w) > echoWindow {
			w = w[:echoWindow]
		}
		if bytes.Contains(w, d.sid[other][:]) {
			return found(m, "OpenVPN reset reply echoes session id")
		}
	}
	// Repeats count only when the session moved on from its reset: a
	// retransmitted or periodically repeated datagram is not evidence.
	if d.nLater[dir] >= 2 || (d.nLater[dir] >= 1 && d.nLater[other] >= 1) {
		return found(m, "OpenVPN control session id repeated")
	}
	return d.wait()
}

func found(m *dissect.Meta, why string) dissect.Status {
	m.Proto = dissect.OpenVPN
	m.Why = why
	return dissect.Done
}
