package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/weirnet/weir/internal/dissect/aesblock"
)

// Long-header packet types after mapping v2's codes onto v1's (RFC 9369
// section 3.2 swaps them around).
const (
	typeInitial   = 0
	type0RTT      = 1
	typeHandshake = 2
	typeRetry     = 3
)

const maxCIDLen = 20 // RFC 9000 section 17.2 for v1; drafts 22+ agree

// longHeader is one parsed long-header packet inside a datagram. Offsets
// index the datagram.
type longHeader struct {
	version uint32
	typ     uint8
	dcid    span
	scid    span
	pnOff   int // start of the (protected) packet number
	end     int // end of this packet (coalesced packets follow)
}

type span struct{ off, n int }

func (s span) of(b []byte) []byte { return b[s.off : s.off+s.n] }

// parseLong parses the long header starting at b[off]. For Version
// Negotiation (version 0) only the connection IDs are filled and end is
// len(b). It does not look at the version table.
func parseLong(b []byte, off int, v2 bool) (h longHeader, ok bool) {
	if off+7 > len(b) || b[off]&0x80 == 0 {
		return h, false
	}
	first := b[off]
	h.version = binary.BigEndian.Uint32(b[off+1:])
	i := off + 5
	h.dcid = span{i + 1, int(b[i])}
	i += 1 + h.dcid.n
	if h.dcid.n > maxCIDLen || i >= len(b) {
		return h, false
	}
	h.scid = span{i + 1, int(b[i])}
	i += 1 + h.scid.n
	if h.scid.n > maxCIDLen || i > len(b) {
		return h, false
	}
	if h.version == 0 {
		h.end = len(b)
		return h, true
	}
	if first&0x40 == 0 { // fixed bit (RFC 9000 section 17.2)
		return h, false
	}
	h.typ = (first >> 4) & 3
	if v2 {
		h.typ = (h.typ + 3) & 3 // v2: 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry
	}
	if h.typ == typeRetry {
		// Token then a 16-byte integrity tag; nothing else to check.
		if len(b)-i < 16 {
			return h, false
		}
		h.end = len(b)
		return h, true
	}
	if h.typ == typeInitial {
		tl, n := varint(b, i)
		if n == 0 || tl > uint64(len(b)-i-n) {
			return h, false
		}
		i += n + int(tl)
	}
	length, n := varint(b, i)
	if n == 0 {
		return h, false
	}
	i += n
	// The payload must hold the 4-byte header-protection sample offset and
	// the 16-byte sample itself (RFC 9001 section 5.4.2).
	if length < 20 || length > uint64(len(b)-i) {
		return h, false
	}
	h.pnOff = i
	h.end = i + int(length)
	return h, true
}

// keySet is the client Initial protection derived from one DCID.
type keySet struct {
	version uint32
	dcid    [maxCIDLen]byte
	dcidLen uint8
	aead    cipher.AEAD
	hp      [16]byte // header-protection key: one block per packet, so no cipher
	iv      [12]byte
	largest int64 // largest packet number opened, -1 before the first
}

func (k *keySet) matches(ver uint32, dcid []byte) bool {
	return k.version == ver && string(k.dcid[:k.dcidLen]) == string(dcid)
}

// deriveClientKeys fills k for the client's Initial packets of version v
// (RFC 9001 section 5.2; RFC 9369 section 3.3 for the v2 labels).
func deriveClientKeys(k *keySet, ver uint32, v version, dcid []byte) bool {
	if len(dcid) > maxCIDLen || v.saltKey == nil {
		return false
	}
	d := derivers.Get().(*deriver)
	defer derivers.Put(d)
	initial := d.mac(v.saltKey, dcid) // HKDF-Extract(salt, dcid)
	d.setKey(&d.secret, initial[:])
	client := d.expandLabel("client in", 32)
	d.setKey(&d.secret, client[:])
	keyLabel, ivLabel, hpLabel := "quic key", "quic iv", "quic hp"
	if v.v2 {
		keyLabel, ivLabel, hpLabel = "quicv2 key", "quicv2 iv", "quicv2 hp"
	}
	key := d.expandLabel(keyLabel, 16)
	iv := d.expandLabel(ivLabel, 12)
	hp := d.expandLabel(hpLabel, 16)
	blk, err := aes.NewCipher(key[:16])
	if err != nil {
		return false
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return false
	}
	*k = keySet{version: ver, dcidLen: uint8(len(dcid)), aead: aead, largest: -1}
	copy(k.hp[:], hp[:16])
	copy(k.dcid[:], dcid)
	copy(k.iv[:], iv[:12])
	return true
}

// hmacKey is HMAC-SHA256 (RFC 2104) keyed once: the hash states after its
// inner and outer key blocks, marshaled. An HMAC under it then hashes only
// its message: a QUIC Initial's key, IV and header key share one secret,
// and every Initial of a version shares the salt (five HMACs of four
// blocks each became one of two, one of four and three of two).
type hmacKey struct {
	inner, outer [sha256Marshaled]byte
}

