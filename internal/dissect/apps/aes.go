package apps

// A minimal AES-256 block encryption (FIPS-197) so the MTProto obfuscation
// check runs without allocating: crypto/aes.NewCipher allocates per key, and
// every candidate TCP flow brings a new key. Only encryption of one block is
// needed (CTR mode). Not constant-time; it only classifies traffic.

var sbox = makeSbox()

func xtime(x byte) byte {
	if x&0x80 != 0 {
		return x<<1 ^ 0x1b
	}
	return x << 1
}

// makeSbox builds FIPS-197's S-box: the multiplicative inverse in GF(2^8),
// found through log and antilog tables of the generator 3, then the affine
// map.
func makeSbox() (s [256]byte) {
	var exp, log [256]byte
	x := byte(1)
	for i := range 255 {
		exp[i], log[x] = x, byte(i)
		x ^= xtime(x) // x *= 3
	}
	for i := range 256 {
		var inv byte
		if i != 0 {
			inv = exp[(255-int(log[i]))%255]
		}
		s[i] = inv ^ rotl(inv, 1) ^ rotl(inv, 2) ^ rotl(inv, 3) ^ rotl(inv, 4) ^ 0x63
	}
	return s
}

func rotl(x byte, n uint) byte { return x<<n | x>>(8-n) }

// aes256Encrypt encrypts one block in place with a 32-byte key.
func aes256Encrypt(key *[32]byte, blk *[16]byte) {
	var w [60][4]byte
	for i := 0; i < 8; i++ {
		copy(w[i][:], key[4*i:])
	}
	rcon := byte(1)
	for i := 8; i < 60; i++ {
		t := w[i-1]
		switch i % 8 {
		case 0:
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = xtime(rcon)
		case 4:
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for j := 0; j < 4; j++ {
			w[i][j] = w[i-8][j] ^ t[j]
		}
	}
	s := blk
	addKey := func(r int) {
		for c := 0; c < 4; c++ {
			for j := 0; j < 4; j++ {
				s[4*c+j] ^= w[4*r+c][j]
			}
		}
	}
	addKey(0)
	for r := 1; r <= 14; r++ {
		var t [16]byte
		for c := 0; c < 4; c++ { // SubBytes + ShiftRows
			for j := 0; j < 4; j++ {
				t[4*c+j] = sbox[s[4*((c+j)%4)+j]]
			}
		}
		if r < 14 { // MixColumns
			for c := 0; c < 4; c++ {
				a0, a1, a2, a3 := t[4*c], t[4*c+1], t[4*c+2], t[4*c+3]
				t[4*c] = xtime(a0) ^ xtime(a1) ^ a1 ^ a2 ^ a3
				t[4*c+1] = a0 ^ xtime(a1) ^ xtime(a2) ^ a2 ^ a3
				t[4*c+2] = a0 ^ a1 ^ xtime(a2) ^ xtime(a3) ^ a3
				t[4*c+3] = xtime(a0) ^ a0 ^ a1 ^ a2 ^ xtime(a3)
			}
		}
		*s = t
		addKey(r)
	}
}
