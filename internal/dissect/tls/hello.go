package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/weirnet/weir/internal/dissect"
)

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	hsClientHello = 1
	hsServerHello = 2
	hsCertificate = 11
)

// Extension types used here (IANA TLS ExtensionType registry).
const (
	extServerName        = 0x0000
	extSupportedGroups   = 0x000a
	extECPointFormats    = 0x000b
	extSignatureAlgs     = 0x000d
	extALPN              = 0x0010
	extSupportedVersions = 0x002b
	extECH               = 0xfe0d
)

// Errors returned by the handshake parsers. They are sentinels so callers
// (the QUIC dissector reassembling CRYPTO frames) can tell "need more bytes"
// from "this is not a ClientHello".
var (
	// ErrTruncated: the message is shorter than its handshake header says.
	ErrTruncated = errors.New("tls: handshake message truncated")
	// ErrWrongType: the handshake type is not the one the parser expects.
	ErrWrongType = errors.New("tls: unexpected handshake type")
	// ErrMalformed: a length or version field is impossible.
	ErrMalformed = errors.New("tls: malformed handshake message")
)

// isGREASE reports RFC 8701 reserved values (0x0a0a, 0x1a1a, ... 0xfafa),
// which clients sprinkle into every list so fingerprints must skip them.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// clientHello is the parsed, aliasing view of a ClientHello. Filling it
// allocates nothing; the fields alias the caller's bytes.
type clientHello struct {
	version   uint16
	ciphers   []byte // cipher_suites vector body (u16 each)
	exts      []byte // extensions block body
	sni       []byte // first host_name in server_name
	hasSNI    bool   // server_name extension present (JA4 'd' even if empty)
	alpn      []byte // ALPN protocol_name_list body
	versions  []byte // supported_versions list body (u16 each)
	groups    []byte // supported_groups list body (u16 each)
	points    []byte // ec_point_formats list body (u8 each)
	sigAlgs   []byte // signature_algorithms list body (u16 each)
	ech       bool
	nExt      int // number of extensions, GREASE included
	nExtNoGRS int // number of extensions, GREASE excluded
}

// handshakeBody returns the body of the handshake message hs (4-byte
// header first) after checking its type is want.
func handshakeBody(hs []byte, want uint8) ([]byte, error) {
	r := reader{b: hs}
	typ := r.u8()
	n := r.u24()
	if r.bad {
		return nil, ErrTruncated
	}
	if typ != want {
		return nil, ErrWrongType
	}
	body := r.bytes(n)
	if r.bad {
		return nil, ErrTruncated
	}
	return body, nil
}

// parseClientHello parses hs (4-byte handshake header + body). dtls selects
// the DTLS body layout (a cookie after the session id).
func parseClientHello(hs []byte, dtls bool, ch *clientHello) error {
	*ch = clientHello{}
	body, err := handshakeBody(hs, hsClientHello)
	if err != nil {
		return err
	}
	r := reader{b: body}
	ch.version = r.u16()
	if !plausibleVersion(ch.version) {
		return ErrMalformed
	}
	r.skip(32) // random
	if sid := r.vec8(); len(sid) > 32 {
		return ErrMalformed
	}
	if dtls {
		r.vec8() // cookie
	}
	ch.ciphers = r.vec16()
	comp := r.vec8()
	if r.bad || len(ch.ciphers) == 0 || len(ch.ciphers)%2 != 0 || len(comp) == 0 {
		return ErrMalformed
	}
	if r.left() == 0 {
		return nil // no extensions (SSLv3-era hello)
	}
	ch.exts = r.vec16()
	if r.bad {
		return ErrMalformed
	}
	e := reader{b: ch.exts}
	for e.left() > 0 {
		typ := e.u16()
		data := e.vec16()
		if e.bad {
			return ErrMalformed
		}
		ch.nExt++
		if !isGREASE(typ) {
			ch.nExtNoGRS++
		}
		// Bad extension bodies are tolerated: the field stays empty, the
		// hello itself is still a hello.
		x := reader{b: data}
		switch typ {
		case extServerName:
			ch.hasSNI = true
			list := reader{b: x.vec16()}
			for list.left() > 0 && !list.bad {
				nt := list.u8()
				name := list.vec16()
				if nt == 0 && !list.bad {
					ch.sni = name
					break
				}
			}
		case extALPN:
			ch.alpn = x.vec16()
		case extSupportedVersions:
			if v := x.vec8(); len(v)%2 == 0 {
				ch.versions = v
			}
		case extSupportedGroups:
			if v := x.vec16(); len(v)%2 == 0 {
				ch.groups = v
			}
		case extECPointFormats:
			ch.points = x.vec8()
		case extSignatureAlgs:
			if v := x.vec16(); len(v)%2 == 0 {
				ch.sigAlgs = v
			}
		case extECH:
			ch.ech = true
		}
	}
	return nil
}

