package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// PcapWriter writes classic pcap. It exists for tests and traffic
// generators; it reuses one scratch header and does not allocate per packet.
type PcapWriter struct {
	// ByteOrder and SnapLen may be set before the first write.
	// Defaults: little-endian, 262144.
	ByteOrder binary.ByteOrder
	SnapLen   uint32

	w       io.Writer
	link    LinkType
	nano    bool
	started bool
	hdr     [pcapFileHeaderLen]byte
}

// NewPcapWriter returns a writer of link-type link with microsecond, or if
// nano nanosecond, timestamps. The file header is written by the first
// WritePacket, or by WriteHeader for an empty capture.
func NewPcapWriter(w io.Writer, link LinkType, nano bool) *PcapWriter {
	return &PcapWriter{w: w, link: link, nano: nano, ByteOrder: binary.LittleEndian, SnapLen: MaxCapLen}
}

// WriteHeader writes the file header if it has not been written yet.
func (w *PcapWriter) WriteHeader() error {
	if w.started {
		return nil
	}
	w.started = true
	o, h := w.ByteOrder, w.hdr[:]
	magic := uint32(0xa1b2c3d4)
	if w.nano {
		magic = 0xa1b23c4d
	}
	o.PutUint32(h[0:], magic)
	o.PutUint16(h[4:], 2)
	o.PutUint16(h[6:], 4)
	o.PutUint32(h[8:], 0)
	o.PutUint32(h[12:], 0)
	o.PutUint32(h[16:], w.SnapLen)
	o.PutUint32(h[20:], uint32(w.link))
	_, err := w.w.Write(h)
	return err
}

// WritePacket writes one record. ts is ns since the epoch; wireLen is the
// original length (len(data) if smaller).
func (w *PcapWriter) WritePacket(ts int64, data []byte, wireLen int) error {
	if err := w.WriteHeader(); err != nil {
		return err
	}
	if len(data) > MaxCapLen {
		return fmt.Errorf("capture: packet of %d bytes exceeds %d", len(data), MaxCapLen)
	}
	wireLen = max(wireLen, len(data))
	sec, frac := floorDiv(ts, 1e9)
	if !w.nano {
		frac /= 1e3
	}
	o, h := w.ByteOrder, w.hdr[:pcapRecordHeaderLen]
	o.PutUint32(h[0:], uint32(sec))
	o.PutUint32(h[4:], uint32(frac))
	o.PutUint32(h[8:], uint32(len(data)))
	o.PutUint32(h[12:], uint32(wireLen))
	if _, err := w.w.Write(h); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}

func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	return q, r
}

// PcapngWriter writes a minimal pcapng: sections, interfaces, EPB, SPB,
// OPB and arbitrary blocks, so tests can exercise every path of the reader.
type PcapngWriter struct {
	// ByteOrder of the first section; later ones are chosen by NewSection.
	// Default little-endian.
	ByteOrder binary.ByteOrder
	// PacketComment, when set, is attached to every EPB/OPB as an
	// opt_comment option (to exercise option skipping).
	PacketComment string

	w       io.Writer
	started bool
	offsets []int64 // per interface: if_tsoffset in ns
	resols  []uint8
	buf     []byte
}

// InterfaceOptions describe an IDB. TSResol uses the if_tsresol encoding
// (MSB clear: 10^-n, MSB set: 2^-n); 0 means the default, microseconds.
// TSOffset is if_tsoffset in seconds.
type InterfaceOptions struct {
	Link     LinkType
	SnapLen  uint32
	TSResol  uint8
	TSOffset int64
	Name     string
}

// NewPcapngWriter returns a writer; the first section header is written
// lazily.
func NewPcapngWriter(w io.Writer) *PcapngWriter {
	return &PcapngWriter{w: w, ByteOrder: binary.LittleEndian}
}

// AddInterface writes an IDB and returns its id.
func (w *PcapngWriter) AddInterface(link LinkType, tsresol uint8) (int, error) {
	return w.AddInterfaceOptions(InterfaceOptions{Link: link, TSResol: tsresol})
}

// AddInterfaceOptions writes an IDB with options and returns its id.
func (w *PcapngWriter) AddInterfaceOptions(opt InterfaceOptions) (int, error) {
	if err := w.start(); err != nil {
		return 0, err
	}
	resol := opt.TSResol
	if resol == 0 {
		resol = 6
	}
	if resol&0x80 != 0 && resol&0x7f > 30 || resol&0x80 == 0 && resol > 18 {
		return 0, fmt.Errorf("capture: writer does not support if_tsresol %#x", resol)
	}
	o := w.ByteOrder
	b := w.begin(blockIDB)
	b = app16(o, b, uint16(opt.Link))
	b = app16(o, b, 0)
	b = app32(o, b, opt.SnapLen)
	if opt.Name != "" {
		b = appendOpt(o, b, 2, []byte(opt.Name))
	}
	if opt.TSResol != 0 {
		b = appendOpt(o, b, optTSResol, []byte{resol})
	}
	if opt.TSOffset != 0 {
		b = appendOpt(o, b, optTSOffset, app64(o, nil, uint64(opt.TSOffset)))
	}
	b = appendOpt(o, b, optEndOfOpt, nil)
	if err := w.finish(b); err != nil {
		return 0, err
	}
	w.offsets = append(w.offsets, opt.TSOffset*1e9)
	w.resols = append(w.resols, resol)
	return len(w.offsets) - 1, nil
}

