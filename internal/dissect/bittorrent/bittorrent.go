package bittorrent

import (
	"bytes"
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

const (
	handshakePrefix = "\x13BitTorrent protocol"
	handshakeLen    = 68
	lsdPrefix       = "BT-SEARCH * HTTP/1.1\r\n"
	trackerMagic    = 0x41727101980

	utpHeaderLen = 20
	utpSyn       = 4
	utpState     = 2

	// maxPackets without evidence before giving up. Encrypted (MSE) peers
	// send their plaintext handshake only after a few packets, if at all.
	maxPackets = 12
)

// UTPHeader is the fixed uTP header (BEP 29).
type UTPHeader struct {
	Type   uint8
	ConnID uint16
	Seq    uint16
	Ack    uint16
}

// ParseUTP decodes a uTP header and walks its extension chain; it reports
// false unless the version is 1, the type is 0-4 and the chain fits.
func ParseUTP(b []byte) (UTPHeader, bool) {
	if len(b) < utpHeaderLen || b[0]&0x0f != 1 || b[0]>>4 > 4 {
		return UTPHeader{}, false
	}
	h := UTPHeader{
		Type:   b[0] >> 4,
		ConnID: binary.BigEndian.Uint16(b[2:]),
		Seq:    binary.BigEndian.Uint16(b[16:]),
		Ack:    binary.BigEndian.Uint16(b[18:]),
	}
	next, off := b[1], utpHeaderLen
	for n := 0; next != 0; n++ {
		// Known extensions are 1 (selective ack) and 2 (extension bits);
		// allow a few more but not an unbounded chain.
		if next > 4 || n > 4 || off+2 > len(b) {
			return UTPHeader{}, false
		}
		l := int(b[off+1])
		if l == 0 || off+2+l > len(b) {
			return UTPHeader{}, false
		}
		next = b[off]
		off += 2 + l
	}
	// SYN and STATE carry no payload.
	if (h.Type == utpSyn || h.Type == utpState) && off != len(b) {
		return UTPHeader{}, false
	}
	return h, true
}

// Dissector recognises one BitTorrent flow. The zero value is ready.
type Dissector struct {
	synConn, synSeq uint16
	utpConn         [2]uint16
	utpN            [2]uint8
	gotSyn          bool
	synDir          dissect.Dir
	packets         uint8
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	d.packets++
	switch p.L4 {
	case 6:
		if bytes.HasPrefix(p.Payload, []byte(handshakePrefix)) && len(p.Payload) >= handshakeLen-20 {
			return found(m, "BitTorrent handshake")
		}
	case 17:
		return d.udp(p, m)
	default:
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

func (d *Dissector) udp(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if len(b) > 0 && b[0] == 'd' {
		if _, ok := ParseDHT(b); ok {
			return found(m, "BitTorrent DHT message")
		}
	}
	if len(b) == 16 && binary.BigEndian.Uint64(b) == trackerMagic && binary.BigEndian.Uint32(b[8:]) == 0 {
		return found(m, "BitTorrent UDP tracker connect")
	}
	if bytes.HasPrefix(b, []byte(lsdPrefix)) {
		return found(m, "BitTorrent local service discovery")
	}
	h, ok := ParseUTP(b)
	if !ok {
		if d.utpN[0]+d.utpN[1] == 0 && d.packets > 3 {
			return dissect.NotMine
		}
		return d.wait()
	}
	dir := p.Dir & 1
	if h.Type == utpSyn {
		d.gotSyn, d.synDir, d.synConn, d.synSeq = true, dir, h.ConnID, h.Seq
	} else if h.Type == utpState && d.gotSyn && dir != d.synDir && h.ConnID == d.synConn && h.Ack == d.synSeq {
		return found(m, "uTP SYN acknowledged")
	}
	switch {
	case h.Type == utpSyn:
		// The SYN uses the receive id; data then flows on id+1.
	case d.utpN[dir] == 0:
		d.utpConn[dir], d.utpN[dir] = h.ConnID, 1
	case d.utpConn[dir] == h.ConnID:
		if d.utpN[dir] < 255 {
			d.utpN[dir]++
		}
	}
	// After the handshake the initiator sends with conn_id+1 and the
	// responder with conn_id: both directions settle one apart.
	if d.utpN[0] >= 2 && d.utpN[1] >= 2 {
		if diff := d.utpConn[0] - d.utpConn[1]; diff == 1 || diff == 0xffff {
			return found(m, "uTP connection ids in both directions")
		}
	}
	return d.wait()
}

func found(m *dissect.Meta, why string) dissect.Status {
	m.Proto = dissect.BitTorrent
	m.Why = why
	return dissect.Done
}
