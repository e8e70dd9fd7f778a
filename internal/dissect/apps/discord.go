package apps

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

// Discord voice IP discovery: type(2) length(2)=70 SSRC(4) address(64,
// NUL-padded) port(2).
const (
	discordLen     = 74
	discordBodyLen = 70
	discordReq     = 1
	discordResp    = 2
)

// Discord recognises Discord's voice IP discovery. The zero value is ready.
type Discord struct {
	packets uint8
}

// Reset implements dissect.Dissector.
func (d *Discord) Reset() { *d = Discord{} }

// Feed implements dissect.Dissector. Discovery is the first exchange of a
// voice flow, so the first packet must be it.
func (d *Discord) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	d.packets++
	b := p.Payload
	if p.L4 != 17 || len(b) != discordLen || d.packets > 2 || binary.BigEndian.Uint16(b[2:]) != discordBodyLen {
		return dissect.NotMine
	}
	addr := b[8:72]
	switch binary.BigEndian.Uint16(b) {
	case discordReq:
		for _, c := range addr {
			if c != 0 {
				return dissect.NotMine
			}
		}
		m.Why = "Discord IP discovery request"
	case discordResp:
		// A dotted or colon address, then NUL padding.
		n := 0
		for n < len(addr) && addr[n] != 0 {
			if c := addr[n]; !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f') {
				return dissect.NotMine
			}
			n++
		}
		if n < 2 {
			return dissect.NotMine
		}
		for _, c := range addr[n:] {
			if c != 0 {
				return dissect.NotMine
			}
		}
		m.Why = "Discord IP discovery response"
	default:
		return dissect.NotMine
	}
	m.Proto, m.AppHint = dissect.Discord, "discord"
	return dissect.Done
}