// plausibleVersion accepts SSL 3.0 .. TLS 1.3 and DTLS 1.0 .. 1.3 legacy
// versions; anything else is not a hello we can reason about.
func plausibleVersion(v uint16) bool {
	return (v >= 0x0300 && v <= 0x0304) || v == 0xfeff || v == 0xfefd || v == 0xfefc
}

// ParseClientHello parses one complete handshake message hs, starting at
// its 4-byte handshake header (type 1 = ClientHello), and fills m.Host (SNI)
// and m.TLS (versions, ALPN, cipher count, extensions, JA3, JA4, ECH).
//
// transport is the first character of JA4: 't' TLS over TCP, 'q' QUIC,
// 'd' DTLS. With 'd' the body is parsed in the DTLS layout (a cookie after
// the session id); the caller must pass a reassembled message with the plain
// 4-byte header, not DTLS's 12-byte fragment header.
//
// hs is only read during the call; m receives fresh copies. On error m is
// left untouched. It returns ErrTruncated, ErrWrongType or ErrMalformed.
func ParseClientHello(hs []byte, transport byte, m *dissect.Meta) error {
	var ch clientHello
	if err := parseClientHello(hs, transport == 'd', &ch); err != nil {
		return err
	}
	ch.fill(transport, m)
	return nil
}

// fill copies the hello into m (allocating, once per flow).
func (ch *clientHello) fill(transport byte, m *dissect.Meta) {
	if len(ch.sni) > 0 {
		m.Host = normalizeHost(ch.sni)
	}
	t := &m.TLS
	t.ClientVersion = ch.version
	t.SupportedVersions = nil
	for i := 0; i+1 < len(ch.versions); i += 2 {
		if v := be16(ch.versions[i:]); !isGREASE(v) {
			t.SupportedVersions = append(t.SupportedVersions, v)
		}
	}
	t.ALPN = nil
	for r := (reader{b: ch.alpn}); r.left() > 0; {
		p := r.vec8()
		if r.bad {
			break
		}
		t.ALPN = append(t.ALPN, string(p))
	}
	t.CipherSuites = 0
	for i := 0; i+1 < len(ch.ciphers); i += 2 {
		if !isGREASE(be16(ch.ciphers[i:])) {
			t.CipherSuites++
		}
	}
	t.Extensions = make([]uint16, 0, ch.nExt)
	for r := (reader{b: ch.exts}); r.left() > 0; {
		typ := r.u16()
		r.vec16()
		if r.bad {
			break
		}
		t.Extensions = append(t.Extensions, typ)
	}
	t.ECH = ch.ech
	t.JA3 = ch.ja3()
	t.JA4 = ch.ja4(transport)
}

