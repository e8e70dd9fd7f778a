package domainset

import (
	"errors"
	"fmt"
	"math"
)

// MaxNameLen is the longest name accepted, in bytes, without a trailing dot
// (RFC 1035: 255 octets on the wire is 253 characters in text form).
const MaxNameLen = 253

const maxLabelLen = 63

var (
	errEmpty      = errors.New("empty name")
	errTooLong    = errors.New("name longer than 253 bytes")
	errEmptyLabel = errors.New("empty label")
	errLabelLong  = errors.New("label longer than 63 bytes")
	errBadChar    = errors.New("bad character")
	errWildcard   = errors.New("wildcard allowed only as a whole first label (*.example.com)")
)

// PatternError reports a pattern that Add rejected.
type PatternError struct {
	Pattern string
	Err     error // one of the package's base errors
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("domainset: pattern %q: %v", e.Pattern, e.Err)
}

func (e *PatternError) Unwrap() error { return e.Err }

var _ error = (*PatternError)(nil)

// kind of pattern; an index into node.val.
const (
	kindSubtree = iota // "x": x and below
	kindExact          // "=x": x only
	kindWild           // "*.x": below x only
	numKinds
)

// Builder collects patterns. The zero value is ready to use.
type Builder struct {
	// names maps a normalised name to its index in vals.
	names map[string]int
	order []string
	vals  []nodeVals
}

type nodeVals struct {
	val [numKinds]int32
	has uint8 // bit k set: val[k] valid
}

// Add records pattern with value. See the package doc for the syntax.
// On error the Builder is unchanged.
func (b *Builder) Add(pattern string, value int32) error {
	kind := kindSubtree
	name := pattern
	switch {
	case len(name) > 0 && name[0] == '=':
		kind, name = kindExact, name[1:]
	case len(name) > 1 && name[0] == '*' && name[1] == '.':
		kind, name = kindWild, name[2:]
	}
	norm, err := Normalize(name)
	if err != nil {
		return &PatternError{Pattern: pattern, Err: err}
	}
	if b.names == nil {
		b.names = make(map[string]int)
	}
	i, ok := b.names[norm]
	if !ok {
		i = len(b.vals)
		b.names[norm] = i
		b.order = append(b.order, norm)
		b.vals = append(b.vals, nodeVals{})
	}
	v := &b.vals[i]
	bit := uint8(1) << kind
	if v.has&bit == 0 || value < v.val[kind] {
		v.val[kind] = value
	}
	v.has |= bit
	return nil
}

// Len reports the number of distinct names added so far.
func (b *Builder) Len() int { return len(b.vals) }

// Normalize lower-cases name, drops one trailing dot and validates it as a
// pattern name (no wildcard, no '=' prefix). It allocates only when the name
// is not already in normal form.
func Normalize(name string) (string, error) {
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if name == "" {
		return "", errEmpty
	}
	if len(name) > MaxNameLen {
		return "", errTooLong
	}
	upper := false
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", errEmptyLabel
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c == '*':
			return "", errWildcard
		default:
			return "", fmt.Errorf("%w %q at offset %d", errBadChar, c, i)
		}
		label++
		if label > maxLabelLen {
			return "", errLabelLong
		}
	}
	if label == 0 {
		return "", errEmptyLabel
	}
	if !upper {
		return name, nil
	}
	buf := []byte(name)
	for i, c := range buf {
		buf[i] = lower(c)
	}
	return string(buf), nil
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Set is a compiled, immutable pattern set.
//
// Layout: every distinct name lives once in blob; node i describes one name;
// slots is an open-addressed table (load <= 1/2) of node index+1 keyed by a
// hash that the lookup can compute for every label-aligned suffix of the host
// in a single right-to-left pass.
type Set struct {
	blob  string
	nodes []node
	slots []uint32
	mask  uint64
	// maxLen is the longest name in the set: the right-to-left scan stops
	// once the suffix is longer, so long hosts cost no more than short ones.
	maxLen int
}

type node struct {
	off  uint32
	hash uint32 // low bits of the full hash, checked before comparing bytes
	n    uint8
	has  uint8
	val  [numKinds]int32
}

