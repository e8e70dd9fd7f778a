package apps

import (
	"github.com/weirnet/weir/internal/dissect"
)

const (
	zoomHello      = 1 // client hello, 16-byte id at offset 3
	zoomHelloReply = 2 // echoes the id
	zoomPing       = 3 // 12 bytes after the type are echoed by type 4
	zoomPong       = 4
	zoomMedia      = 5

	zoomIDOff, zoomIDLen     = 3, 16
	zoomPingOff, zoomPingLen = 1, 12
	maxZoomPackets           = 12
)

// Zoom recognises Zoom's own UDP transport. The zero value is ready.
type Zoom struct {
	hello, ping       [16]byte
	helloDir, pingDir dissect.Dir
	gotHello, gotPing bool
	packets           uint8
}

// Reset implements dissect.Dissector.
func (z *Zoom) Reset() { *z = Zoom{} }

// Feed implements dissect.Dissector.
func (z *Zoom) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if p.L4 != 17 || len(b) < zoomPingOff+zoomPingLen {
		return dissect.NotMine
	}
	z.packets++
	dir := p.Dir & 1
	switch b[0] {
	case zoomHello:
		if len(b) >= 40 {
			copy(z.hello[:], b[zoomIDOff:zoomIDOff+zoomIDLen])
			z.helloDir, z.gotHello = dir, true
		}
	case zoomHelloReply:
		if z.gotHello && dir != z.helloDir && len(b) >= zoomIDOff+zoomIDLen &&
			string(b[zoomIDOff:zoomIDOff+zoomIDLen]) == string(z.hello[:]) {
			return zoomFound(m, "Zoom hello answered with its id")
		}
	case zoomPing:
		copy(z.ping[:zoomPingLen], b[zoomPingOff:zoomPingOff+zoomPingLen])
		z.pingDir, z.gotPing = dir, true
	case zoomPong:
		if z.gotPing && dir != z.pingDir && string(b[zoomPingOff:zoomPingOff+zoomPingLen]) == string(z.ping[:zoomPingLen]) {
			return zoomFound(m, "Zoom keepalive echoed")
		}
	case zoomMedia:
	default:
		if z.packets == 1 {
			return dissect.NotMine
		}
	}
	if z.packets >= maxZoomPackets {
		return dissect.NotMine
	}
	return dissect.Continue
}

func zoomFound(m *dissect.Meta, why string) dissect.Status {
	m.Proto, m.AppHint, m.Why = dissect.Zoom, "zoom", why
	return dissect.Done
}
