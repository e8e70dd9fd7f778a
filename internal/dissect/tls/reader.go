package tls

// reader walks a length-prefixed TLS structure with a sticky error: the
// first out-of-bounds read sets bad and every later getter returns zero, so
// parsers read a whole structure and check r.bad once (STYLE 3.5). It holds
// an offset into b instead of re-slicing, and never allocates.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8() uint8 {
	if r.bad || r.left() < 1 {
		r.bad = true
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16() uint16 {
	if r.bad || r.left() < 2 {
		r.bad = true
		return 0
	}
	v := uint16(r.b[r.off])<<8 | uint16(r.b[r.off+1])
	r.off += 2
	return v
}

func (r *reader) u24() int {
	if r.bad || r.left() < 3 {
		r.bad = true
		return 0
	}
	v := int(r.b[r.off])<<16 | int(r.b[r.off+1])<<8 | int(r.b[r.off+2])
	r.off += 3
	return v
}

// bytes returns the next n bytes (aliasing b) or nil once bad.
func (r *reader) bytes(n int) []byte {
	if r.bad || n < 0 || r.left() < n {
		r.bad = true
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

func (r *reader) skip(n int) { r.bytes(n) }

// vec8, vec16 and vec24 return a vector with a 1-, 2- or 3-byte length prefix.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }
func (r *reader) vec24() []byte { return r.bytes(r.u24()) }
