package aesblock

import (
	"crypto/aes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestAgainstCryptoAES compares both key sizes with crypto/aes, plus the
// FIPS-197 appendix C.1 and C.3 vectors.
func TestAgainstCryptoAES(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var k16 [16]byte
		var k32 [32]byte
		var blk [16]byte
		for j := range k32 {
			k32[j] = byte(r.Uint32())
		}
		copy(k16[:], k32[8:])
		for j := range blk {
			blk[j] = byte(r.Uint32())
		}
		for _, key := range [][]byte{k16[:], k32[:]} {
			c, err := aes.NewCipher(key)
			if err != nil {
				t.Fatal(err)
			}
			var want [16]byte
			c.Encrypt(want[:], blk[:])
			got := blk
			if len(key) == 16 {
				Encrypt128(&k16, &got)
			} else {
				Encrypt256(&k32, &got)
			}
			if got != want {
				t.Fatalf("case %d, %d-byte key: got %x, want %x", i, len(key), got, want)
			}
		}
	}
	var key128 [16]byte
	var key256 [32]byte
	var pt [16]byte
	for i := range key256 {
		key256[i] = byte(i)
	}
	copy(key128[:], key256[:16])
	for i := range pt {
		pt[i] = byte(i * 0x11)
	}
	b := pt
	Encrypt128(&key128, &b)
	if got := hex.EncodeToString(b[:]); got != "69c4e0d86a7b0430d8cdb78070b4c55a" {
		t.Errorf("FIPS-197 C.1: %s", got)
	}
	b = pt
	Encrypt256(&key256, &b)
	if got := hex.EncodeToString(b[:]); got != "8ea2b7ca516745bfeafc49904b496089" {
		t.Errorf("FIPS-197 C.3: %s", got)
	}
}

func TestNoAllocs(t *testing.T) {
	var k16 [16]byte
	var k32 [32]byte
	var blk [16]byte
	if n := testing.AllocsPerRun(100, func() { Encrypt128(&k16, &blk); Encrypt256(&k32, &blk) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

var sink [16]byte

func BenchmarkEncrypt128(b *testing.B) {
	var key [16]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key[0] = byte(i)
		Encrypt128(&key, &sink)
	}
}

// BenchmarkCryptoAES128 is the same work through crypto/aes: a cipher per
// key, then one block.
func BenchmarkCryptoAES128(b *testing.B) {
	var key [16]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key[0] = byte(i)
		c, _ := aes.NewCipher(key[:])
		c.Encrypt(sink[:], sink[:])
	}
}
