package tls

import (
	"errors"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
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

// clientHello is the parsed, aliasing view of a ClientHello. Filling it
// allocates nothing; the fields alias the caller's bytes.
type clientHello struct {
	version  uint16
	ciphers  []byte // cipher_suites vector body (u16 each)
	exts     []byte // extensions block body
	sni      []byte // first host_name in server_name
	hasSNI   bool   // server_name extension present (JA4 'd' even if empty)
	alpn     []byte // ALPN protocol_name_list body
	versions []byte // supported_versions list body (u16 each)
	groups   []byte // supported_groups list body (u16 each)
	points   []byte // ec_point_formats list body (u8 each)
	sigAlgs  []byte // signature_algorithms list body (u16 each)
	ech      bool
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
// and m.TLS (the hello's lists, from which its versions, ALPN, cipher count,
// extensions, JA3 and JA4 are derived; ECH).
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

// fill copies the hello into m: the host name, and the lists the
// fingerprints are computed from (one allocation each).
func (ch *clientHello) fill(transport byte, m *dissect.Meta) {
	if len(ch.sni) > 0 {
		m.Host = normalizeHost(ch.sni)
	}
	// A second walk rather than collecting in parseClientHello: a buffer
	// inside clientHello pointing at itself would move it to the heap.
	var tbuf [256]byte
	types := tbuf[:0]
	for r := (reader{b: ch.exts}); r.left() > 0; {
		typ := r.u16()
		r.vec16()
		if r.bad {
			break
		}
		types = append(types, byte(typ>>8), byte(typ))
	}
	m.TLS.SetClientHello(transport, ch.version, ch.hasSNI, &dissect.HelloLists{
		Ciphers: ch.ciphers, ExtTypes: types, Groups: ch.groups, Points: ch.points,
		SigAlgs: ch.sigAlgs, Versions: ch.versions, ALPN: ch.alpn,
	})
	m.TLS.ECH = ch.ech
}

// normalizeHost lower-cases and strips one trailing dot; the result never
// aliases b.
func normalizeHost(b []byte) string {
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	return intern.Lower(b)
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

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
		m.TLS.ServerALPN = intern.Bytes(alpn)
	}
	return nil
}
