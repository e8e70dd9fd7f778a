package capture

import (
	"fmt"
	"math/bits"
)

// pcapng block types this reader interprets; all others are skipped.
const (
	blockSHB = 0x0a0d0d0a // byte-order independent (a palindrome)
	blockIDB = 1
	blockOPB = 2 // obsolete packet block
	blockSPB = 3
	blockEPB = 6

	bomBig = 0x1a2b3c4d

	shbMinLen    = 28 // type, len, BOM, major, minor, section length, trailer
	idbMinLen    = 20
	spbMinLen    = 16
	epbMinLen    = 32
	epbHeaderLen = 28 // bytes before packet data in an EPB/OPB

	// maxPacketBlock bounds EPB/OPB/SPB: MaxCapLen of data plus generous
	// room for options. A larger one is corrupt; rejecting it up front
	// keeps a flipped length bit from growing the stream buffer.
	maxPacketBlock = MaxCapLen + 64<<10

	optEndOfOpt = 0
	optTSResol  = 9
	optTSOffset = 14
)

// iface is one Interface Description Block of the current section.
type iface struct {
	link    LinkType
	snaplen uint32 // 0 = unlimited
	conv    tsConv
}

// tsConv converts an interface's timestamp units to ns since the epoch.
// It is precomputed per IDB so the per-packet cost is one multiply, divide
// or shift.
type tsConv struct {
	kind uint8
	k    uint64
	off  int64 // if_tsoffset in ns
}

const (
	tsMul   = iota // units * k
	tsDiv          // units / k
	tsShift        // units / 2^k, k in [0,127]
	tsZero         // resolution so fine that every timestamp is < 1 ns
)

// newTSConv builds the conversion for an if_tsresol byte: MSB clear means
// 10^-v seconds per unit, MSB set means 2^-(v&0x7f).
func newTSConv(resol uint8, offSec int64) tsConv {
	c := tsConv{off: offSec * 1e9}
	if resol&0x80 != 0 {
		c.kind, c.k = tsShift, uint64(resol&0x7f)
		return c
	}
	e := int(resol)
	switch {
	case e <= 9:
		c.kind, c.k = tsMul, pow10(9-e)
	case e-9 <= 19: // 10^19 still fits in uint64
		c.kind, c.k = tsDiv, pow10(e-9)
	default:
		c.kind = tsZero
	}
	return c
}

func pow10(n int) uint64 {
	v := uint64(1)
	for range n {
		v *= 10
	}
	return v
}

func (c *tsConv) ns(u uint64) int64 {
	switch c.kind {
	case tsMul:
		return int64(u*c.k) + c.off
	case tsDiv:
		return int64(u/c.k) + c.off
	case tsShift:
		// Whole seconds and the fraction separately, the fraction scaled
		// in 128 bits so no resolution overflows.
		n := uint(c.k)
		var sec, frac uint64
		if n < 64 {
			sec, frac = u>>n, u&(1<<n-1)
		} else {
			frac = u
		}
		hi, lo := bits.Mul64(frac, 1e9)
		var f uint64
		if n >= 64 {
			f = hi >> (n - 64)
		} else {
			f = lo>>n | hi<<(64-n)
		}
		return int64(sec*1e9+f) + c.off
	}
	return c.off
}

