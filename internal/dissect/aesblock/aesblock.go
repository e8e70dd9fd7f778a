package aesblock

import "encoding/binary"

// sbox is the S-box; te0..te3 fold SubBytes, ShiftRows and MixColumns of
// one byte into a column word (te1..te3 are te0 rotated).
var sbox, te0, te1, te2, te3 = tables()

func xtime(x byte) byte {
	if x&0x80 != 0 {
		return x<<1 ^ 0x1b
	}
	return x << 1
}

func rotl8(x byte, n uint) byte { return x<<n | x>>(8-n) }

func tables() (s [256]byte, t0, t1, t2, t3 [256]uint32) {
	// Inverse in GF(2^8) through log and antilog tables of the generator 3,
	// then the affine map.
	var exp, log [256]byte
	x := byte(1)
	for i := range 255 {
		exp[i], log[x] = x, byte(i)
		x ^= xtime(x)
	}
	for i := range 256 {
		var inv byte
		if i != 0 {
			inv = exp[(255-int(log[i]))%255]
		}
		s[i] = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63
	}
	for i := range 256 {
		v := s[i]
		w := uint32(xtime(v))<<24 | uint32(v)<<16 | uint32(v)<<8 | uint32(xtime(v)^v)
		t0[i] = w
		t1[i] = w>>8 | w<<24
		t2[i] = w>>16 | w<<16
		t3[i] = w>>24 | w<<8
	}
	return
}

func subWord(w uint32) uint32 {
	return uint32(sbox[w>>24])<<24 | uint32(sbox[w>>16&0xff])<<16 | uint32(sbox[w>>8&0xff])<<8 | uint32(sbox[w&0xff])
}

// expand fills w with the key schedule of key (4 or 8 words, big-endian).
func expand(w []uint32, key []byte) {
	nk := len(key) / 4
	for i := range nk {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1)
	for i := nk; i < len(w); i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(t<<8|t>>24) ^ rcon<<24
			rcon = uint32(xtime(byte(rcon)))
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
}

// encrypt runs the rounds of the schedule w over blk.
func encrypt(w []uint32, blk *[16]byte) {
	s0 := binary.BigEndian.Uint32(blk[0:]) ^ w[0]
	s1 := binary.BigEndian.Uint32(blk[4:]) ^ w[1]
	s2 := binary.BigEndian.Uint32(blk[8:]) ^ w[2]
	s3 := binary.BigEndian.Uint32(blk[12:]) ^ w[3]
	rounds := len(w)/4 - 1
	k := 4
	for range rounds - 1 {
		t0 := te0[s0>>24] ^ te1[s1>>16&0xff] ^ te2[s2>>8&0xff] ^ te3[s3&0xff] ^ w[k]
		t1 := te0[s1>>24] ^ te1[s2>>16&0xff] ^ te2[s3>>8&0xff] ^ te3[s0&0xff] ^ w[k+1]
		t2 := te0[s2>>24] ^ te1[s3>>16&0xff] ^ te2[s0>>8&0xff] ^ te3[s1&0xff] ^ w[k+2]
		t3 := te0[s3>>24] ^ te1[s0>>16&0xff] ^ te2[s1>>8&0xff] ^ te3[s2&0xff] ^ w[k+3]
		s0, s1, s2, s3 = t0, t1, t2, t3
		k += 4
	}
	// The last round has no MixColumns.
	t0 := subWord(s0&0xff000000|s1&0xff0000|s2&0xff00|s3&0xff) ^ w[k]
	t1 := subWord(s1&0xff000000|s2&0xff0000|s3&0xff00|s0&0xff) ^ w[k+1]
	t2 := subWord(s2&0xff000000|s3&0xff0000|s0&0xff00|s1&0xff) ^ w[k+2]
	t3 := subWord(s3&0xff000000|s0&0xff0000|s1&0xff00|s2&0xff) ^ w[k+3]
	binary.BigEndian.PutUint32(blk[0:], t0)
	binary.BigEndian.PutUint32(blk[4:], t1)
	binary.BigEndian.PutUint32(blk[8:], t2)
	binary.BigEndian.PutUint32(blk[12:], t3)
}

// Encrypt128 encrypts blk in place with a 16-byte key.
func Encrypt128(key *[16]byte, blk *[16]byte) {
	var w [44]uint32
	expand(w[:], key[:])
	encrypt(w[:], blk)
}

// Encrypt256 encrypts blk in place with a 32-byte key.
func Encrypt256(key *[32]byte, blk *[16]byte) {
	var w [60]uint32
	expand(w[:], key[:])
	encrypt(w[:], blk)
}
