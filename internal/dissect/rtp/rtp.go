package rtp

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
)

const (
	headerLen = 12
	// inARow is how many consecutive packets of one stream identify RTP.
	inARow = 3
	// maxSeqStep tolerates a few lost packets between two we see.
	maxSeqStep = 16
	// maxPackets without evidence; maxMisses without any RTP-shaped packet.
	maxPackets = 24
	maxMisses  = 3
)

// Header is the fixed part of an RTP header.
type Header struct {
	PT     uint8
	Marker bool
	Seq    uint16
	TS     uint32
	SSRC   uint32
	// PayloadOffset is where the payload starts (after CSRCs and extension).
	PayloadOffset int
}

// ParseRTP decodes an RTP header and checks that CSRCs, the extension and
// padding fit in b.
func ParseRTP(b []byte) (Header, bool) {
	if len(b) < headerLen || b[0]>>6 != 2 {
		return Header{}, false
	}
	pt := b[1] & 0x7f
	if pt >= 72 && pt <= 76 { // RTCP SR..APP with the marker bit (RFC 5761)
		return Header{}, false
	}
	h := Header{PT: pt, Marker: b[1]&0x80 != 0, Seq: binary.BigEndian.Uint16(b[2:]),
		TS: binary.BigEndian.Uint32(b[4:]), SSRC: binary.BigEndian.Uint32(b[8:])}
	off := headerLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension: 2-byte profile, 2-byte length in words
		if off+4 > len(b) {
			return Header{}, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	if off > len(b) {
		return Header{}, false
	}
	if b[0]&0x20 != 0 { // padding: last byte counts itself
		p := int(b[len(b)-1])
		if p == 0 || off+p > len(b) {
			return Header{}, false
		}
	}
	h.PayloadOffset = off
	return h, true
}

// ParseRTCP walks a compound RTCP packet and reports the first packet type.
// The walk must end exactly at len(b); the first packet must be SR or RR.
func ParseRTCP(b []byte) (uint8, bool) {
	if len(b) < 8 || b[0]>>6 != 2 || (b[1] != 200 && b[1] != 201) {
		return 0, false
	}
	first := b[1]
	for off, n := 0, 0; off < len(b); n++ {
		if off+4 > len(b) || n >= 16 || b[off]>>6 != 2 || b[off+1] < 200 || b[off+1] > 204 {
			return 0, false
		}
		// Only the last packet of a compound may be padded (RFC 3550 §6.4.1).
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if off > len(b) {
			return 0, false
		}
	}
	return first, true
}

type stream struct {
	ssrc  uint32
	seq   uint16
	ts    uint32
	pt    uint8
	count uint8
}

// Dissector recognises one RTP or RTCP flow. The zero value is ready.
type Dissector struct {
	s       [2]stream
	packets uint8
	misses  uint8
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	switch p.L4 {
	case 17:
	case 6:
		// RFC 4571: one 2-byte length per packet; take the first packet.
		if len(b) < 2 {
			return d.miss()
		}
		l := int(binary.BigEndian.Uint16(b))
		if l < headerLen || 2+l > len(b) {
			return d.miss()
		}
		b = b[2 : 2+l]
	default:
		return dissect.NotMine
	}
	d.packets++
	if pt, ok := ParseRTCP(b); ok && d.s[0].count+d.s[1].count == 0 {
		m.Proto = dissect.RTCP
		if pt == 200 {
			m.Why = "RTCP sender report"
		} else {
			m.Why = "RTCP receiver report"
		}
		return dissect.Done
	}
	h, ok := ParseRTP(b)
	if !ok {
		return d.miss()
	}
	s := &d.s[p.Dir&1]
	step := h.Seq - s.seq
	if s.count > 0 && h.SSRC == s.ssrc && h.PT == s.pt && step >= 1 && step <= maxSeqStep && h.TS-s.ts < 1<<31 {
		s.count++
	} else {
		*s = stream{ssrc: h.SSRC, pt: h.PT, count: 1}
	}
	s.seq, s.ts = h.Seq, h.TS
	if s.count >= inARow {
		m.Proto = dissect.RTP
		m.Why = "RTP sequence continuity"
		return dissect.Done
	}
	return d.wait()
}

func (d *Dissector) miss() dissect.Status {
	d.packets++
	if d.misses++; d.misses >= maxMisses && d.s[0].count+d.s[1].count == 0 {
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
