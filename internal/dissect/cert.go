package dissect

import (
	"net/netip"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// GeneralName tags of a subjectAltName (RFC 5280 section 4.2.1.6).
var (
	sanDNS = cbasn1.Tag(2).ContextSpecific()
	sanIP  = cbasn1.Tag(7).ContextSpecific()
)

// SetCertSANs records the body of a leaf certificate's subjectAltName
// GeneralNames sequence (copied). It returns false, recording nothing, when
// the body does not parse or names no DNS name or IP address. The names are
// decoded when CertSANs is called: a CDN certificate carries dozens, and
// nothing on the packet path reads them.
func (t *TLSInfo) SetCertSANs(seq []byte) bool {
	n := 0
	in := cryptobyte.String(seq)
	for !in.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !in.ReadAnyASN1(&v, &tag) {
			return false
		}
		if tag == sanDNS || tag == sanIP && (len(v) == 4 || len(v) == 16) {
			n++
		}
	}
	if n == 0 {
		return false
	}
	t.certSANs = append([]byte(nil), seq...)
	return true
}

// HasCertSANs reports whether the server certificate named any DNS name or
// address.
func (t *TLSInfo) HasCertSANs() bool { return t.certSANs != nil }

// CertSANs returns the server certificate's subject alternative names, where
// visible (TLS <= 1.2): the DNS names lower-cased, then the IP addresses.
// It allocates; AppendCertSAN gives the same names one at a time without.
func (t *TLSInfo) CertSANs() []string {
	var out []string
	var name []byte
	for i, ok := 0, true; ; {
		if name, i, ok = t.AppendCertSAN(name[:0], i); !ok {
			return out
		}
		out = append(out, string(name))
	}
}

// AppendCertSAN appends the subject alternative name at cursor i (start at
// 0) to b, as CertSANs lists it (a DNS name lower-cased, invalid UTF-8 as
// U+FFFD; an IP address in text form), and returns the cursor of the next
// one; ok is false, b unchanged, after the last. The DNS names come first,
// then the addresses. It allocates nothing unless b must grow. (A cursor
// rather than an iterator: the record writer must not allocate.)
func (t *TLSInfo) AppendCertSAN(b []byte, i int) (out []byte, next int, ok bool) {
	// Cursors [0, n) walk the sequence for DNS names, [n, 2n) walk it again
	// for addresses: the end of the first pass is the start of the second.
	n := len(t.certSANs)
	for i >= 0 && i < 2*n {
		addrs := i >= n
		off := i
		if addrs {
			off -= n
		}
		in := cryptobyte.String(t.certSANs[off:])
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !in.ReadAnyASN1(&v, &tag) {
			return b, 2 * n, false // SetCertSANs checked it: not reached
		}
		i = n - len(in)
		if addrs {
			i += n
			if tag == sanIP {
				if a, ok := netip.AddrFromSlice(v); ok {
					return a.AppendTo(b), i, true
				}
			}
		} else if tag == sanDNS {
			return appendLower(b, v), i, true
		}
	}
	return b, i, false
}

// appendLower appends s lower-cased as strings.ToLower does it (invalid
// UTF-8 becomes U+FFFD).
func appendLower(b, s []byte) []byte {
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			s = s[1:]
			continue
		}
		r, size := utf8.DecodeRune(s)
		b = utf8.AppendRune(b, unicode.ToLower(r))
		s = s[size:]
	}
	return b
}
