package apps

import (
	"bytes"

	"github.com/weirnet/weir/internal/dissect"
)

// WhatsApp recognises WhatsApp's chat protocol. The zero value is ready.
type WhatsApp struct {
	client uint8 // client payloads seen
}

// maxWAClient is how many client segments may precede the prologue: the
// 4-byte "ED" segment is sometimes captured after the routing header.
const maxWAClient = 3

// Reset implements dissect.Dissector.
func (w *WhatsApp) Reset() { *w = WhatsApp{} }

// Feed implements dissect.Dissector.
func (w *WhatsApp) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if p.L4 != 6 {
		return dissect.NotMine
	}
	if p.Dir != dissect.ToServer {
		if w.client == 0 {
			return dissect.NotMine // the client speaks first
		}
		return dissect.Continue
	}
	b := p.Payload
	if len(b) == 0 {
		return dissect.Continue
	}
	w.client++
	if why := waPrologue(b); why != "" {
		m.Proto, m.AppHint, m.Why = dissect.WhatsApp, "whatsapp", why
		return dissect.Done
	}
	if w.client == 1 && b[0] != 'E' && b[0] != 'W' && b[0] != 0 {
		return dissect.NotMine
	}
	if w.client >= maxWAClient {
		return dissect.NotMine
	}
	return dissect.Continue
}

func waPrologue(b []byte) string {
	if bytes.HasPrefix(b, []byte("ED\x00\x01")) {
		return "WhatsApp ED prologue"
	}
	if waVersion(b) {
		return "WhatsApp WA prologue"
	}
	// Routing header: 3-byte length, its bytes, then the WA prologue.
	if len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] > 0 && b[2] <= 64 {
		if n := 3 + int(b[2]); len(b) >= n && waVersion(b[n:]) {
			return "WhatsApp routing header and WA prologue"
		}
	}
	return ""
}

// waVersion: "WA", a major version 1-9 and a minor below 16.
func waVersion(b []byte) bool {
	return len(b) >= 4 && b[0] == 'W' && b[1] == 'A' && b[2] >= 1 && b[2] <= 9 && b[3] < 16
}
