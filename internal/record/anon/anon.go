package anon

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// Anonymizer maps an address to its published form. Implementations are
// safe for concurrent use and allocate nothing per call.
type Anonymizer interface {
	Addr(a netip.Addr) netip.Addr
}

// AddrPort anonymises the address of ap and keeps the port. A nil
// Anonymizer leaves ap unchanged.
func AddrPort(an Anonymizer, ap netip.AddrPort) netip.AddrPort {
	if an == nil || !ap.IsValid() {
		return ap
	}
	return netip.AddrPortFrom(an.Addr(ap.Addr()), ap.Port())
}

// Mode names an anonymisation mode in configuration.
type Mode string

const (
	ModeNone      Mode = "none"
	ModeTruncate  Mode = "truncate"
	ModeCryptoPAn Mode = "cryptopan"
)

// Config selects and parameterises an Anonymizer.
type Config struct {
	Mode Mode
	// Secret keys ModeCryptoPAn: exactly SecretSize bytes.
	Secret []byte
	// V4Bits and V6Bits are the prefix lengths ModeTruncate keeps; zero
	// means the default (24 and 48).
	V4Bits, V6Bits int
}

// SecretSize is the length of a CryptoPAn secret.
const SecretSize = 32

var (
	errSecretSize = errors.New("anon: cryptopan secret must be 32 bytes")
	errBits       = errors.New("anon: truncate prefix length out of range")
	errMode       = errors.New("anon: unknown mode; expect none|truncate|cryptopan")
)

// New builds the Anonymizer cfg describes. An empty Mode is ModeNone.
func New(cfg Config) (Anonymizer, error) {
	switch cfg.Mode {
	case "", ModeNone:
		return None{}, nil
	case ModeTruncate:
		return NewTruncate(cfg.V4Bits, cfg.V6Bits)
	case ModeCryptoPAn:
		return NewCryptoPAn(cfg.Secret)
	}
	return nil, fmt.Errorf("%w: %q", errMode, cfg.Mode)
}

// None publishes addresses unchanged.
type None struct{}

// Addr returns a.
func (None) Addr(a netip.Addr) netip.Addr { return a }

// Truncate keeps the first V4Bits of IPv4 and V6Bits of IPv6 addresses and
// zeroes the rest (and drops any IPv6 zone).
type Truncate struct {
	V4Bits, V6Bits int
}

// DefaultTruncate keeps /24 and /48.
var DefaultTruncate = Truncate{V4Bits: 24, V6Bits: 48}

// NewTruncate validates the prefix lengths; zero takes the default.
func NewTruncate(v4, v6 int) (Truncate, error) {
	if v4 == 0 {
		v4 = DefaultTruncate.V4Bits
	}
	if v6 == 0 {
		v6 = DefaultTruncate.V6Bits
	}
	if v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128 {
		return Truncate{}, fmt.Errorf("%w: /%d, /%d", errBits, v4, v6)
	}
	return Truncate{V4Bits: v4, V6Bits: v6}, nil
}

// Addr returns a with the host bits cleared. An invalid address or a bad
// prefix length returns the zero Addr rather than leaking a.
func (t Truncate) Addr(a netip.Addr) netip.Addr {
	bits := t.V6Bits
	if a.Is4() {
		bits = t.V4Bits
	}
	p, err := a.WithZone("").Prefix(bits)
	if err != nil {
		return netip.Addr{}
	}
	return p.Addr()
}

// CryptoPAn is keyed prefix-preserving anonymisation (see the package doc).
type CryptoPAn struct {
	block cipher.Block
	pad   [16]byte
	// The pad split in two words, so building each PRF input is two
	// shifts and ors instead of a bit loop.
	padHi, padLo uint64
	scratch      sync.Pool // *[32]byte: PRF input and output
}

// NewCryptoPAn keys a CryptoPAn from a SecretSize-byte secret.
func NewCryptoPAn(secret []byte) (*CryptoPAn, error) {
	if len(secret) != SecretSize {
		return nil, errSecretSize
	}
	b, err := aes.NewCipher(secret[:16])
	if err != nil {
		return nil, fmt.Errorf("anon: %w", err)
	}
	c := &CryptoPAn{block: b}
	b.Encrypt(c.pad[:], secret[16:32])
	c.padHi = binary.BigEndian.Uint64(c.pad[0:8])
	c.padLo = binary.BigEndian.Uint64(c.pad[8:16])
	c.scratch.New = func() any { return new([32]byte) }
	return c, nil
}

// Addr maps a. IPv4 maps within IPv4 (32 rounds), IPv6 within IPv6 (128
// rounds); an IPv6 zone is dropped. The invalid Addr maps to itself.
func (c *CryptoPAn) Addr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return a
	}
	s := c.scratch.Get().(*[32]byte)
	defer c.scratch.Put(s)
	if a.Is4() {
		v := a.As4()
		x := uint64(binary.BigEndian.Uint32(v[:])) << 32
		hi, _ := c.mask(s, x, 0, 32)
		var out [4]byte
		binary.BigEndian.PutUint32(out[:], uint32((x^hi)>>32))
		return netip.AddrFrom4(out)
	}
	v := a.As16()
	xh := binary.BigEndian.Uint64(v[0:8])
	xl := binary.BigEndian.Uint64(v[8:16])
	mh, ml := c.mask(s, xh, xl, 128)
	var out [16]byte
	binary.BigEndian.PutUint64(out[0:8], xh^mh)
	binary.BigEndian.PutUint64(out[8:16], xl^ml)
	return netip.AddrFrom16(out)
}

// mask computes the one-time pad for the n-bit address (xh, xl), the
// address left-aligned in 128 bits. Bit i of the result is the first bit of
// AES(first i address bits ‖ pad bits i..127): it depends only on the
// address's first i bits, which is what preserves prefixes.
func (c *CryptoPAn) mask(s *[32]byte, xh, xl uint64, n int) (mh, ml uint64) {
	in, out := s[0:16], s[16:32]
	for i := range n {
		hi, lo := c.padHi, c.padLo
		switch {
		case i == 0:
		case i < 64:
			keep := ^uint64(0) << (64 - i)
			hi = xh&keep | hi&^keep
		case i == 64:
			hi = xh
		default:
			keep := ^uint64(0) << (128 - i)
			hi = xh
			lo = xl&keep | lo&^keep
		}
		binary.BigEndian.PutUint64(in[0:8], hi)
		binary.BigEndian.PutUint64(in[8:16], lo)
		c.block.Encrypt(out, in)
		bit := uint64(out[0] >> 7)
		if i < 64 {
			mh |= bit << (63 - i)
		} else {
			ml |= bit << (127 - i)
		}
	}
	return mh, ml
}