// normalizeHost lower-cases and strips one trailing dot; the result never
// aliases b.
func normalizeHost(b []byte) string {
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	return strings.ToLower(string(b))
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// ja3 returns the MD5 hex of "version,ciphers,extensions,groups,points"
// with decimal values joined by '-', GREASE removed from every list.
func (ch *clientHello) ja3() string {
	var stack [1024]byte
	s := stack[:0]
	s = strconv.AppendUint(s, uint64(ch.version), 10)
	s = append(s, ',')
	s = appendDec16(s, ch.ciphers)
	s = append(s, ',')
	first := true
	for r := (reader{b: ch.exts}); r.left() > 0; {
		typ := r.u16()
		r.vec16()
		if r.bad {
			break
		}
		if isGREASE(typ) {
			continue
		}
		if !first {
			s = append(s, '-')
		}
		first = false
		s = strconv.AppendUint(s, uint64(typ), 10)
	}
	s = append(s, ',')
	s = appendDec16(s, ch.groups)
	s = append(s, ',')
	for i, p := range ch.points {
		if i > 0 {
			s = append(s, '-')
		}
		s = strconv.AppendUint(s, uint64(p), 10)
	}
	sum := md5.Sum(s)
	return hex.EncodeToString(sum[:])
}

func appendDec16(s, list []byte) []byte {
	first := true
	for i := 0; i+1 < len(list); i += 2 {
		v := be16(list[i:])
		if isGREASE(v) {
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

// ja4 computes the JA4 TLS-client fingerprint (FoxIO, BSD-3; JA4+ variants
// are differently licensed and deliberately absent):
//
//	a: transport, version, 'd'/'i', cipher count, extension count, ALPN chars
//	b: sha256[:12] of the sorted cipher list ("000000000000" if empty)
//	c: sha256[:12] of the sorted extensions minus SNI/ALPN, "_", sigalgs
func (ch *clientHello) ja4(transport byte) string {
	var out [36]byte
	a := out[:0]
	a = append(a, transport)
	a = append(a, ja4Version(ch.highestVersion())...)
	if ch.hasSNI {
		a = append(a, 'd')
	} else {
		a = append(a, 'i')
	}
	var cbuf, ebuf [128]uint16
	ciphers := cbuf[:0]
	for i := 0; i+1 < len(ch.ciphers); i += 2 {
		if v := be16(ch.ciphers[i:]); !isGREASE(v) {
			ciphers = append(ciphers, v)
		}
	}
	exts := ebuf[:0]
	for r := (reader{b: ch.exts}); r.left() > 0; {
		typ := r.u16()
		r.vec16()
		if r.bad {
			break
		}
		if !isGREASE(typ) && typ != extServerName && typ != extALPN {
			exts = append(exts, typ)
		}
	}
	a = append2(a, min(len(ciphers), 99))
	a = append2(a, min(ch.nExtNoGRS, 99))
	a = appendALPNChars(a, ch.alpn)
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
	if len(exts) > 0 && len(ch.sigAlgs) >= 2 {
		h = append(h, '_')
		for i := 0; i+1 < len(ch.sigAlgs); i += 2 {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendHex16(h, be16(ch.sigAlgs[i:]))
		}
	}
	if len(exts) == 0 {
		h = h[:0]
	}
	a = appendTrunc(a, h)
	return string(a)
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
	r := reader{b: alpn}
	p := r.vec8()
	if r.bad || len(p) == 0 {
		return append(b, '0', '0')
	}
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
func (ch *clientHello) highestVersion() uint16 {
	best := uint16(0)
	for i := 0; i+1 < len(ch.versions); i += 2 {
		v := be16(ch.versions[i:])
		if isGREASE(v) {
			continue
		}
		if best == 0 || versionRank(v) > versionRank(best) {
			best = v
		}
	}
	if best == 0 {
		return ch.version
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

// ParseServerHello parses one complete ServerHello handshake message (4-byte
// header first) and fills m.TLS.Version (supported_versions if present, else
// the legacy version), m.TLS.Cipher and m.TLS.ServerALPN. DTLS ServerHellos
// have the same body layout. On error m is left untouched.
func ParseServerHello(hs []byte, m *dissect.Meta) error {
	body, err := handshakeBody(hs, hsServerHello)
	if err != nil {
		return err
	}
	r := reader{b: body}
	version := r.u16()
	r.skip(32)
	sid := r.vec8()
	cipher := r.u16()
	r.u8() // compression method
	if r.bad || len(sid) > 32 || !plausibleVersion(version) {
		return ErrMalformed
	}
	var alpn []byte
	if r.left() > 0 {
		e := reader{b: r.vec16()}
		for e.left() > 0 {
			typ := e.u16()
			x := reader{b: e.vec16()}
			if e.bad {
				return ErrMalformed
			}
			switch typ {
			case extSupportedVersions:
				if v := x.u16(); !x.bad {
					version = v
				}
			case extALPN:
				list := reader{b: x.vec16()}
				if p := list.vec8(); !list.bad {
					alpn = p
				}
			}
		}
		if r.bad {
			return ErrMalformed
		}
	}
	m.TLS.Version = version
	m.TLS.Cipher = cipher
	if len(alpn) > 0 {
		m.TLS.ServerALPN = string(alpn)
	}
	return nil
}