// WritePacket writes an Enhanced Packet Block.
func (w *PcapngWriter) WritePacket(iface int, ts int64, data []byte, wireLen int) error {
	return w.packet(blockEPB, iface, ts, data, wireLen)
}

// WriteObsoletePacket writes an Obsolete Packet Block (type 2).
func (w *PcapngWriter) WriteObsoletePacket(iface int, ts int64, data []byte, wireLen int) error {
	return w.packet(blockOPB, iface, ts, data, wireLen)
}

func (w *PcapngWriter) packet(typ uint32, iface int, ts int64, data []byte, wireLen int) error {
	if iface < 0 || iface >= len(w.offsets) {
		return fmt.Errorf("capture: unknown interface %d", iface)
	}
	if len(data) > MaxCapLen {
		return fmt.Errorf("capture: packet of %d bytes exceeds %d", len(data), MaxCapLen)
	}
	units := toUnits(ts-w.offsets[iface], w.resols[iface])
	o := w.ByteOrder
	b := w.begin(typ)
	if typ == blockOPB {
		b = app16(o, b, uint16(iface))
		b = app16(o, b, 0) // drops
	} else {
		b = app32(o, b, uint32(iface))
	}
	b = app32(o, b, uint32(units>>32))
	b = app32(o, b, uint32(units))
	b = app32(o, b, uint32(len(data)))
	b = app32(o, b, uint32(max(wireLen, len(data))))
	b = appendPadded(b, data)
	if w.PacketComment != "" {
		b = appendOpt(o, b, 1, []byte(w.PacketComment))
		b = appendOpt(o, b, optEndOfOpt, nil)
	}
	return w.finish(b)
}

// WriteSimplePacket writes a Simple Packet Block (interface 0). data must
// already be cut to interface 0's snaplen.
func (w *PcapngWriter) WriteSimplePacket(data []byte, wireLen int) error {
	if len(w.offsets) == 0 {
		return errors.New("capture: simple packet block needs interface 0")
	}
	b := w.begin(blockSPB)
	b = app32(w.ByteOrder, b, uint32(max(wireLen, len(data))))
	b = appendPadded(b, data)
	return w.finish(b)
}

// WriteBlock writes a block of any type with the given body (padded to 4
// bytes), e.g. a custom block (0x00000bad) or a name resolution block, so
// tests can check that readers skip what they do not know.
func (w *PcapngWriter) WriteBlock(typ uint32, body []byte) error {
	if err := w.start(); err != nil {
		return err
	}
	return w.finish(appendPadded(w.begin(typ), body))
}

// NewSection starts a new section in byte order o; interface ids restart
// at 0.
func (w *PcapngWriter) NewSection(o binary.ByteOrder) error {
	w.ByteOrder = o
	w.started = false
	return w.start()
}

func (w *PcapngWriter) start() error {
	if w.started {
		return nil
	}
	w.started = true
	w.offsets, w.resols = w.offsets[:0], w.resols[:0]
	o := w.ByteOrder
	b := w.begin(blockSHB)
	b = app32(o, b, bomBig)
	b = app16(o, b, 1)
	b = app16(o, b, 0)
	b = app64(o, b, ^uint64(0)) // section length unknown
	b = appendOpt(o, b, 4, []byte("weir capture test writer"))
	b = appendOpt(o, b, optEndOfOpt, nil)
	return w.finish(b)
}

// begin starts a block in the scratch buffer with a placeholder length.
func (w *PcapngWriter) begin(typ uint32) []byte {
	b := app32(w.ByteOrder, w.buf[:0], typ)
	return app32(w.ByteOrder, b, 0)
}

// finish patches the leading length, appends the trailing one and writes.
func (w *PcapngWriter) finish(b []byte) error {
	total := uint32(len(b) + 4)
	w.ByteOrder.PutUint32(b[4:], total)
	b = app32(w.ByteOrder, b, total)
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

func appendPadded(b, data []byte) []byte {
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendOpt(o binary.ByteOrder, b []byte, code uint16, val []byte) []byte {
	b = app16(o, b, code)
	b = app16(o, b, uint16(len(val)))
	return appendPadded(b, val)
}

// toUnits converts ns (relative to if_tsoffset) to if_tsresol units.
func toUnits(ns int64, resol uint8) uint64 {
	u := uint64(ns)
	if resol&0x80 != 0 {
		n := uint(resol & 0x7f)
		sec, frac := u/1e9, u%1e9
		hi, lo := bits.Mul64(frac, 1<<n)
		q, _ := bits.Div64(hi, lo, 1e9)
		return sec<<n | q
	}
	if resol <= 9 {
		return u / pow10(9-int(resol))
	}
	return u * pow10(int(resol)-9)
}

// app16/32/64 append in byte order o (binary.ByteOrder has no Append
// methods; binary.AppendByteOrder is a separate interface).
func app16(o binary.ByteOrder, b []byte, v uint16) []byte {
	b = append(b, 0, 0)
	o.PutUint16(b[len(b)-2:], v)
	return b
}

func app32(o binary.ByteOrder, b []byte, v uint32) []byte {
	b = append(b, 0, 0, 0, 0)
	o.PutUint32(b[len(b)-4:], v)
	return b
}

func app64(o binary.ByteOrder, b []byte, v uint64) []byte {
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	o.PutUint64(b[len(b)-8:], v)
	return b
}