// sha256Marshaled is the size of a marshaled crypto/sha256 state; TestHMACKey
// checks it against the HMAC it computes.
const sha256Marshaled = 4 + sha256.Size + sha256.BlockSize + 8

type sha256Hash interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// deriver holds a hash and buffers for deriveClientKeys: hash.Hash's
// methods make their arguments escape, so buffers on the stack would be
// allocated on every call.
type deriver struct {
	h      sha256Hash
	secret hmacKey
	block  [sha256.BlockSize]byte
	sum    [2 * sha256.Size]byte
	info   [2 + 1 + 6 + 16 + 1 + 1]byte
}

var derivers = sync.Pool{New: func() any { return &deriver{h: sha256.New().(sha256Hash)} }}

// setKey keys k with key (at most one block).
func (d *deriver) setKey(k *hmacKey, key []byte) {
	for i := range d.block {
		var b byte
		if i < len(key) {
			b = key[i]
		}
		d.block[i] = b ^ 0x36
	}
	d.h.Reset()
	d.h.Write(d.block[:])
	d.h.AppendBinary(k.inner[:0])
	for i := range d.block {
		d.block[i] ^= 0x36 ^ 0x5c
	}
	d.h.Reset()
	d.h.Write(d.block[:])
	d.h.AppendBinary(k.outer[:0])
}

// mac is HMAC-SHA256 of msg under k.
func (d *deriver) mac(k *hmacKey, msg []byte) (out [sha256.Size]byte) {
	d.h.UnmarshalBinary(k.inner[:])
	d.h.Write(msg)
	inner := d.h.Sum(d.sum[:0])
	d.h.UnmarshalBinary(k.outer[:])
	d.h.Write(inner)
	copy(out[:], d.h.Sum(d.sum[sha256.Size:sha256.Size]))
	return out
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context (RFC
// 8446 section 7.1) under d.secret, for outputs of at most one SHA-256
// block (QUIC's Initial secrets, keys, IVs and header keys): HKDF-Expand's
// first block T(1) = HMAC(secret, info || 0x01), of which callers take the
// length they asked for (n, at most 32, encoded in info).
func (d *deriver) expandLabel(label string, n int) [sha256.Size]byte {
	info := &d.info
	info[0], info[1] = byte(n>>8), byte(n)
	info[2] = byte(6 + len(label))
	m := 3 + copy(info[3:], "tls13 ")
	m += copy(info[m:], label)
	info[m] = 0   // empty context
	info[m+1] = 1 // HKDF-Expand block counter
	return d.mac(&d.secret, info[:m+2])
}

// saltKeys holds each Initial salt keyed once.
var saltKeys = func() map[*[20]byte]*hmacKey {
	m := map[*[20]byte]*hmacKey{}
	d := derivers.Get().(*deriver)
	defer derivers.Put(d)
	for _, s := range []*[20]byte{&saltV1, &saltV2, &saltDraft29, &saltDraft23, &saltDraft22, &saltQ050, &saltT050, &saltT051} {
		k := new(hmacKey)
		d.setKey(k, s[:])
		m[s] = k
	}
	return m
}()

// decodePN expands a truncated packet number (RFC 9000 appendix A.3).
func decodePN(largest int64, truncated uint64, pnLen int) int64 {
	expected := largest + 1
	win := int64(1) << (8 * pnLen)
	half := win / 2
	candidate := (expected &^ (win - 1)) | int64(truncated)
	switch {
	case candidate <= expected-half && candidate < (1<<62)-win:
		return candidate + win
	case candidate > expected+half && candidate >= win:
		return candidate - win
	}
	return candidate
}

// open copies the packet b[start:h.end] into the scratch buffer, removes
// header protection and opens the payload with k. It returns the plaintext
// (aliasing the scratch buffer) or nil if authentication fails.
func (d *Dissector) open(b []byte, start int, h *longHeader, k *keySet) []byte {
	n := h.end - start
	if cap(d.scratch) < n {
		d.scratch = make([]byte, max(n, 1500))
	}
	pkt := d.scratch[:n]
	copy(pkt, b[start:h.end])
	pn := h.pnOff - start
	copy(d.mask[:], pkt[pn+4:pn+20])
	aesblock.Encrypt128(&k.hp, &d.mask)
	pkt[0] ^= d.mask[0] & 0x0f
	pnLen := int(pkt[0]&3) + 1
	var truncated uint64
	for i := range pnLen {
		pkt[pn+i] ^= d.mask[1+i]
		truncated = truncated<<8 | uint64(pkt[pn+i])
	}
	full := decodePN(k.largest, truncated, pnLen)
	d.nonce = k.iv
	for i := range 8 {
		d.nonce[4+i] ^= byte(uint64(full) >> (56 - 8*i))
	}
	body := pkt[pn+pnLen:]
	pt, err := k.aead.Open(body[:0], d.nonce[:], body, pkt[:pn+pnLen])
	if err != nil {
		return nil
	}
	if full > k.largest {
		k.largest = full
	}
	return pt
}
