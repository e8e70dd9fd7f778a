package ssh

import (
	"bytes"

	"github.com/weirnet/weir/internal/dissect"
)

// MaxBanner is the longest identification line accepted, CR LF included
// (RFC 4253 4.2). It also bounds the per-direction buffer used when a
// banner spans segments.
const MaxBanner = 255

const (
	stFresh uint8 = iota
	stIdentified
	stDone
)

// Dissector recognises SSH from the identification banners
// ("SSH-2.0-..." or "SSH-1.99-...") of either side. The zero value is
// ready.
type Dissector struct {
	state uint8
	seen  uint8 // banners recorded: bit 0 client, bit 1 server
	dir   [2]side
}

type side struct {
	buf   []byte // an unfinished banner
	next  uint32
	began bool
	done  bool
}

// Reset returns d to its zero state and drops its buffers.
func (d *Dissector) Reset() { *d = Dissector{} }

func (d *Dissector) status() dissect.Status {
	switch d.state {
	case stIdentified:
		return dissect.Identified
	case stDone:
		return dissect.Done
	}
	return dissect.Continue
}

func (d *Dissector) reject(s *side) dissect.Status {
	s.done, s.buf = true, nil
	if d.state == stFresh {
		return dissect.NotMine
	}
	return d.status()
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if d.state == stDone {
		return dissect.Done
	}
	if p.L4 != 6 {
		return dissect.NotMine
	}
	s := &d.dir[p.Dir&1]
	if s.done {
		return d.status()
	}
	data := p.Payload
	if s.began {
		switch delta := int32(p.Seq - s.next); {
		case delta < 0:
			if int(-delta) >= len(data) {
				return d.status()
			}
			data = data[-delta:]
		case delta > 0:
			return d.reject(s)
		}
	}
	s.began = true
	s.next = p.Seq + uint32(len(p.Payload))
	b := data
	if len(s.buf) > 0 {
		if room := MaxBanner - len(s.buf); len(data) > room {
			data = data[:room]
		}
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	line, ok := Banner(b)
	if !ok {
		return d.reject(s)
	}
	if line == nil { // a valid prefix: wait for the rest
		if len(b) >= MaxBanner {
			return d.reject(s)
		}
		if len(s.buf) == 0 {
			s.buf = append(s.buf, b...)
		}
		return d.status()
	}
	str := string(line)
	if p.Dir == dissect.ToServer {
		m.SSH.ClientBanner = str
	} else {
		m.SSH.ServerBanner = str
	}
	m.Proto, m.Why = dissect.SSH, "SSH banner"
	s.done, s.buf = true, nil
	d.seen |= 1 << (p.Dir & 1)
	d.state = stIdentified
	if d.seen == 3 {
		d.state = stDone
	}
	return d.status()
}

// Banner checks the start of one direction of a flow. It returns the
// identification line without its line end and ok when b starts with a
// complete, valid one; nil and ok while b is a valid but incomplete
// prefix; and ok false when b cannot be an SSH banner. A valid line is
// "SSH-2.0-" or "SSH-1.99-", a non-empty software version, and optional
// comments, all printable ASCII, ended by LF (CR LF per the RFC; a bare
// LF is tolerated) within MaxBanner bytes. Banner does not allocate.
func Banner(b []byte) (line []byte, ok bool) {
	const v2, v199 = "SSH-2.0-", "SSH-1.99-"
	var pre string
	switch {
	case len(b) >= len(v2) && string(b[:len(v2)]) == v2:
		pre = v2
	case len(b) >= len(v199) && string(b[:len(v199)]) == v199:
		pre = v199
	case len(b) < len(v199) && (isPrefix(b, v2) || isPrefix(b, v199)):
		return nil, true
	default:
		return nil, false
	}
	lf := bytes.IndexByte(b, '\n')
	if lf < 0 {
		lf = len(b)
	}
	if lf+1 > MaxBanner {
		return nil, false
	}
	line = b[:lf]
	if lf < len(b) && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	for i, c := range line[len(pre):] {
		if c < ' ' || c > '~' {
			if c == '\r' && i == len(line)-len(pre)-1 && lf == len(b) {
				continue // CR arrived, LF pending
			}
			return nil, false
		}
	}
	if len(line) > len(pre) && line[len(pre)] == ' ' {
		return nil, false // the software version may not be empty
	}
	if lf == len(b) {
		return nil, true
	}
	if len(line) == len(pre) {
		return nil, false
	}
	return line, true
}

func isPrefix(b []byte, s string) bool { return string(b) == s[:len(b)] }
