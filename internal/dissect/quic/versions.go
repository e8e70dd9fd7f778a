package quic

// Initial salts. Sources: RFC 9001 section 5.2 (v1, also used by drafts 33
// and 34), RFC 9369 section 3.3.1 (v2), draft-ietf-quic-tls-29 section 5.2
// (drafts 29-32), draft-ietf-quic-tls-23 (drafts 23-28), draft-ietf-quic-
// tls-22, and Chromium's quic_versions for Google's Q050/T050/T051. Each was
// checked by decrypting real captures.
var (
	saltV1      = [20]byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2      = [20]byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29 = [20]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
	saltDraft23 = [20]byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02}
	saltDraft22 = [20]byte{0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a}
	saltQ050    = [20]byte{0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45}
	saltT050    = [20]byte{0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10}
	saltT051    = [20]byte{0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d}
)

// Wire versions with a name (Meta.QUIC.Version carries the number).
const (
	Version1       uint32 = 0x00000001
	Version2       uint32 = 0x6b3343cf
	VersionDraft29 uint32 = 0xff00001d
	VersionMvfst22 uint32 = 0xfaceb001
	VersionMvfst27 uint32 = 0xfaceb002
	VersionMvfstEx uint32 = 0xfaceb00e
	VersionQ046    uint32 = 0x51303436 // "Q046"
	VersionQ050    uint32 = 0x51303530 // "Q050"
	VersionT050    uint32 = 0x54303530 // "T050"
	VersionT051    uint32 = 0x54303531 // "T051"
)

// payloadKind says what the CRYPTO stream of a version's Initial carries.
type payloadKind uint8

const (
	carriesTLS   payloadKind = iota // TLS 1.3 ClientHello
	carriesCHLO                     // Google QUIC crypto CHLO message (Q050)
	carriesPlain                    // unencrypted gQUIC packet (Q046): CHLO in the clear
)

// version describes one long-header version we can recognise.
type version struct {
	salt *[20]byte // nil: recognised but Initial not decryptable
	v2   bool      // RFC 9369 labels and packet type codes
	kind payloadKind
	// google marks Google QUIC (Q0xx, T0xx).
	google bool
	name   string
	why    *reasons // nil only for the zero version
	// saltKey is salt keyed for HMAC (initial.go); nil with salt.
	saltKey *hmacKey
}

// reasons are a version's Meta.Why texts, built once: composing them per
// packet allocated on every long header.
type reasons struct {
	header, decrypted, sni, noHello string
}

func known(v version) version {
	if v.salt != nil {
		v.saltKey = saltKeys[v.salt]
	}
	v.why = &reasons{
		header:    "QUIC " + v.name + " long header",
		decrypted: "QUIC " + v.name + " Initial decrypted",
		sni:       "QUIC " + v.name + " Initial decrypted, SNI",
		noHello:   "QUIC " + v.name + " Initial decrypted, no hello",
	}
	return v
}

var (
	verV1       = known(version{salt: &saltV1, name: "v1"})
	verV2       = known(version{salt: &saltV2, v2: true, name: "v2"})
	verMvfst22  = known(version{salt: &saltDraft22, name: "mvfst-22"})
	verMvfst27  = known(version{salt: &saltDraft23, name: "mvfst-27"})
	verMvfstExp = known(version{salt: &saltDraft23, name: "mvfst-exp"})
	verQ050     = known(version{salt: &saltQ050, kind: carriesCHLO, google: true, name: "Q050"})
	verT050     = known(version{salt: &saltT050, google: true, name: "T050"})
	verT051     = known(version{salt: &saltT051, google: true, name: "T051"})
	verQ046     = known(version{kind: carriesPlain, google: true, name: "Q046"})
	verDrafts   = func() (d [13]version) { // drafts 22-34
		for i := range d {
			salt := &saltDraft22
			switch n := 22 + i; {
			case n >= 33: // drafts 33, 34 switched to the v1 salt
				salt = &saltV1
			case n >= 29:
				salt = &saltDraft29
			case n >= 23:
				salt = &saltDraft23
			}
			d[i] = known(version{salt: salt, name: draftNames[i]})
		}
		return d
	}()
)

// lookupVersion returns the description of a long-header version, or false.
// It is a switch rather than a map so the reject path stays branch-only.
func lookupVersion(v uint32) (version, bool) {
	switch {
	case v == Version1:
		return verV1, true
	case v == Version2:
		return verV2, true
	case v >= 0xff000016 && v <= 0xff000022: // drafts 22-34
		return verDrafts[v-0xff000016], true
	case v == VersionMvfst22:
		return verMvfst22, true
	case v == VersionMvfst27:
		return verMvfst27, true
	case v == VersionMvfstEx:
		return verMvfstExp, true
	case v == VersionQ050:
		return verQ050, true
	case v == VersionT050:
		return verT050, true
	case v == VersionT051:
		return verT051, true
	case v == VersionQ046:
		return verQ046, true
	}
	return version{}, false
}

var draftNames = [...]string{
	"draft-22", "draft-23", "draft-24", "draft-25", "draft-26", "draft-27", "draft-28",
	"draft-29", "draft-30", "draft-31", "draft-32", "draft-33", "draft-34",
}

// isForcingVN reports whether v is a reserved version of the form
// 0x?a?a?a?a (RFC 9000 section 15), which clients send to provoke Version
// Negotiation.
func isForcingVN(v uint32) bool { return v&0x0f0f0f0f == 0x0a0a0a0a }

// isGoogleTag reports whether v reads "Q0dd" or "T0dd" in ASCII, the
// version tags of Google QUIC.
func isGoogleTag(v uint32) bool {
	c0, c1, c2, c3 := byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return (c0 == 'Q' || c0 == 'T') && c1 == '0' && c2 >= '0' && c2 <= '9' && c3 >= '0' && c3 <= '9'
}
