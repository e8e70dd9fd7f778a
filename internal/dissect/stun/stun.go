package stun

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

const (
	headerLen   = 20
	magicCookie = 0x2112A442
	fpXOR       = 0x5354554e // RFC 5389 §15.5

	attrRealm       = 0x0014
	attrSoftware    = 0x8022
	attrFingerprint = 0x8028

	// maxPackets bounds how long an identified flow is fed for app hints,
	// and how long an unidentified one is given.
	maxPackets = 10
	// maxAttrs bounds the attribute walk.
	maxAttrs = 64
)

// Message is what Parse learned from one STUN message.
type Message struct {
	Type    uint16
	Length  int  // attribute bytes after the header
	Classic bool // RFC 3489: no magic cookie
	Attrs   int  // attributes walked
	// Complete is false when a TCP segment held only the message's start.
	Complete bool
	// KnownAttrs reports that every attribute type is one a STUN RFC
	// defines (used to accept classic STUN on a single message).
	KnownAttrs  bool
	App         string // app hint from an attribute, "" if none
	HintWhy     string
	Fingerprint bool // a FINGERPRINT attribute was present and correct
	// Realm is the REALM attribute (the TURN server's domain), aliasing
	// the input; nil if absent.
	Realm []byte
}

// Parse decodes one STUN message at the start of b. With partial set, a
// message longer than b is accepted as far as it goes (a TCP segment
// boundary). It returns the message and its total size.
func Parse(b []byte, partial bool) (Message, int, bool) {
	if len(b) < headerLen || b[0]&0xc0 != 0 {
		return Message{}, 0, false
	}
	m := Message{Type: binary.BigEndian.Uint16(b), Length: int(binary.BigEndian.Uint16(b[2:]))}
	// The length is a multiple of 4 in RFC 5389; MS-TURN and WhatsApp leave
	// the last attribute unpadded, which the walk below allows.
	m.Classic = binary.BigEndian.Uint32(b[4:]) != magicCookie
	if m.Classic && !classicType(m.Type) {
		return Message{}, 0, false
	}
	if !m.Classic && !modernType(m.Type) {
		return Message{}, 0, false
	}
	total := headerLen + m.Length
	m.Complete = total <= len(b)
	if !partial && total != len(b) {
		return Message{}, 0, false
	}
	// RFC 5389 pads every attribute to 4 bytes; MS-TURN pads none, and
	// WhatsApp leaves the last one unpadded. Try the padded walk first.
	base := m
	if !m.walk(b, total, true) {
		if m.Classic {
			return Message{}, 0, false
		}
		m = base
		if !m.walk(b, total, false) {
			return Message{}, 0, false
		}
	}
	if !m.Classic && m.Type >= 0x0800 && m.Type <= 0x0805 {
		m.setApp("whatsapp", "STUN message type 0x08xx (WhatsApp)")
	}
	return m, total, true
}

// walk checks the attribute chain up to total (or the end of a partial b).
func (m *Message) walk(b []byte, total int, pad bool) bool {
	end := min(total, len(b))
	m.KnownAttrs = true
	off := headerLen
	for off < end {
		if off+4 > end {
			if m.Complete {
				return false
			}
			break
		}
		typ := binary.BigEndian.Uint16(b[off:])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		next := off + 4 + l
		if pad {
			next = off + 4 + (l+3)&^3
		}
		if m.Attrs++; m.Attrs > maxAttrs {
			return false
		}
		if next > total {
			if off+4+l != total { // only the last attribute may lack padding
				return false
			}
			next = total
		}
		if off+4+l <= len(b) {
			m.attr(typ, b[off+4:off+4+l])
		}
		if typ == attrFingerprint {
			if l != 4 || next != total {
				return false
			}
			if m.Complete {
				// The CRC covers the message up to the attribute, with the
				// header length already counting it.
				want := crc32.ChecksumIEEE(b[:off]) ^ fpXOR
				if binary.BigEndian.Uint32(b[off+4:]) != want {
					return false
				}
				m.Fingerprint = true
			}
		}
		if !knownAttr(typ, m.Classic) {
			m.KnownAttrs = false
		}
		off = next
	}
	return !m.Complete || off == total
}

// classicType: Binding and Shared Secret request/response/error (RFC 3489).
func classicType(t uint16) bool {
	switch t {
	case 0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112:
		return true
	}
	return false
}

// modernType accepts the methods that STUN and TURN define (Binding 1 to
// ConnectionAttempt 0xc) in any class, and WhatsApp's 0x0800-0x0805.
func modernType(t uint16) bool {
	method := t&0x000f | (t&0x00e0)>>1 | (t&0x3e00)>>2
	return method >= 1 && method <= 0x00c || t >= 0x0800 && t <= 0x0805
}

func knownAttr(t uint16, classic bool) bool {
	if t >= 0x0001 && t <= 0x000b {
		return true
	}
	if classic {
		return false
	}
	switch {
	case t >= 0x000c && t <= 0x0026, t >= 0x8000 && t <= 0x80ff, t >= 0xc000:
		return true
	}
	return false
}

func (m *Message) setApp(app, why string) {
	if m.App == "" {
		m.App, m.HintWhy = app, why
	}
}

