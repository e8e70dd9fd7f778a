package sip

import (
	"bytes"

	"github.com/weirnet/weir/internal/dissect"
)

const (
	version = "SIP/2.0"
	// maxLine bounds the start line and header lines we look at.
	maxLine = 1024
	// maxPackets of keep-alives before giving up.
	maxPackets = 4
)

var methods = [...]string{"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
	"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}

// StartLine is the parsed first line of a SIP message. Its byte slices
// alias the input.
type StartLine struct {
	Method []byte // nil for a response
	URI    []byte
	Status int // response status code, 0 for a request
}

// ParseStartLine parses the first line of b.
func ParseStartLine(b []byte) (StartLine, bool) {
	line, _, ok := cutLine(b)
	if !ok {
		return StartLine{}, false
	}
	if bytes.HasPrefix(line, []byte(version+" ")) {
		r := line[len(version)+1:]
		if len(r) < 4 || r[3] != ' ' {
			return StartLine{}, false
		}
		code := 0
		for _, c := range r[:3] {
			if c < '0' || c > '9' {
				return StartLine{}, false
			}
			code = code*10 + int(c-'0')
		}
		if code < 100 || code > 699 {
			return StartLine{}, false
		}
		return StartLine{Status: code}, true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return StartLine{}, false
	}
	method := line[:sp]
	known := false
	for _, m := range methods {
		if string(method) == m {
			known = true
			break
		}
	}
	rest := line[sp+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if !known || sp2 <= 0 || string(rest[sp2+1:]) != version {
		return StartLine{}, false
	}
	uri := rest[:sp2]
	if !hasScheme(uri) {
		return StartLine{}, false
	}
	return StartLine{Method: method, URI: uri}, true
}

func hasScheme(u []byte) bool {
	for _, s := range []string{"sip:", "sips:", "tel:"} {
		if len(u) > len(s) && eqFold(u[:len(s)], s) {
			return true
		}
	}
	return false
}

// cutLine returns the first CRLF- (or LF-) terminated line of b.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	n := min(len(b), maxLine)
	i := bytes.IndexByte(b[:n], '\n')
	if i < 0 {
		return nil, nil, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:], true
}

// URIHost returns the host part of a sip:/sips: URI ("sip:user@Host:5060;x"
// → "Host"); for tel: URIs it returns nil.
func URIHost(u []byte) []byte {
	if i := bytes.IndexAny(u, "<"); i >= 0 {
		u = u[i+1:]
	}
	c := bytes.IndexByte(u, ':')
	if c < 0 || !eqFold(u[:c], "sip") && !eqFold(u[:c], "sips") {
		return nil
	}
	u = u[c+1:]
	if end := bytes.IndexAny(u, ";?>, \t"); end >= 0 {
		u = u[:end]
	}
	if at := bytes.LastIndexByte(u, '@'); at >= 0 {
		u = u[at+1:]
	}
	if len(u) > 0 && u[0] == '[' { // IPv6 reference
		if e := bytes.IndexByte(u, ']'); e > 0 {
			return u[1:e]
		}
		return nil
	}
	if c := bytes.IndexByte(u, ':'); c >= 0 {
		u = u[:c]
	}
	return u
}

// toHost finds the To (or compact "t") header in the header block and
// returns its URI's host.
func toHost(b []byte) []byte {
	_, b, _ = cutLine(b)
	for n := 0; n < 64; n++ {
		line, rest, ok := cutLine(b)
		if !ok || len(line) == 0 {
			return nil
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			name := bytes.TrimSpace(line[:c])
			if eqFold(name, "to") || eqFold(name, "t") {
				return URIHost(bytes.TrimSpace(line[c+1:]))
			}
		}
		b = rest
	}
	return nil
}

func eqFold(v []byte, s string) bool {
	if len(v) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Dissector recognises one SIP flow. The zero value is ready.
type Dissector struct {
	packets uint8
}

// Reset implements dissect.Dissector.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if p.L4 != 6 && p.L4 != 17 {
		return dissect.NotMine
	}
	d.packets++
	b := p.Payload
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	if len(b) == 0 { // keep-alive
		if d.packets >= maxPackets {
			return dissect.NotMine
		}
		return dissect.Continue
	}
	sl, ok := ParseStartLine(b)
	if !ok {
		return dissect.NotMine
	}
	m.Proto = dissect.SIP
	var host []byte
	if sl.Method != nil {
		m.Why = "SIP request"
		host = URIHost(sl.URI)
	} else {
		m.Why = "SIP response"
		host = toHost(b)
	}
	if validHost(host) {
		m.Host = lowerString(host)
	}
	return dissect.Done
}

// validHost accepts DNS names and IPv4/IPv6 literals (RFC 3261 hostport).
func validHost(h []byte) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}

// lowerString copies b lower-cased and without a trailing dot.
func lowerString(b []byte) string {
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}
