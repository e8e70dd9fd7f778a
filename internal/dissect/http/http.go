package http

import (
	"bytes"
	"net/netip"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

// MaxHead bounds the bytes buffered per direction while a request or
// response head (start line and headers) spans segments. A longer head is
// read as far as MaxHead.
const MaxHead = 8192

// maxField bounds each string copied into Meta (a URL may be long; the
// head bound already caps it, this keeps Meta small).
const maxField = 2048

// Preface is the HTTP/2 cleartext connection preface (RFC 9113 3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	stFresh uint8 = iota
	stIdentified
	stDone
)

const (
	kindUnknown uint8 = iota
	kindRequest
	kindResponse
)

// Dissector recognises HTTP/1.x requests and responses and the HTTP/2
// cleartext preface on TCP. The zero value is ready.
type Dissector struct {
	state uint8
	dir   [2]stream
}

// stream reassembles the head of one direction from in-order segments.
type stream struct {
	buf   []byte
	next  uint32
	kind  uint8
	line  bool // start line recorded
	began bool
	done  bool // head complete (or given up): stop reading
	drop  bool // the bytes just examined are not a head: do not keep them
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

func (d *Dissector) reject() dissect.Status {
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
		case delta < 0: // retransmission or overlap
			if int(-delta) >= len(data) {
				return d.status()
			}
			data = data[-delta:]
		case delta > 0: // a missing segment: read what we have
			st := d.head(s, s.buf, m, true)
			s.done, s.buf = true, nil
			return st
		}
	}
	s.began = true
	s.next = p.Seq + uint32(len(p.Payload))
	if len(data) == 1 && data[0] == 0 && len(s.buf) == 0 && s.kind == kindUnknown {
		return d.status() // a keep-alive probe's garbage byte
	}
	if len(s.buf) == 0 {
		st := d.head(s, data, m, false)
		if s.drop {
			s.drop = false
			return st
		}
		if st == dissect.Continue || (!s.done && st == dissect.Identified) {
			// Unfinished head: keep a bounded copy.
			if len(data) > MaxHead {
				data = data[:MaxHead]
			}
			s.buf = append(s.buf[:0], data...)
		}
		return st
	}
	room := MaxHead - len(s.buf)
	full := len(data) >= room
	if full {
		data = data[:room]
	}
	s.buf = append(s.buf, data...)
	st := d.head(s, s.buf, m, full)
	if s.done {
		s.buf = nil
	}
	if s.drop {
		s.drop, s.buf = false, s.buf[:0]
	}
	return st
}

// head examines the bytes of one direction so far. final says no more
// bytes will come (buffer full or a gap): an unfinished head is read as
// far as it goes.
func (d *Dissector) head(s *stream, b []byte, m *dissect.Meta, final bool) dissect.Status {
	if len(b) == 0 {
		return d.status()
	}
	if s.kind == kindUnknown {
		k, ok := classify(b)
		if !ok {
			if d.state != stFresh {
				// Mid-stream bytes (a lost head, a body): look for a
				// head at the start of a later segment instead.
				s.drop = true
				return d.status()
			}
			s.done = true
			return dissect.NotMine
		}
		if k == kindUnknown { // too short to tell
			if final {
				s.done = true
				return d.reject()
			}
			return d.status()
		}
		if k == kindH2 {
			m.Proto, m.Why = dissect.HTTP2, "HTTP/2 cleartext preface"
			d.state = stDone
			return dissect.Done
		}
		s.kind = k
	}
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		if final || len(b) >= MaxHead {
			s.done = true
			return d.reject()
		}
		return d.status()
	}
	if !s.line {
		if !d.startLine(s, b[:eol], m) {
			s.done = true
			return d.reject()
		}
		s.line = true
		if d.state == stFresh {
			d.state = stIdentified
		}
	}
	end := headEnd(b)
	if end < 0 && !final && len(b) < MaxHead {
		return d.status()
	}
	complete := end >= 0
	if !complete {
		end = len(b)
	}
	if s.kind == kindResponse && m.HTTP.Status >= 100 && m.HTTP.Status < 200 && m.HTTP.Status != 101 && complete {
		// An interim response (100 Continue, 103 Early Hints): the final
		// one follows. 101 Switching Protocols is the last head.
		m.HTTP.Status = 0
		s.line = false
		return d.head(s, b[end:], m, final)
	}
	d.headers(s, b[eol+1:end], m)
	s.done = true
	if s.kind == kindResponse {
		d.state = stDone
	}
	return d.status()
}

const kindH2 = 3

var methods = [...]string{
	"GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
	"REPORT", "MKCALENDAR", "CHECKOUT", "MERGE", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE",
}

