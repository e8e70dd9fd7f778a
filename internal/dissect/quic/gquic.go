package quic

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

// Google QUIC before Q046 uses a "public header": a flags byte, an 8-byte
// connection ID, the version tag when the client sets the version flag,
// then a 1-6 byte packet number. Client handshake packets are unencrypted
// (null encryption with a 12-byte hash), so the CHLO handshake message sits
// in the clear within a few dozen bytes of the header.
const (
	pubFlagVersion = 0x01
	pubFlagCID     = 0x08
	pubFlagPNLen   = 0x30
	pubFlagUnused  = 0x80
	chloSearch     = 64 // how far past the header the CHLO tag may start
	chloMaxTags    = 128
)

// parsePublicHeader checks a gQUIC public header with the version flag
// and returns the version and the offset after the packet number.
func parsePublicHeader(b []byte) (ver uint32, off int, ok bool) {
	if len(b) < 1+8+4+1 {
		return 0, 0, false
	}
	f := b[0]
	if f&pubFlagUnused != 0 || f&pubFlagVersion == 0 || f&pubFlagCID == 0 {
		return 0, 0, false
	}
	ver = binary.BigEndian.Uint32(b[9:])
	if !isGoogleTag(ver) || byte(ver>>24) != 'Q' {
		return 0, 0, false
	}
	pnLen := [4]int{1, 2, 4, 6}[(f&pubFlagPNLen)>>4]
	off = 13 + pnLen
	if off > len(b) {
		return 0, 0, false
	}
	return ver, off, true
}

// parseQ046Header checks Q046's long header: flags, "Q046", one byte of
// DCID/SCID length nibbles (each +3 when non-zero), the IDs and a 4-byte
// packet number.
func parseQ046Header(b []byte) (off int, ok bool) {
	if len(b) < 6 || b[0]&0xc0 != 0xc0 {
		return 0, false
	}
	dl, sl := int(b[5]>>4), int(b[5]&0x0f)
	if dl > 0 {
		dl += 3
	}
	if sl > 0 {
		sl += 3
	}
	off = 6 + dl + sl + int(b[0]&3) + 1
	if off > len(b) {
		return 0, false
	}
	return off, true
}

// findCHLO returns the offset of a "CHLO" tag within chloSearch bytes of
// b[from], or -1.
func findCHLO(b []byte, from int) int {
	end := min(len(b)-4, from+chloSearch)
	for i := from; i <= end; i++ {
		if b[i] == 'C' && b[i+1] == 'H' && b[i+2] == 'L' && b[i+3] == 'O' {
			return i
		}
	}
	return -1
}

// chloStatus is what parseCHLO made of a message prefix.
type chloStatus uint8

const (
	chloBad chloStatus = iota
	chloPartial
	chloComplete
)

// parseCHLO reads a Google crypto handshake message ("CHLO", uint16 LE tag
// count, 2 bytes padding, count x (tag, uint32 LE end offset), values) and
// copies the SNI and UAID tags into m when m is non-nil. A message cut off
// by the end of msg yields chloPartial with the tags seen so far.
func parseCHLO(msg []byte, m *dissect.Meta) chloStatus {
	if len(msg) < 8 || string(msg[:4]) != "CHLO" {
		return chloBad
	}
	n := int(binary.LittleEndian.Uint16(msg[4:]))
	if n == 0 || n > chloMaxTags {
		return chloBad
	}
	base := 8 + 8*n
	if base > len(msg) {
		return chloPartial
	}
	prev := uint32(0)
	status := chloComplete
	for i := range n {
		e := msg[8+8*i:]
		end := binary.LittleEndian.Uint32(e[4:])
		if end < prev {
			return chloBad
		}
		if uint64(base)+uint64(end) > uint64(len(msg)) {
			status = chloPartial
			break
		}
		val := msg[base+int(prev) : base+int(end)]
		prev = end
		if m == nil {
			continue
		}
		switch string(e[:4]) {
		case "SNI\x00":
			if h, ok := hostString(val); ok {
				m.Host = h
			}
		case "UAID":
			if printable(val) && len(val) > 0 {
				m.HTTP.UserAgent = intern.Bytes(val)
			}
		}
	}
	return status
}

// hostString lower-cases a server name and strips one trailing dot; it
// rejects names with bytes outside printable ASCII.
func hostString(b []byte) (string, bool) {
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || len(b) > 253 || !printable(b) {
		return "", false
	}
	return intern.LowerASCII(b), true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
