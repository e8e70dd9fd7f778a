package lan

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

// NetBIOS recognises NetBIOS over TCP/IP (RFC 1001/1002): the name
// service (UDP 137), the datagram service (UDP 138) and the session
// service (TCP 139, and the same framing on 445). Encoded names must be
// exact (32 characters 'A'..'P'). SMBv1 carried inside ("\xffSMB") keeps
// Proto NetBIOS with AppHint "smbv1", as nDPI names it NetBIOS.SMBv1;
// SMB2/3 ("\xfeSMB", "\xfdSMB") in a session message gives Proto SMB.
// Host is the name asked for (name service), the sending name (datagram
// service) or the called name (session request), lower-cased with
// padding removed.
type NetBIOS struct {
	waits uint8 // session-service packets seen without evidence
}

// Reset implements dissect.Dissector.
func (d *NetBIOS) Reset() { *d = NetBIOS{} }

// maxSessionWaits bounds the keep-alives and session responses accepted
// before evidence arrives.
const maxSessionWaits = 4

// Feed implements dissect.Dissector.
func (d *NetBIOS) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	switch p.L4 {
	case 17:
		var name nbName
		switch {
		case nameService(b, &name):
			m.Why = "NetBIOS name service"
		case datagramService(b, &name):
			m.Why = "NetBIOS datagram service"
			if smb := dgmUserData(b); len(smb) >= 4 && string(smb[:4]) == "\xffSMB" {
				m.AppHint = "smbv1"
			}
		default:
			return dissect.NotMine
		}
		m.Proto = dissect.NetBIOS
		m.Host = name.host()
		return dissect.Done
	case 6:
		return d.session(b, m)
	}
	return dissect.NotMine
}

// session reads the 4-byte session header (type, flags, 17-bit length).
func (d *NetBIOS) session(b []byte, m *dissect.Meta) dissect.Status {
	if len(b) < 4 || b[1]&0xfe != 0 {
		return dissect.NotMine
	}
	l := int(binary.BigEndian.Uint16(b[2:])) | int(b[1]&1)<<16
	switch b[0] {
	case 0x00: // session message
		if len(b) < 8 || l < 4 {
			return dissect.NotMine
		}
		switch string(b[4:8]) {
		case "\xffSMB":
			m.Proto, m.AppHint, m.Why = dissect.NetBIOS, "smbv1", "SMBv1 in NetBIOS session"
		case "\xfeSMB", "\xfdSMB":
			m.Proto, m.Why = dissect.SMB, "SMB2 in NetBIOS session"
		default:
			return dissect.NotMine
		}
		return dissect.Done
	case 0x81: // session request: called and calling names
		var called, calling nbName
		n1 := readNBName(b[4:], &called)
		if n1 <= 0 || l != len(b)-4 || readNBName(b[4+n1:], &calling) != len(b)-4-n1 {
			return dissect.NotMine
		}
		m.Proto, m.Why, m.Host = dissect.NetBIOS, "NetBIOS session request", called.host()
		return dissect.Done
	case 0x82, 0x85: // positive response, keep-alive: no payload
		if l != 0 || len(b) != 4 {
			return dissect.NotMine
		}
	case 0x83: // negative response: one error code
		if l != 1 || len(b) != 5 || b[4] < 0x80 || b[4] > 0x8f {
			return dissect.NotMine
		}
	default:
		return dissect.NotMine
	}
	if d.waits++; d.waits > maxSessionWaits {
		return dissect.NotMine
	}
	return dissect.Continue
}

// nameService checks a name-service packet (RFC 1002 4.2) and decodes its
// question or answer name.
func nameService(b []byte, name *nbName) bool {
	if len(b) < 12+34+4 {
		return false
	}
	flags := binary.BigEndian.Uint16(b[2:])
	qd, an := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	ns, ar := binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	switch flags >> 11 & 0xf {
	case 0, 5, 6, 7, 8, 9: // query, registration, release, WACK, refresh
	default:
		return false
	}
	if flags&0x0060 != 0 || ns != 0 || ar > 1 || !(qd == 1 && an == 0 || qd == 0 && an == 1) {
		return false
	}
	n := readNBName(b[12:], name)
	if n <= 0 || 12+n+4 > len(b) {
		return false
	}
	t, c := binary.BigEndian.Uint16(b[12+n:]), binary.BigEndian.Uint16(b[14+n:])
	return (t == 0x20 || t == 0x21) && c == 1
}

// datagramService checks a datagram-service header (RFC 1002 4.4).
func datagramService(b []byte, name *nbName) bool {
	if len(b) < 11 || b[1]&0xf0 != 0 {
		return false
	}
	switch b[0] {
	case 0x10, 0x11, 0x12: // direct unique, direct group, broadcast
		if len(b) < 14+34+34 {
			return false
		}
		// DGM_LENGTH counts the names and user data; a datagram may be
		// cut short by capture but never longer than declared.
		if dl := int(binary.BigEndian.Uint16(b[10:])); dl < 68 || dl > len(b)-14 {
			return false
		}
		n := readNBName(b[14:], name)
		var dst nbName
		return n > 0 && readNBName(b[14+n:], &dst) > 0
	case 0x14, 0x15, 0x16: // query request, positive, negative response
		return readNBName(b[10:], name) == len(b)-10
	}
	return false
}

// dgmUserData returns the user data of a direct or broadcast datagram.
func dgmUserData(b []byte) []byte {
	if len(b) < 14 || b[0] < 0x10 || b[0] > 0x12 {
		return nil
	}
	var a, c nbName
	n := readNBName(b[14:], &a)
	if n <= 0 {
		return nil
	}
	n2 := readNBName(b[14+n:], &c)
	if n2 <= 0 {
		return nil
	}
	return b[14+n+n2:]
}

// nbName is a decoded first-level-encoded NetBIOS name.
type nbName struct {
	raw [16]byte
}

// readNBName decodes a 32-character encoded name plus optional scope
// labels and the terminating zero, returning the bytes used or -1.
func readNBName(b []byte, name *nbName) int {
	if len(b) < 34 || b[0] != 0x20 {
		return -1
	}
	for i := 0; i < 16; i++ {
		hi, lo := b[1+2*i]-'A', b[2+2*i]-'A'
		if hi > 15 || lo > 15 {
			return -1
		}
		name.raw[i] = hi<<4 | lo
	}
	off := 33
	for labels := 0; ; labels++ {
		if off >= len(b) || labels > 16 {
			return -1
		}
		l := int(b[off])
		if l == 0 {
			return off + 1
		}
		if l > 63 || off+1+l > len(b) {
			return -1
		}
		off += 1 + l
	}
}

// host returns the 15-character name without padding, lower-cased, with
// unusual bytes escaped; "" for the wildcard "*".
func (n *nbName) host() string {
	b := n.raw[:15]
	end := len(b)
	for end > 0 && (b[end-1] == ' ' || b[end-1] == 0) {
		end--
	}
	b = b[:end]
	if len(b) == 0 || b[0] == '*' {
		return ""
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		case c > ' ' && c < 0x7f && c != '\\':
			out = append(out, c)
		default:
			out = append(out, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		}
	}
	return string(out)
}
