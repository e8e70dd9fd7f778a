package apps

import (
	"bytes"

	"github.com/weirnet/weir/internal/dissect"
)

// Dropbox recognises Dropbox LAN sync discovery. The zero value is ready.
type Dropbox struct{}

// Reset implements dissect.Dissector.
func (*Dropbox) Reset() {}

// Feed implements dissect.Dissector. One datagram decides.
func (*Dropbox) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := bytes.TrimRight(p.Payload, "\r\n ")
	if p.L4 != 17 || len(b) < 32 || b[0] != '{' || b[len(b)-1] != '}' {
		return dissect.NotMine
	}
	if !bytes.Contains(b, []byte(`"host_int":`)) || !bytes.Contains(b, []byte(`"namespaces":`)) {
		return dissect.NotMine
	}
	m.Proto, m.AppHint, m.Why = dissect.Dropbox, "dropbox", "Dropbox LAN sync discovery"
	return dissect.Done
}

// Spotify recognises Spotify's LAN discovery. The zero value is ready.
type Spotify struct{}

// Reset implements dissect.Dissector.
func (*Spotify) Reset() {}

// Feed implements dissect.Dissector. One datagram decides.
func (*Spotify) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if p.L4 != 17 || !bytes.HasPrefix(p.Payload, []byte("SpotUdp0")) || len(p.Payload) < 24 {
		return dissect.NotMine
	}
	m.Proto, m.AppHint, m.Why = dissect.Spotify, "spotify", "Spotify LAN discovery"
	return dissect.Done
}
