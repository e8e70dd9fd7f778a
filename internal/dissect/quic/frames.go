package quic

import "encoding/binary"

// varint reads a QUIC variable-length integer at b[i] (RFC 9000 section
// 16). n is 0 if b is too short.
func varint(b []byte, i int) (v uint64, n int) {
	if i < 0 || i >= len(b) {
		return 0, 0
	}
	n = 1 << (b[i] >> 6)
	if i+n > len(b) {
		return 0, 0
	}
	v = uint64(b[i] & 0x3f)
	for j := 1; j < n; j++ {
		v = v<<8 | uint64(b[i+j])
	}
	return v, n
}

// Frame types allowed in Initial packets (RFC 9000 section 12.4, table 3).
const (
	framePadding   = 0x00
	framePing      = 0x01
	frameAck       = 0x02
	frameAckECN    = 0x03
	frameCrypto    = 0x06
	frameCloseQUIC = 0x1c
	frameCloseApp  = 0x1d
	// frameGoogleCrypto is gQUIC's CRYPTO frame type.
	frameGoogleCrypto = 0x08
	maxAckRanges      = 256 // far above what fits in a datagram; bounds the loop
	cryptoMax         = 16 << 10
	maxRanges         = 8
	cryptoFramesMax   = 64 // per packet; Chrome splits a hello into ~10
)

// walkFrames calls crypto for every CRYPTO frame of a decrypted Initial
// payload and reports whether the payload parsed to its end. It stops at
// the first frame type that is not allowed in an Initial packet.
//
// Google's Q050/T05x Initials use gQUIC frame numbering, where CRYPTO is
// 0x08 (with IETF varint offset and length) and ACK differs; for those only
// PADDING and CRYPTO are walked.
func walkFrames(pt []byte, google bool, crypto func(off uint64, data []byte)) bool {
	frames := 0
	for i := 0; i < len(pt); {
		if pt[i] == framePadding {
			i = skipPadding(pt, i)
			continue
		}
		t, n := varint(pt, i)
		if n == 0 {
			return false
		}
		i += n
		if google {
			switch t {
			case framePadding:
				continue
			case frameGoogleCrypto:
				t = frameCrypto
			default:
				return false
			}
		}
		switch t {
		case framePadding, framePing:
		case frameAck, frameAckECN:
			var ok bool
			if i, ok = skipAck(pt, i, t == frameAckECN); !ok {
				return false
			}
		case frameCrypto:
			off, n1 := varint(pt, i)
			l, n2 := varint(pt, i+n1)
			if n1 == 0 || n2 == 0 {
				return false
			}
			i += n1 + n2
			if l > uint64(len(pt)-i) {
				return false
			}
			if frames++; frames > cryptoFramesMax {
				return false
			}
			crypto(off, pt[i:i+int(l)])
			i += int(l)
		case frameCloseQUIC, frameCloseApp:
			_, n1 := varint(pt, i) // error code
			if n1 == 0 {
				return false
			}
			i += n1
			if t == frameCloseQUIC {
				_, n2 := varint(pt, i) // offending frame type
				if n2 == 0 {
					return false
				}
				i += n2
			}
			l, n3 := varint(pt, i)
			if n3 == 0 || l > uint64(len(pt)-i-n3) {
				return false
			}
			i += n3 + int(l)
		default:
			return false
		}
	}
	return true
}

// skipPadding returns the offset of the first non-zero byte at or after
// b[i]. Initials are padded to 1200 bytes, so it looks at eight at a time.
func skipPadding(b []byte, i int) int {
	for i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:]) == 0 {
		i += 8
	}
	for i < len(b) && b[i] == framePadding {
		i++
	}
	return i
}

// skipAck returns the offset after an ACK frame body starting at b[i].
func skipAck(b []byte, i int, ecn bool) (int, bool) {
	// largest acknowledged, ACK delay, range count, then the ranges
	_, n := varint(b, i)
	if n == 0 {
		return i, false
	}
	i += n
	_, n = varint(b, i)
	if n == 0 {
		return i, false
	}
	i += n
	count, n := varint(b, i)
	if n == 0 || count > maxAckRanges {
		return i, false
	}
	i += n
	fields := 1 + 2*int(count) // first range, then gap/length pairs
	if ecn {
		fields += 3
	}
	for range fields {
		_, n = varint(b, i)
		if n == 0 {
			return i, false
		}
		i += n
	}
	return i, true
}

// cryptoBuf reassembles the start of a CRYPTO stream: bytes beyond
// cryptoMax are dropped, and at most maxRanges disjoint ranges are tracked
// (a fragment that would need more is dropped; the peer retransmits).
type cryptoBuf struct {
	buf    []byte // allocated at first use, cryptoMax bytes
	ranges [maxRanges]struct{ lo, hi int }
	n      int
}

func (c *cryptoBuf) reset() {
	c.n = 0
}

// insert stores data at stream offset off.
func (c *cryptoBuf) insert(off uint64, data []byte) {
	if off >= cryptoMax || len(data) == 0 {
		return
	}
	lo := int(off)
	hi := lo + min(len(data), cryptoMax-lo)
	// Find the ranges [lo, hi) touches or abuts and merge them.
	first, last := -1, -1
	for i := range c.n {
		r := c.ranges[i]
		if r.hi >= lo && r.lo <= hi {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 && c.n == maxRanges {
		return
	}
	if c.buf == nil {
		c.buf = make([]byte, cryptoMax)
	}
	copy(c.buf[lo:hi], data)
	if first < 0 {
		// Insert sorted.
		j := c.n
		for j > 0 && c.ranges[j-1].lo > lo {
			c.ranges[j] = c.ranges[j-1]
			j--
		}
		c.ranges[j] = struct{ lo, hi int }{lo, hi}
		c.n++
		return
	}
	c.ranges[first].lo = min(c.ranges[first].lo, lo)
	c.ranges[first].hi = max(c.ranges[last].hi, hi)
	removed := last - first
	copy(c.ranges[first+1:], c.ranges[last+1:c.n])
	c.n -= removed
}

// prefix returns the contiguous bytes from stream offset 0.
func (c *cryptoBuf) prefix() []byte {
	if c.n == 0 || c.ranges[0].lo != 0 {
		return nil
	}
	return c.buf[:c.ranges[0].hi]
}