// readSHB parses the Section Header Block at r.pos. Each section carries its
// own byte order, and interface ids restart at 0.
func (r *Reader) readSHB() error {
	off := r.off()
	if have := r.fill(12); have < 12 {
		return r.short(off, "truncated section header", 12, int64(have))
	}
	b := r.data[r.pos : r.pos+12]
	switch bom := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11]); bom {
	case bomBig:
		r.be = true
	case bits.ReverseBytes32(bomBig):
		r.be = false
	default:
		return r.fail(off, ErrCorrupt, "bad pcapng byte-order magic", fmt.Sprintf("%08x", bom))
	}
	total := r.u32(b[4:])
	if total < shbMinLen || total%4 != 0 {
		return r.fail(off, ErrCorrupt, "invalid section header length", fmt.Sprintf("%d", total))
	}
	b, err := r.block(off, total)
	if err != nil {
		return err
	}
	if major := r.u16(b[12:]); major != 1 {
		return r.fail(off, ErrUnsupported, "unsupported pcapng version", fmt.Sprintf("%d.%d", major, r.u16(b[14:])))
	}
	// No section option matters for reading packets, but a malformed
	// option list means the lengths cannot be trusted.
	o := optReader{r: r, b: b[24 : total-4]}
	for o.next() {
	}
	if o.bad {
		return r.fail(off, ErrCorrupt, "malformed section header option", "")
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *Reader) nextPcapng(p *Packet) error {
	for {
		off := r.off()
		have := r.fill(8)
		if have < 8 {
			if have == 0 {
				return r.eof()
			}
			return r.short(off, "truncated block header", 8, int64(have))
		}
		h := r.data[r.pos : r.pos+8]
		if h[0] == 0x0a && h[1] == 0x0d && h[2] == 0x0d && h[3] == 0x0a {
			if err := r.readSHB(); err != nil {
				return err
			}
			continue
		}
		typ, total := r.u32(h), r.u32(h[4:])
		if total < 12 || total%4 != 0 {
			return r.fail(off, ErrCorrupt, "invalid block length", fmt.Sprintf("%d", total))
		}
		switch typ {
		case blockIDB:
			b, err := r.block(off, total)
			if err != nil {
				return err
			}
			if err := r.addIface(off, b); err != nil {
				return err
			}
		case blockEPB, blockOPB, blockSPB:
			if total > maxPacketBlock {
				return r.fail(off, ErrCorrupt, "packet block too large", fmt.Sprintf("%d bytes, limit %d", total, maxPacketBlock))
			}
			b, err := r.block(off, total)
			if err != nil {
				return err
			}
			if typ == blockSPB {
				return r.simplePacket(p, off, b)
			}
			return r.packetBlock(p, off, b, typ == blockOPB)
		default:
			if err := r.skipBlock(off, total); err != nil {
				return err
			}
		}
	}
}

// block makes the whole block at r.pos available, checks its trailing
// length and consumes it. The returned slice is valid until the next fill.
func (r *Reader) block(off int64, total uint32) ([]byte, error) {
	if total > maxBlockLen {
		return nil, r.fail(off, ErrCorrupt, "block too large", fmt.Sprintf("%d bytes, limit %d", total, maxBlockLen))
	}
	n := int(total)
	if have := r.fill(n); have < n {
		return nil, r.short(off, "truncated block", int64(n), int64(have))
	}
	b := r.data[r.pos : r.pos+n]
	if trail := r.u32(b[n-4:]); trail != total {
		return nil, r.fail(off, ErrCorrupt, "block length mismatch", fmt.Sprintf("leading %d, trailing %d", total, trail))
	}
	r.pos += n
	return b, nil
}

// skipBlock consumes a block this reader does not interpret. One that does
// not fit the current buffer is streamed past rather than buffered; both
// ways report the same errors.
func (r *Reader) skipBlock(off int64, total uint32) error {
	if total <= maxBlockLen && int64(total) <= int64(len(r.data)) {
		_, err := r.block(off, total)
		return err
	}
	body := int64(total) - 4
	if got := r.skip(body); got < body {
		return r.short(off, "truncated block", int64(total), got)
	}
	if have := r.fill(4); have < 4 {
		return r.short(off, "truncated block", int64(total), body+int64(have))
	}
	if trail := r.u32(r.data[r.pos:]); trail != total {
		return r.fail(off, ErrCorrupt, "block length mismatch", fmt.Sprintf("leading %d, trailing %d", total, trail))
	}
	r.pos += 4
	return nil
}