// classify tells a request from a response from neither, allocation-free.
// It reports kindUnknown with ok while b is a proper prefix of something
// valid.
func classify(b []byte) (kind uint8, ok bool) {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return 0, false
	}
	if hasPrefixOrIsPrefix(b, Preface) {
		if len(b) >= len(Preface) {
			return kindH2, true
		}
		return kindUnknown, true
	}
	const resp = "HTTP/1."
	if hasPrefixOrIsPrefix(b, resp) {
		if len(b) > len(resp) {
			return kindResponse, true
		}
		return kindUnknown, true
	}
	for _, meth := range methods {
		if len(b) > len(meth) && b[len(meth)] == ' ' && string(b[:len(meth)]) == meth {
			return kindRequest, true
		}
		if len(b) <= len(meth) && string(b) == meth[:len(b)] {
			return kindUnknown, true
		}
	}
	return 0, false
}

func hasPrefixOrIsPrefix(b []byte, s string) bool {
	if len(b) >= len(s) {
		return string(b[:len(s)]) == s
	}
	return string(b) == s[:len(b)]
}

// headEnd returns the offset just past the blank line ending the head,
// or -1. Bare LF line ends are accepted too.
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// startLine validates and records a request or status line (without LF).
func (d *Dissector) startLine(s *stream, line []byte, m *dissect.Meta) bool {
	line = trimCR(line)
	if s.kind == kindResponse {
		// HTTP/1.x SP DDD [SP reason]
		if len(line) < 12 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
			!digit(line[9]) || !digit(line[10]) || !digit(line[11]) || line[9] < '1' || line[9] > '5' ||
			(len(line) > 12 && line[12] != ' ') {
			return false
		}
		if !printable(line) {
			return false
		}
		m.HTTP.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		if m.Proto == dissect.Unknown {
			m.Proto, m.Why = dissect.HTTP, "HTTP response"
		}
		return true
	}
	// METHOD SP request-target SP HTTP/1.x
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 < 0 || sp2 <= sp1+1 {
		return false
	}
	ver := line[sp2+1:]
	if len(ver) != 8 || string(ver[:7]) != "HTTP/1." || (ver[7] != '0' && ver[7] != '1') {
		return false
	}
	method, target := line[:sp1], line[sp1+1:sp2]
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	proto, why := dissect.HTTP, "HTTP request"
	var host []byte
	switch {
	case string(method) == "CONNECT":
		proto, why, host = dissect.HTTPConnect, "HTTP CONNECT", target
	case hasPrefixFold(target, "http://") || hasPrefixFold(target, "https://"):
		proto, why = dissect.HTTPProxy, "HTTP proxy request"
		host = target[bytes.IndexByte(target, '/')+2:]
		if i := bytes.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if i := bytes.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
	}
	m.Proto, m.Why = proto, why
	m.HTTP.Method = intern.Bytes(method)
	m.HTTP.Path = clip(target)
	if host != nil {
		m.Host = cleanHost(host)
	}
	return true
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

func printable(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && bytes.EqualFold(b[:len(s)], []byte(s))
}

func clip(b []byte) string {
	if len(b) > maxField {
		b = b[:maxField]
	}
	return intern.Bytes(b)
}

// headers records the fields we keep from a head's header lines.
func (d *Dissector) headers(s *stream, b []byte, m *dissect.Meta) {
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = trimCR(line)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			continue // blank, malformed or an obsolete folded line
		}
		name := line[:colon]
		// Compare names only at their lengths: most header lines are
		// none of the four kept.
		if s.kind == kindRequest {
			switch {
			case len(name) == 4 && bytes.EqualFold(name, []byte("host")):
				if m.Host == "" {
					m.Host = cleanHost(trimOWS(line[colon+1:]))
				}
			case len(name) == 10 && bytes.EqualFold(name, []byte("user-agent")):
				if m.HTTP.UserAgent == "" {
					m.HTTP.UserAgent = clip(trimOWS(line[colon+1:]))
				}
			}
			continue
		}
		switch {
		case len(name) == 12 && bytes.EqualFold(name, []byte("content-type")):
			if m.HTTP.ContentType == "" {
				m.HTTP.ContentType = clip(trimOWS(line[colon+1:]))
			}
		case len(name) == 6 && bytes.EqualFold(name, []byte("server")):
			if m.HTTP.Server == "" {
				m.HTTP.Server = clip(trimOWS(line[colon+1:]))
			}
		}
	}
}

// trimOWS drops the spaces and tabs around a header value.
func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

// cleanHost lower-cases an authority, drops the port, IPv6 brackets and a
// trailing dot, and escapes as \DDD every byte that does not belong in a
// host name (letters, digits, '.', '-', '_', ':' and '%' for IPv6, '*').
func cleanHost(b []byte) string {
	if len(b) > 0 && b[0] == '[' {
		b = b[1:]
		if i := bytes.IndexByte(b, ']'); i >= 0 {
			b = b[:i]
		}
		// Only a real IPv6 literal names a host.
		if a, err := netip.ParseAddr(string(b)); err != nil || !a.Is6() {
			return ""
		}
	} else if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.IndexByte(b, ':') == i {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte("."))
	if len(b) > 255 {
		b = b[:255]
	}
	var buf [4 * 255]byte // every byte escaped at worst
	out := buf[:0]
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == ':', c == '%', c == '*':
			out = append(out, c)
		default:
			out = append(out, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		}
	}
	return intern.Bytes(out)
}
