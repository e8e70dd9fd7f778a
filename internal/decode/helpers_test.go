package decode

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// hx decodes annotated hex: whitespace and '|' are ignored, '#' starts a
// comment that runs to the end of the line.
func hx(s string) []byte {
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, r := range line {
			if r != ' ' && r != '\t' && r != '|' && r != '\r' {
				sb.WriteRune(r)
			}
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		panic(fmt.Sprintf("bad test hex %q: %v", s, err))
	}
	return b
}

// view is the part of a decode outcome the table tests compare.
type view struct {
	Res      Result
	Reason   Reason
	Family   uint8
	Src, Dst string
	Proto    uint8
	SPort    uint16
	DPort    uint16
	VLAN     uint16
	Tunnel   Tunnel
	Flags    uint8
	Payload  string
	Frag     bool
	Frames   int
	WireLen  int
}

func viewOf(r Result, d *Decoder, p *Parsed) view {
	v := view{Res: r, Reason: d.LastReason()}
	if r != OK {
		return v
	}
	v.Family, v.Proto, v.SPort, v.DPort, v.VLAN, v.Tunnel, v.Flags = p.Family, p.Proto, p.SrcPort, p.DstPort, p.VLAN, p.Tunnel, p.TCPFlags
	v.Src, v.Dst = addrString(p.Family, p.Src), addrString(p.Family, p.Dst)
	v.Payload = string(p.Payload)
	v.Frag, v.Frames, v.WireLen = p.Fragmented, p.Frames, p.WireLen
	return v
}

func addrString(fam uint8, a [16]byte) string {
	switch fam {
	case 4:
		return netip.AddrFrom4([4]byte(a[:4])).String()
	case 6:
		return netip.AddrFrom16(a).String()
	}
	return ""
}

func diffView(t *testing.T, got, want view) {
	t.Helper()
	if got != want {
		t.Errorf("(-got, +want)\n- %+v\n+ %+v", got, want)
	}
}

func mustNew(t testing.TB, cfg Config) *Decoder {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Byte builders for the programmatic tests (fragments, deep nesting).

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func ethHdr(etype uint16, vlans ...uint16) []byte {
	b := hx("02 00 00 00 00 02  02 00 00 00 00 01")
	for _, v := range vlans {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return binary.BigEndian.AppendUint16(b, etype)
}

var (
	srcA = [4]byte{192, 0, 2, 1}
	dstA = [4]byte{192, 0, 2, 2}
	srcB = netip.MustParseAddr("2001:db8::1").As16()
	dstB = netip.MustParseAddr("2001:db8::2").As16()
)

// ipv4Hdr builds a 20-byte header; frag is the flags+offset field (offset
// in bytes, multiple of 8; mf sets More Fragments).
func ipv4Hdr(proto uint8, id uint16, off int, mf bool, payloadLen int) []byte {
	b := make([]byte, 20)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+payloadLen))
	binary.BigEndian.PutUint16(b[4:], id)
	fo := uint16(off / 8)
	if mf {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], fo)
	b[8] = 64
	b[9] = proto
	copy(b[12:], srcA[:])
	copy(b[16:], dstA[:])
	return b
}

func ipv6Hdr(nh uint8, payloadLen int) []byte {
	b := make([]byte, 40)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(payloadLen))
	b[6] = nh
	b[7] = 64
	copy(b[8:], srcB[:])
	copy(b[24:], dstB[:])
	return b
}

func fragHdr6(nh uint8, id uint32, off int, more bool) []byte {
	b := make([]byte, 8)
	b[0] = nh
	fo := uint16(off)
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[2:], fo)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

func udpHdr(sp, dp uint16, payloadLen int) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint16(b[4:], uint16(8+payloadLen))
	return b
}

func tcpHdr(sp, dp uint16, flags uint8) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 1024)
	return b
}

// udp4 is a whole IPv4/UDP packet.
func udp4(sp, dp uint16, payload []byte) []byte {
	return cat(ipv4Hdr(17, 1, 0, false, 8+len(payload)), udpHdr(sp, dp, len(payload)), payload)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}