// Build compiles the patterns added so far into a Set. The Builder may be
// reused; later Adds do not affect the returned Set.
func (b *Builder) Build() *Set {
	n := len(b.vals)
	s := &Set{}
	size := 8
	for size < 2*n {
		size <<= 1
	}
	s.slots = make([]uint32, size)
	s.mask = uint64(size - 1)
	s.nodes = make([]node, n)
	total := 0
	for _, name := range b.order {
		total += len(name)
	}
	blob := make([]byte, 0, total)
	for i, name := range b.order {
		h := hashName(name)
		s.nodes[i] = node{
			off:  uint32(len(blob)),
			hash: uint32(h),
			n:    uint8(len(name)),
			has:  b.vals[i].has,
			val:  b.vals[i].val,
		}
		blob = append(blob, name...)
		s.maxLen = max(s.maxLen, len(name))
		for j := mix(h) & s.mask; ; j = (j + 1) & s.mask {
			if s.slots[j] == 0 {
				s.slots[j] = uint32(i + 1)
				break
			}
		}
	}
	s.blob = string(blob)
	return s
}

// Len reports the number of distinct names in the Set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.nodes)
}

// FNV-1a constants, applied to bytes from the last to the first so that the
// running hash at each '.' is the hash of the suffix to its right.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashName(name string) uint64 {
	h := uint64(fnvOffset)
	for i := len(name) - 1; i >= 0; i-- {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	return h
}

// mix spreads FNV's weak low bits before masking to a slot index.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// find returns the node for host[i:] (already known to hash to h), or nil.
// host may be mixed case; the comparison lowers it on the fly.
func (s *Set) find(host string, i int, h uint64) *node {
	n := len(host) - i
	for j := mix(h) & s.mask; ; j = (j + 1) & s.mask {
		k := s.slots[j]
		if k == 0 {
			return nil
		}
		nd := &s.nodes[k-1]
		if nd.hash != uint32(h) || int(nd.n) != n {
			continue
		}
		name := s.blob[nd.off : nd.off+uint32(nd.n)]
		eq := true
		for x := 0; x < n; x++ {
			if lower(host[i+x]) != name[x] {
				eq = false
				break
			}
		}
		if eq {
			return nd
		}
	}
}

// trim drops one trailing dot and reports whether host can match at all.
func trim(host string) (string, bool) {
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	return host, host != "" && len(host) <= MaxNameLen
}

// Longest returns the value of the most specific pattern matching host.
func (s *Set) Longest(host string) (value int32, ok bool) {
	if s == nil || len(s.nodes) == 0 {
		return 0, false
	}
	host, okh := trim(host)
	if !okh {
		return 0, false
	}
	h := uint64(fnvOffset)
	stop := max(len(host)-s.maxLen, 0)
	for i := len(host) - 1; i >= stop; i-- {
		c := lower(host[i])
		h = (h ^ uint64(c)) * fnvPrime
		if i > 0 && host[i-1] != '.' {
			continue
		}
		nd := s.find(host, i, h)
		if nd == nil {
			continue
		}
		// Scanning right to left, later hits are longer: overwrite.
		if i == 0 {
			if v, hit := nd.get(kindExact); hit {
				return v, true
			}
			if v, hit := nd.get(kindSubtree); hit {
				return v, true
			}
			continue
		}
		if v, hit := nd.get(kindWild); hit {
			value, ok = v, true
		} else if v, hit := nd.get(kindSubtree); hit {
			value, ok = v, true
		}
	}
	return value, ok
}

// Min returns the smallest value among all patterns matching host.
func (s *Set) Min(host string) (value int32, ok bool) {
	if s == nil || len(s.nodes) == 0 {
		return 0, false
	}
	host, okh := trim(host)
	if !okh {
		return 0, false
	}
	value = math.MaxInt32
	h := uint64(fnvOffset)
	stop := max(len(host)-s.maxLen, 0)
	for i := len(host) - 1; i >= stop; i-- {
		c := lower(host[i])
		h = (h ^ uint64(c)) * fnvPrime
		if i > 0 && host[i-1] != '.' {
			continue
		}
		nd := s.find(host, i, h)
		if nd == nil {
			continue
		}
		a, b := kindWild, kindSubtree
		if i == 0 {
			a = kindExact
		}
		if v, hit := nd.get(a); hit && (!ok || v < value) {
			value, ok = v, true
		}
		if v, hit := nd.get(b); hit && (!ok || v < value) {
			value, ok = v, true
		}
	}
	if !ok {
		return 0, false
	}
	return value, true
}

func (nd *node) get(kind int) (int32, bool) {
	if nd.has&(1<<kind) == 0 {
		return 0, false
	}
	return nd.val[kind], true
}
