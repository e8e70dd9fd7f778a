package intern

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// MaxLen is the longest text kept; longer ones (rare: URLs or odd headers
// past a DNS name's 253 bytes) are copied each time.
const MaxLen = 256

// slots is the table size: the distinct names a busy link repeats within a
// few seconds. Held memory is at most 8,192 × (MaxLen + 32) bytes, 2.3 MB;
// with names of typical length (~30 bytes) about 0.5 MB.
const slots = 1 << 13

var (
	seed  = maphash.MakeSeed()
	table [slots]atomic.Pointer[string]
)

// Bytes returns b as a string, shared with the last caller that interned
// the same bytes while the slot still holds them.
func Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > MaxLen {
		return string(b)
	}
	slot := &table[maphash.Bytes(seed, b)&(slots-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// LowerASCII is Bytes of b with ASCII letters lower-cased (server names are
// compared case-insensitively, RFC 4343); other bytes are kept as they are.
func LowerASCII(b []byte) string {
	if len(b) > MaxLen {
		return string(lowerASCII(make([]byte, len(b)), b))
	}
	var buf [MaxLen]byte
	return Bytes(lowerASCII(buf[:len(b)], b))
}

// Lower is Bytes of b lower-cased as strings.ToLower would; names of ASCII
// (nearly all) take LowerASCII's path and are shared.
func Lower(b []byte) string {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return strings.ToLower(string(b))
		}
	}
	return LowerASCII(b)
}

// Concat is Bytes of the parts joined, for the few reasons (Meta.Why)
// built from a protocol's or a version's name.
func Concat(parts ...string) string {
	var buf [MaxLen]byte
	b := buf[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	return Bytes(b)
}

func lowerASCII(dst, src []byte) []byte {
	for i, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return dst
}