// attr looks at one attribute value for an app hint.
func (m *Message) attr(t uint16, v []byte) {
	switch {
	case t >= 0x4000 && t <= 0x4007 && !m.Classic:
		m.setApp("whatsapp", "STUN WhatsApp attribute 0x40xx")
	case t == 0x8008:
		m.setApp("teams", "STUN MS-VERSION attribute")
	case t == 0x8050:
		m.setApp("teams", "STUN MS-SEQUENCE-NUMBER attribute")
	case t == 0x8055:
		m.setApp("teams", "STUN MS-SERVICE-QUALITY attribute")
	case t == 0x8070:
		m.setApp("teams", "STUN MS-IMPLEMENTATION-VERSION attribute")
	case t == attrRealm:
		if m.Realm == nil {
			m.Realm = bytes.TrimRight(v, "\x00")
		}
		switch {
		case containsFold(v, "facebook"):
			m.setApp("facebook-messenger", "STUN REALM names Facebook")
		case hasSuffixFold(v, "google.com"):
			m.setApp("googlemeet", "STUN REALM names Google TURN")
		}
	case t == attrSoftware:
		for _, s := range softwareApps {
			if containsFold(v, s.name) {
				m.setApp(s.app, s.why)
				break
			}
		}
	}
}

var softwareApps = [...]struct{ name, app, why string }{
	{"whatsapp", "whatsapp", "STUN SOFTWARE names WhatsApp"},
	{"telegram", "telegram", "STUN SOFTWARE names Telegram"},
	{"zoom", "zoom", "STUN SOFTWARE names Zoom"},
	{"signal", "signal", "STUN SOFTWARE names Signal"},
}

// containsFold reports whether v contains the lower-case ASCII word s,
// ignoring case, without allocating.
func containsFold(v []byte, s string) bool {
	for i := 0; i+len(s) <= len(v); i++ {
		if eqFold(v[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func hasSuffixFold(v []byte, s string) bool {
	v = bytes.TrimRight(v, "\x00")
	return len(v) >= len(s) && eqFold(v[len(v)-len(s):], s)
}

func eqFold(v []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Dissector recognises one STUN flow. The zero value is ready.
type Dissector struct {
	txid    [2][16]byte // first classic transaction id per direction
	haveTx  [2]bool
	packets uint8
	found   bool
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if p.L4 != 6 && p.L4 != 17 {
		return dissect.NotMine
	}
	if d.packets < 255 {
		d.packets++
	}
	b := p.Payload
	if p.L4 == 17 {
		if msg, _, ok := Parse(b, false); ok {
			d.message(p.Dir&1, b, msg, m)
		} else if !d.found && d.packets == 1 {
			return dissect.NotMine
		}
	} else {
		d.tcp(p.Dir&1, b, m)
	}
	return d.status(m)
}

func (d *Dissector) status(m *dissect.Meta) dissect.Status {
	switch {
	case d.found && (m.AppHint != "" || d.packets >= maxPackets):
		return dissect.Done
	case d.found:
		return dissect.Identified
	case d.packets >= maxPackets:
		return dissect.NotMine
	}
	return dissect.Continue
}

// tcp walks the messages a segment starts with: plain STUN, RFC 4571
// framed STUN, or TURN ChannelData (4-byte aligned over TCP).
func (d *Dissector) tcp(dir dissect.Dir, b []byte, m *dissect.Meta) {
	for n := 0; len(b) >= 4 && n < 16; n++ {
		if msg, size, ok := Parse(b, true); ok {
			d.message(dir, b, msg, m)
			if size >= len(b) {
				return
			}
			b = b[size:]
			continue
		}
		l := int(binary.BigEndian.Uint16(b[2:]))
		if ch := binary.BigEndian.Uint16(b); d.found && ch >= 0x4000 && ch <= 0x7fff {
			b = b[min(len(b), 4+(l+3)&^3):]
			continue
		}
		// RFC 4571: 2-byte length, then one STUN message of that size.
		l = int(binary.BigEndian.Uint16(b))
		if msg, size, ok := Parse(b[2:], true); ok && size == l {
			d.message(dir, b[2:], msg, m)
			b = b[min(len(b), 2+l):]
			continue
		}
		return
	}
}

func (d *Dissector) message(dir dissect.Dir, b []byte, msg Message, m *dissect.Meta) {
	if !d.found {
		switch {
		case !msg.Classic:
			d.found = true
			m.Why = "STUN message with magic cookie"
		case msg.Complete && msg.Attrs > 0 && msg.KnownAttrs:
			d.found = true
			m.Why = "classic STUN message with RFC 3489 attributes"
		default:
			var tx [16]byte
			copy(tx[:], b[4:headerLen])
			other := 1 - dir
			if d.haveTx[other] && d.txid[other] == tx {
				d.found = true
				m.Why = "classic STUN transaction answered"
			} else if !d.haveTx[dir] {
				d.txid[dir], d.haveTx[dir] = tx, true
			}
		}
		if d.found {
			m.Proto = dissect.STUN
		}
	}
	if d.found && m.Host == "" && validRealm(msg.Realm) {
		// A TURN realm is the relay operator's domain: the server name
		// this flow talks to.
		m.Host = intern.Lower(msg.Realm)
	}
	if d.found && msg.App != "" && m.AppHint == "" {
		m.AppHint = msg.App
		m.Why = msg.HintWhy
	}
}

// validRealm accepts realms that look like a domain name (letters, digits,
// '-', '.'), so arbitrary bytes never become a host.
func validRealm(r []byte) bool {
	if len(r) == 0 || len(r) > 253 {
		return false
	}
	for _, c := range r {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