func (r *Reader) addIface(off int64, b []byte) error {
	if len(b) < idbMinLen {
		return r.fail(off, ErrCorrupt, "interface description block too short", fmt.Sprintf("%d bytes", len(b)))
	}
	ifc := iface{link: LinkType(r.u16(b[8:])), snaplen: r.u32(b[12:])}
	resol, tsOff := uint8(6), int64(0)
	o := optReader{r: r, b: b[16 : len(b)-4]}
	for o.next() {
		switch o.code {
		case optTSResol:
			if len(o.val) != 1 {
				return r.fail(off, ErrCorrupt, "bad if_tsresol option", fmt.Sprintf("length %d", len(o.val)))
			}
			resol = o.val[0]
		case optTSOffset:
			if len(o.val) != 8 {
				return r.fail(off, ErrCorrupt, "bad if_tsoffset option", fmt.Sprintf("length %d", len(o.val)))
			}
			tsOff = int64(r.u64(o.val))
		}
	}
	if o.bad {
		return r.fail(off, ErrCorrupt, "malformed interface option", "")
	}
	ifc.conv = newTSConv(resol, tsOff)
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// packetBlock decodes an EPB, or an OPB (obsolete=true), whose fixed part
// differs only in a 16-bit interface id followed by a drops counter.
func (r *Reader) packetBlock(p *Packet, off int64, b []byte, obsolete bool) error {
	if len(b) < epbMinLen {
		return r.fail(off, ErrCorrupt, "packet block too short", fmt.Sprintf("%d bytes", len(b)))
	}
	var id uint32
	if obsolete {
		id = uint32(r.u16(b[8:]))
	} else {
		id = r.u32(b[8:])
	}
	if uint64(id) >= uint64(len(r.ifaces)) {
		return r.fail(off, ErrCorrupt, "packet references unknown interface", fmt.Sprintf("id %d, %d defined", id, len(r.ifaces)))
	}
	ifc := &r.ifaces[id]
	units := uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
	capLen, origLen := r.u32(b[20:]), r.u32(b[24:])
	if capLen > MaxCapLen {
		return r.fail(off, ErrCorrupt, "record length too large", fmt.Sprintf("caplen %d, limit %d", capLen, MaxCapLen))
	}
	// The block length is a multiple of 4, so fitting capLen also fits
	// its padding.
	if int(capLen) > len(b)-4-epbHeaderLen {
		return r.fail(off, ErrCorrupt, "captured length exceeds block", fmt.Sprintf("caplen %d, block %d", capLen, len(b)))
	}
	end := epbHeaderLen + int(min(capLen, origLen)) // see nextPcap
	data := b[epbHeaderLen:end:end]
	ts := ifc.conv.ns(units)
	r.lastTS = ts
	p.Data = data
	p.WireLen = int(origLen)
	p.TS = ts
	p.LinkType = ifc.link
	p.Offset = off
	return nil
}

// simplePacket decodes an SPB: interface 0, no timestamp (the previous
// packet's is reused so time stays monotonic for flow expiry), captured
// length implied by the original length and the snaplen.
func (r *Reader) simplePacket(p *Packet, off int64, b []byte) error {
	if len(b) < spbMinLen {
		return r.fail(off, ErrCorrupt, "simple packet block too short", fmt.Sprintf("%d bytes", len(b)))
	}
	if len(r.ifaces) == 0 {
		return r.fail(off, ErrCorrupt, "packet references unknown interface", "simple packet block, 0 defined")
	}
	ifc := &r.ifaces[0]
	origLen := r.u32(b[8:])
	capLen := origLen
	if ifc.snaplen != 0 && capLen > ifc.snaplen {
		capLen = ifc.snaplen
	}
	if capLen > MaxCapLen {
		return r.fail(off, ErrCorrupt, "record length too large", fmt.Sprintf("caplen %d, limit %d", capLen, MaxCapLen))
	}
	if int(capLen) > len(b)-spbMinLen {
		return r.fail(off, ErrCorrupt, "captured length exceeds block", fmt.Sprintf("caplen %d, block %d", capLen, len(b)))
	}
	p.Data = b[12 : 12+int(capLen) : 12+int(capLen)]
	p.WireLen = int(origLen)
	p.TS = r.lastTS
	p.LinkType = ifc.link
	p.Offset = off
	return nil
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return uint64(r.u32(b))<<32 | uint64(r.u32(b[4:]))
	}
	return uint64(r.u32(b[4:]))<<32 | uint64(r.u32(b))
}

// optReader walks a pcapng option list (code, length, value padded to 4)
// with a sticky failure flag: next returns false at the end or on the first
// malformed option, and bad tells which.
type optReader struct {
	r    *Reader
	b    []byte
	code uint16
	val  []byte
	bad  bool
}

func (o *optReader) next() bool {
	if o.bad || len(o.b) == 0 {
		return false
	}
	if len(o.b) < 4 {
		o.bad = true
		return false
	}
	code, l := o.r.u16(o.b), int(o.r.u16(o.b[2:]))
	if code == optEndOfOpt {
		o.b = nil
		return false
	}
	if 4+l > len(o.b) {
		o.bad = true
		return false
	}
	o.code, o.val = code, o.b[4:4+l]
	// Tolerate a missing pad after the very last option.
	o.b = o.b[min(4+(l+3)&^3, len(o.b)):]
	return true
}
