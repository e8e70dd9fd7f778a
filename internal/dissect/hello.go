package dissect

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
)

// HelloLists are the wire lists of one ClientHello, aliasing the hello's
// bytes: the inputs of the ALPN, version and fingerprint fields of
// [TLSInfo]. ExtTypes holds the extension types in order, two bytes each,
// GREASE included; the others are the bodies of their vectors.
type HelloLists struct {
	Ciphers  []byte // cipher_suites (u16 each)
	ExtTypes []byte // extension types (u16 each), in order
	Groups   []byte // supported_groups (u16 each)
	Points   []byte // ec_point_formats (u8 each)
	SigAlgs  []byte // signature_algorithms (u16 each)
	Versions []byte // supported_versions (u16 each)
	ALPN     []byte // protocol_name_list (u8-prefixed names)
}

// helloSection numbers the lists in TLSInfo.hello, in HelloLists order.
const (
	secCiphers = iota
	secExtTypes
	secGroups
	secPoints
	secSigAlgs
	secVersions
	secALPN
	nSections
)

// SetClientHello records a ClientHello: its legacy version, whether it
// carried server_name (JA4's 'd'), the transport character of JA4 ('t' TLS
// over TCP, 'q' QUIC, 'd' DTLS) and a copy of its lists, in one allocation.
// JA3, JA4, ALPN and the offered versions are derived from that copy when
// they are read: hashing and formatting fingerprints was most of what a
// hello cost, and most flows' fingerprints are never printed.
func (t *TLSInfo) SetClientHello(transport byte, legacyVersion uint16, hasSNI bool, l *HelloLists) {
	lists := [nSections][]byte{l.Ciphers, l.ExtTypes, l.Groups, l.Points, l.SigAlgs, l.Versions, l.ALPN}
	n := 0
	for _, s := range lists {
		n += 2 + min(len(s), 0xffff)
	}
	b := make([]byte, 0, n)
	for _, s := range lists {
		s = s[:min(len(s), 0xffff)]
		b = append(b, byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	t.hello = b
	t.transport = transport
	t.hasSNI = hasSNI
	t.ClientVersion = legacyVersion
}

// HasClientHello reports whether a ClientHello was recorded.
func (t *TLSInfo) HasClientHello() bool { return t.hello != nil }

// section returns list i of the recorded hello (nil when none).
func (t *TLSInfo) section(i int) []byte {
	b := t.hello
	for k := 0; len(b) >= 2; k++ {
		n := int(b[0])<<8 | int(b[1])
		if 2+n > len(b) {
			return nil
		}
		if k == i {
			return b[2 : 2+n]
		}
		b = b[2+n:]
	}
	return nil
}

// NextALPN returns the ClientHello's ALPN protocol name at cursor i (start
// at 0) and the cursor of the next one; p is nil after the last. p aliases
// the recorded hello: copy it to keep it. (A cursor rather than an
// iterator: the record writer must not allocate.)
func (t *TLSInfo) NextALPN(i int) (p []byte, next int) {
	l := t.section(secALPN)
	if i >= len(l) {
		return nil, i
	}
	n := int(l[i])
	if n == 0 || i+1+n > len(l) {
		return nil, len(l)
	}
	return l[i+1 : i+1+n], i + 1 + n
}

// ALPN returns the ALPN protocol names as strings (allocating).
func (t *TLSInfo) ALPN() []string {
	var out []string
	for p, i := t.NextALPN(0); p != nil; p, i = t.NextALPN(i) {
		out = append(out, string(p))
	}
	return out
}

// SupportedVersions returns the supported_versions list, GREASE removed
// (allocating).
func (t *TLSInfo) SupportedVersions() []uint16 {
	var out []uint16
	for _, v := range u16s(t.section(secVersions)) {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// MaxSupportedVersion is the largest supported_versions entry (GREASE
// removed), or 0 when the extension is absent.
func (t *TLSInfo) MaxSupportedVersion() uint16 {
	h := uint16(0)
	l := t.section(secVersions)
	for i := 0; i+1 < len(l); i += 2 {
		if v := be16(l[i:]); !IsGREASE(v) {
			h = max(h, v)
		}
	}
	return h
}

// CipherSuites is the number of offered cipher suites, GREASE removed.
func (t *TLSInfo) CipherSuites() int {
	n := 0
	l := t.section(secCiphers)
	for i := 0; i+1 < len(l); i += 2 {
		if !IsGREASE(be16(l[i:])) {
			n++
		}
	}
	return n
}

// Extensions returns the ClientHello's extension types in order, GREASE
// included (allocating).
func (t *TLSInfo) Extensions() []uint16 { return u16s(t.section(secExtTypes)) }

func u16s(l []byte) []uint16 {
	var out []uint16
	for i := 0; i+1 < len(l); i += 2 {
		out = append(out, be16(l[i:]))
	}
	return out
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// IsGREASE reports RFC 8701 reserved values (0x0a0a, 0x1a1a, ... 0xfafa),
// which clients sprinkle into every list so fingerprints must skip them.
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// JA3 returns the JA3 fingerprint of the recorded ClientHello (MD5 hex of
// "version,ciphers,extensions,groups,points", decimal values joined by '-',
// GREASE removed from every list), or "" when there is none.
func (t *TLSInfo) JA3() string {
	if t.hello == nil {
		return ""
	}
	var out [32]byte
	return string(t.AppendJA3(out[:0]))
}

// AppendJA3 appends JA3 to b (nothing when no hello was recorded).
func (t *TLSInfo) AppendJA3(b []byte) []byte {
	if t.hello == nil {
		return b
	}
	var stack [1024]byte
	s := stack[:0]
	s = strconv.AppendUint(s, uint64(t.ClientVersion), 10)
	s = append(s, ',')
	s = appendDec16(s, t.section(secCiphers))
	s = append(s, ',')
	s = appendDec16(s, t.section(secExtTypes))
	s = append(s, ',')
	s = appendDec16(s, t.section(secGroups))
	s = append(s, ',')
	for i, p := range t.section(secPoints) {
		if i > 0 {
			s = append(s, '-')
		}
		s = strconv.AppendUint(s, uint64(p), 10)
	}
	sum := md5.Sum(s)
	return hex.AppendEncode(b, sum[:])
}

// appendDec16 appends the non-GREASE u16 values of list in decimal, '-'
// separated.
func appendDec16(s, list []byte) []byte {
	first := true
	for i := 0; i+1 < len(list); i += 2 {
		v := be16(list[i:])
		if IsGREASE(v) {
			continue
		}
		if !first {
			s = append(s, '-')
		}
		first = false
		s = strconv.AppendUint(s, uint64(v), 10)
	}
	return s
}

// JA4 returns the JA4 TLS-client fingerprint of the recorded ClientHello
// (FoxIO, BSD-3; the JA4+ variants are differently licensed and
// deliberately absent), or "" when there is none:
//
//	a: transport, version, 'd'/'i', cipher count, extension count, ALPN chars
//	b: sha256[:12] of the sorted cipher list ("000000000000" if empty)
//	c: sha256[:12] of the sorted extensions minus SNI/ALPN, "_", sigalgs
func (t *TLSInfo) JA4() string {
	if t.hello == nil {
		return ""
	}
	var out [36]byte
	return string(t.AppendJA4(out[:0]))
}

// Extension types JA4 leaves out of its extension hash.
const (
	extServerName = 0x0000
	extALPN       = 0x0010
)

// AppendJA4 appends JA4 to a (nothing when no hello was recorded).
func (t *TLSInfo) AppendJA4(a []byte) []byte {
	if t.hello == nil {
		return a
	}
	a = append(a, t.transport)
	a = append(a, ja4Version(t.highestVersion())...)
	if t.hasSNI {
		a = append(a, 'd')
	} else {
		a = append(a, 'i')
	}
	var cbuf, ebuf [128]uint16
	ciphers := cbuf[:0]
	cl := t.section(secCiphers)
	for i := 0; i+1 < len(cl); i += 2 {
		if v := be16(cl[i:]); !IsGREASE(v) {
			ciphers = append(ciphers, v)
		}
	}
	exts := ebuf[:0]
	nExt := 0
	el := t.section(secExtTypes)
	for i := 0; i+1 < len(el); i += 2 {
		typ := be16(el[i:])
		if IsGREASE(typ) {
			continue
		}
		nExt++
		if typ != extServerName && typ != extALPN {
			exts = append(exts, typ)
		}
	}
	a = append2(a, min(len(ciphers), 99))
	a = append2(a, min(nExt, 99))
	a = appendALPNChars(a, t.section(secALPN))
	a = append(a, '_')

	slices.Sort(ciphers)
	var hbuf [1024]byte
	h := hbuf[:0]
	for i, v := range ciphers {
		if i > 0 {
			h = append(h, ',')
		}
		h = appendHex16(h, v)
	}
	a = appendTrunc(a, h)
	a = append(a, '_')

	slices.Sort(exts)
	h = hbuf[:0]
	for i, v := range exts {
		if i > 0 {
			h = append(h, ',')
		}
		h = appendHex16(h, v)
	}
	if sig := t.section(secSigAlgs); len(exts) > 0 && len(sig) >= 2 {
		h = append(h, '_')
		for i := 0; i+1 < len(sig); i += 2 {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendHex16(h, be16(sig[i:]))
		}
	}
	if len(exts) == 0 {
		h = h[:0]
	}
	return appendTrunc(a, h)
}

// appendTrunc appends the first 12 hex digits of sha256(h), or twelve
// zeros when h is empty, as JA4 specifies for empty lists.
func appendTrunc(a, h []byte) []byte {
	if len(h) == 0 {
		return append(a, "000000000000"...)
	}
	sum := sha256.Sum256(h)
	return hex.AppendEncode(a, sum[:6])
}

const hexdigits = "0123456789abcdef"

func appendHex16(b []byte, v uint16) []byte {
	return append(b, hexdigits[v>>12], hexdigits[v>>8&0xf], hexdigits[v>>4&0xf], hexdigits[v&0xf])
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// appendALPNChars appends JA4's two ALPN characters: first and last byte of
// the first protocol name, or "00" when there is none. When either byte is
// not [0-9A-Za-z] the spec uses the first and last hex digit of the name
// instead, so binary ALPNs stay printable.
func appendALPNChars(b []byte, alpn []byte) []byte {
	if len(alpn) < 2 || int(alpn[0]) == 0 || 1+int(alpn[0]) > len(alpn) {
		return append(b, '0', '0')
	}
	p := alpn[1 : 1+int(alpn[0])]
	f, l := p[0], p[len(p)-1]
	if isAlnum(f) && isAlnum(l) {
		return append(b, f, l)
	}
	return append(b, hexdigits[f>>4], hexdigits[l&0xf])
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// highestVersion is the highest non-GREASE supported_versions entry, or the
// legacy version when the extension is absent. DTLS counts downwards
// (0xfefc DTLS 1.3 > 0xfefd 1.2 > 0xfeff 1.0), hence versionRank.
func (t *TLSInfo) highestVersion() uint16 {
	best := uint16(0)
	l := t.section(secVersions)
	for i := 0; i+1 < len(l); i += 2 {
		v := be16(l[i:])
		if IsGREASE(v) {
			continue
		}
		if best == 0 || versionRank(v) > versionRank(best) {
			best = v
		}
	}
	if best == 0 {
		return t.ClientVersion
	}
	return best
}

func versionRank(v uint16) int {
	if v>>8 == 0xfe {
		return 0x10000 - int(v) // DTLS: smaller wire value is newer
	}
	return int(v)
}

func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}
