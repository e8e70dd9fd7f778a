package apps

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/aesblock"
)

// MTProto transport tags (https://core.telegram.org/mtproto/mtproto-transports).
const (
	tagAbridged     = 0xefefefef
	tagIntermediate = 0xeeeeeeee
	tagPadded       = 0xdddddddd

	obfInitLen = 64

	// Reflector constructors (little-endian on the wire).
	reflectorRequest  = 0xfffffffe
	reflectorSelfInfo = 0xc01572c7
	reflectorPeerInfo = 0x27d9371c
	reflectorHeader   = 32 // 16-byte peer tag, 12 x 0xff, constructor

	maxTelegramUDP = 4
)

// Telegram recognises Telegram's MTProto transports and voice reflector
// traffic. The zero value is ready.
type Telegram struct {
	packets uint8
}

// Reset implements dissect.Dissector.
func (t *Telegram) Reset() { *t = Telegram{} }

// Feed implements dissect.Dissector.
func (t *Telegram) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	t.packets++
	b := p.Payload
	switch p.L4 {
	case 17:
		if reflector(b) {
			return telegramFound(m, "Telegram reflector packet")
		}
		if t.packets >= maxTelegramUDP {
			return dissect.NotMine
		}
		return dissect.Continue
	case 6:
		// The transport is chosen by the client's first bytes; a flow whose
		// first payload is not one of them is not MTProto.
		if p.Dir != dissect.ToServer || t.packets > 1 {
			return dissect.NotMine
		}
		if why := mtprotoTCP(b); why != "" {
			return telegramFound(m, why)
		}
	}
	return dissect.NotMine
}

func telegramFound(m *dissect.Meta, why string) dissect.Status {
	m.Proto, m.AppHint, m.Why = dissect.Telegram, "telegram", why
	return dissect.Done
}

func reflector(b []byte) bool {
	if len(b) < reflectorHeader {
		return false
	}
	for _, c := range b[16:28] {
		if c != 0xff {
			return false
		}
	}
	switch binary.LittleEndian.Uint32(b[28:]) {
	case reflectorRequest, reflectorSelfInfo, reflectorPeerInfo:
		return true
	}
	return false
}

// mtprotoTCP checks the client's first TCP payload.
func mtprotoTCP(b []byte) string {
	if len(b) >= 4 {
		switch binary.LittleEndian.Uint32(b) {
		case tagIntermediate:
			if firstMessage(b[4:], false) {
				return "MTProto intermediate transport"
			}
			return ""
		case tagPadded:
			if firstMessage(b[4:], true) {
				return "MTProto padded intermediate transport"
			}
			return ""
		}
	}
	if len(b) >= 2 && b[0] == 0xef {
		// Abridged: one length byte in 4-byte words (0x7f: 3 more bytes).
		n, off := int(b[1])*4, 2
		if b[1] == 0x7f {
			if len(b) < 5 {
				return ""
			}
			n, off = int(uint32(b[2])|uint32(b[3])<<8|uint32(b[4])<<16)*4, 5
		}
		if unencrypted(b[off:], n) {
			return "MTProto abridged transport"
		}
		return ""
	}
	if fullTransport(b) {
		return "MTProto full transport"
	}
	if obfuscated2(b) {
		return "MTProto obfuscated transport"
	}
	return ""
}

// firstMessage: 4-byte length, then an unencrypted message; the padded
// variant may add up to 15 random bytes that the length includes.
func firstMessage(b []byte, padded bool) bool {
	if len(b) < 4 {
		return false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if !padded && n%4 != 0 {
		return false
	}
	return unencrypted(b[4:], n)
}

// unencrypted checks the first message of a session: auth_key_id 0, a
// message id, and a body length that fits the declared packet length n.
func unencrypted(b []byte, n int) bool {
	if n < 20+4 || n > 1<<20 || len(b) < 20 {
		return false
	}
	if binary.LittleEndian.Uint64(b) != 0 {
		return false
	}
	body := int(binary.LittleEndian.Uint32(b[16:]))
	return body > 0 && body%4 == 0 && 20+body <= n && n-(20+body) < 16
}

// fullTransport: length (including itself, seqno and CRC), seqno 0, payload,
// CRC-32 over everything before it.
func fullTransport(b []byte) bool {
	if len(b) < 12+20 {
		return false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 32 || n > len(b) || n%4 != 0 || binary.LittleEndian.Uint32(b[4:]) != 0 {
		return false
	}
	return crc32.ChecksumIEEE(b[:n-4]) == binary.LittleEndian.Uint32(b[n-4:])
}

// obfuscated2 decrypts bytes 56-59 of the 64-byte init with the key (8-39)
// and IV (40-55) it carries; the result must be a transport tag. The client
// never starts the init with bytes that look like another transport or HTTP.
func obfuscated2(b []byte) bool {
	if len(b) < obfInitLen || b[0] == 0xef || binary.LittleEndian.Uint32(b[4:]) == 0 {
		return false
	}
	// Cheap filters before the AES work: a TLS record header or a text
	// protocol's first word. Real inits start that way with odds of about
	// 1/65536 and 1/600, a price worth not running AES on every TLS flow.
	if b[0] == 0x16 && b[1] == 0x03 || letters(b[:4]) {
		return false
	}
	switch string(b[:4]) {
	case "HEAD", "POST", "GET ", "OPTI", "\x16\x03\x01\x02", "\xee\xee\xee\xee", "\xdd\xdd\xdd\xdd":
		return false
	}
	var key [32]byte
	var ctr [16]byte
	copy(key[:], b[8:40])
	copy(ctr[:], b[40:56])
	// Bytes 56-59 sit in keystream block 3: counter = IV + 3 (big-endian).
	carry := uint16(3)
	for i := 15; i >= 0 && carry != 0; i-- {
		s := uint16(ctr[i]) + carry
		ctr[i], carry = byte(s), s>>8
	}
	aesblock.Encrypt256(&key, &ctr)
	tag := binary.LittleEndian.Uint32(b[56:]) ^ binary.LittleEndian.Uint32(ctr[8:])
	return tag == tagAbridged || tag == tagIntermediate || tag == tagPadded
}

func letters(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}
