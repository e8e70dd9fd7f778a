package mail

import "bytes"

// firstLine returns the first CRLF- or LF-terminated line of b without its
// terminator, or nil if b does not start with a printable ASCII line (no
// terminator within maxLine, or a control/8-bit byte before it).
func firstLine(b []byte) []byte {
	for i, c := range b {
		if i >= maxLine {
			return nil
		}
		switch {
		case c == '\n':
			if i > 0 && b[i-1] == '\r' {
				return b[:i-1]
			}
			return b[:i]
		case c == '\r' || c == '\t':
		case c < 0x20 || c > 0x7e:
			return nil
		}
	}
	return nil
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// word splits off the first space-separated word.
func word(b []byte) (w, rest []byte) {
	for i, c := range b {
		if c == ' ' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the upper-case ASCII s, ignoring
// case, without allocating.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if eqFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func isPOPVerb(w []byte) bool {
	for _, v := range [...]string{"USER", "CAPA", "STLS", "APOP", "AUTH", "PASS"} {
		if eqFold(w, v) {
			return true
		}
	}
	return false
}

// isIMAPTag: RFC 3501 tag = 1*<any ASTRING-CHAR except "+">; we accept the
// common shapes (letters, digits, '.') up to 16 bytes.
func isIMAPTag(w []byte) bool {
	if len(w) == 0 || len(w) > 16 {
		return false
	}
	for _, c := range w {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return true
}

func isIMAPCommand(w []byte) bool {
	for _, v := range [...]string{"CAPABILITY", "LOGIN", "STARTTLS", "AUTHENTICATE", "NOOP", "LOGOUT", "ID", "SELECT", "EXAMINE", "LIST", "LSUB", "ENABLE"} {
		if eqFold(w, v) {
			return true
		}
	}
	return false
}

// greetingHost returns the first word of an SMTP greeting when it looks
// like a domain name (RFC 5321 §4.2: "220 <domain> ..."), lower-cased in
// place in a copy the caller owns; nil otherwise. It does not allocate.
func greetingHost(b []byte) []byte {
	w, _ := word(b)
	w = bytes.TrimSuffix(w, []byte("."))
	if len(w) < 3 || len(w) > 253 || bytes.IndexByte(w, '.') < 0 {
		return nil
	}
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return nil
		}
	}
	return w
}
