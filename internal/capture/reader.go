package capture

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

const (
	// MaxCapLen is the largest captured length accepted for one packet.
	// Anything bigger is treated as corruption rather than trusted, so a
	// flipped bit in a length field cannot make a stream reader buffer
	// gigabytes.
	MaxCapLen = 256 << 10

	// maxBlockLen bounds any single record or pcapng block that has to be
	// held in memory whole (packet blocks, SHB, IDB). Unknown blocks larger
	// than this are skipped without buffering.
	maxBlockLen = 16 << 20

	// maxZeroReads guards against an io.Reader that keeps returning (0, nil).
	maxZeroReads = 100
)

// streamBufSize is the initial stream buffer: large enough that a
// compaction (memmove of the unread tail) happens about once per MiB. A
// variable only so the fuzz targets can shrink it and hit compaction and
// growth at every record boundary.
var streamBufSize = 1 << 20

type format uint8

const (
	formatPcap format = iota + 1
	formatPcapng
)

// Reader reads classic pcap and pcapng, from a memory mapping, a byte
// slice, or a stream. It implements Source and Progresser. See the package
// doc for the aliasing and concurrency contract.
type Reader struct {
	name string

	// Input window: data[pos:end] are the unread bytes and base is the
	// stream offset of data[0]. For mapped or in-memory input data is the
	// whole input, base is 0 and src is nil.
	data   []byte
	pos    int
	end    int
	base   int64
	src    io.Reader // nil when data is the whole input
	srcErr error     // first error returned by src (io.EOF at its end)

	file    io.Closer // underlying file, closed by Close
	gz      *gzip.Reader
	counter *countingReader // raw (compressed) bytes read from a stream

	done  atomic.Int64
	total int64

	format format
	be     bool // current byte order is big-endian

	// classic pcap
	link LinkType
	nano bool

	// pcapng: interfaces of the current section (reset by each SHB)
	ifaces []iface
	lastTS int64 // SPB carries no timestamp: reuse the previous one

	err error // sticky: once set, Next returns it forever
}

var (
	_ Source     = (*Reader)(nil)
	_ Progresser = (*Reader)(nil)
)

// Open opens a capture file; "-" reads standard input. The format is
// detected by magic: gzip is decompressed transparently, then classic pcap
// (µs or ns, either byte order) or pcapng is read.
func Open(path string) (Source, error) {
	if path == "-" {
		total := int64(-1)
		if fi, err := os.Stdin.Stat(); err == nil && fi.Mode().IsRegular() {
			total = fi.Size()
		}
		r, err := newStream(os.Stdin, "stdin", nil, total)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %w", err)
	}
	total := int64(-1)
	if fi.Mode().IsRegular() {
		total = fi.Size()
	}
	// Files are read in large chunks into one reused buffer, records read in
	// place. A memory mapping was measured slower on this kernel (page faults
	// cost more than the copy) and counts the whole file in the resident set.
	r, err := newStream(f, path, f, total)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads a capture from a stream (a pipe, a network connection, a
// fuzzer's input). Gzip is detected and decompressed like in Open. Progress
// reports total == -1. Close does not close r.
func NewReader(r io.Reader, name string) (Source, error) {
	rd, err := newStream(r, name, nil, -1)
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// NewBytesReader reads a capture held in memory. Uncompressed input is read
// in place (Packet.Data aliases b); gzip input is decompressed as a stream.
func NewBytesReader(b []byte, name string) (Source, error) {
	if isGzip(b) {
		rd, err := newStream(bytes.NewReader(b), name, nil, int64(len(b)))
		if err != nil {
			return nil, err
		}
		return rd, nil
	}
	r := &Reader{name: name, data: b, end: len(b), total: int64(len(b))}
	if err := r.init(); err != nil {
		return nil, err
	}
	return r, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// newStream sets up the buffered path. It peeks two bytes to decide whether
// the stream is gzip before committing to a decoder.
func newStream(src io.Reader, name string, file io.Closer, total int64) (*Reader, error) {
	cnt := &countingReader{r: src}
	r := &Reader{name: name, file: file, counter: cnt, total: total}
	var m [2]byte
	n, err := io.ReadFull(cnt, m[:])
	switch {
	case err == nil:
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = io.EOF
	default:
		return nil, fmt.Errorf("capture: %s: %w", name, err)
	}
	r.data = make([]byte, streamBufSize)
	if n == 2 && isGzip(m[:]) {
		gz, gerr := gzip.NewReader(io.MultiReader(bytes.NewReader(m[:]), cnt))
		if gerr != nil {
			if errors.Is(gerr, io.EOF) || errors.Is(gerr, io.ErrUnexpectedEOF) {
				return nil, &FormatError{File: name, Err: ErrTruncated, what: "truncated gzip header"}
			}
			return nil, &FormatError{File: name, Err: ErrCorrupt, what: "bad gzip header"}
		}
		r.gz = gz
		r.src = gz
	} else {
		r.end = copy(r.data, m[:n])
		r.src = cnt
		r.srcErr = err
	}
	if err := r.init(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// init detects the format and reads the file header (or first SHB).
func (r *Reader) init() error {
	have := r.fill(4)
	if have < 4 {
		if err := r.readErr(); err != nil {
			return err
		}
		return r.fail(0, ErrTruncated, "truncated file header", fmt.Sprintf("need 4 bytes, have %d", have))
	}
	m := r.data[r.pos : r.pos+4]
	switch {
	case m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1:
		r.be, r.nano = false, false
	case m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4:
		r.be, r.nano = true, false
	case m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1:
		r.be, r.nano = false, true
	case m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d:
		r.be, r.nano = true, true
	case m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a:
		r.format = formatPcapng
		return r.readSHB()
	default:
		return r.fail(0, ErrUnsupported, "unknown file magic", fmt.Sprintf("%02x%02x%02x%02x", m[0], m[1], m[2], m[3]))
	}
	r.format = formatPcap
	return r.readPcapHeader()
}

// Next fills p with the next packet. See Source.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	var err error
	if r.format == formatPcap {
		err = r.nextPcap(p)
	} else {
		err = r.nextPcapng(p)
	}
	if r.counter != nil {
		r.done.Store(r.counter.n)
	} else {
		r.done.Store(int64(r.pos))
	}
	return err
}

// Progress implements Progresser.
func (r *Reader) Progress() (done, total int64) { return r.done.Load(), r.total }

// Close releases the mapping or the file. Packet.Data from a mapped file is
// invalid after Close. Close is idempotent.
func (r *Reader) Close() error {
	var err error
	if r.gz != nil {
		r.gz.Close()
		r.gz = nil
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
		r.file = nil
	}
	r.data, r.pos, r.end, r.src = nil, 0, 0, nil
	r.err = errClosed
	return err
}

// off is the stream offset of the next unread byte.
func (r *Reader) off() int64 { return r.base + int64(r.pos) }

// fill makes at least n bytes available at data[pos:] if the input has them
// and returns how many are available. n must not exceed maxBlockLen. It may
// move the unread bytes, so slices into data from before the call are stale.
func (r *Reader) fill(n int) int {
	if r.end-r.pos >= n || r.src == nil {
		return r.end - r.pos
	}
	if n > len(r.data) {
		// Oversized record: grow (rare; bounded by maxBlockLen).
		nb := make([]byte, min(max(2*len(r.data), n), maxBlockLen))
		r.end = copy(nb, r.data[r.pos:r.end])
		r.base += int64(r.pos)
		r.pos = 0
		r.data = nb
	} else if r.pos+n > len(r.data) {
		r.end = copy(r.data, r.data[r.pos:r.end])
		r.base += int64(r.pos)
		r.pos = 0
	}
	zero := 0
	for r.end-r.pos < n && r.srcErr == nil {
		k, err := r.src.Read(r.data[r.end:])
		r.end += k
		if err != nil {
			r.srcErr = err
		} else if k == 0 {
			if zero++; zero >= maxZeroReads {
				r.srcErr = io.ErrNoProgress
			}
		}
	}
	return r.end - r.pos
}

// skip consumes n bytes without holding them in memory, for blocks too big
// to buffer. It returns how many bytes were actually consumed (< n when the
// input ended first).
func (r *Reader) skip(n int64) int64 {
	avail := int64(r.end - r.pos)
	if n <= avail {
		r.pos += int(n)
		return n
	}
	if r.src == nil {
		r.pos = r.end
		return avail
	}
	got := avail
	r.base += int64(r.end)
	r.pos, r.end = 0, 0
	zero := 0
	for got < n && r.srcErr == nil {
		k, err := r.src.Read(r.data)
		if err != nil {
			r.srcErr = err
		} else if k == 0 {
			if zero++; zero >= maxZeroReads {
				r.srcErr = io.ErrNoProgress
			}
		}
		if want := n - got; int64(k) > want {
			// Overshoot: keep the rest as unread input.
			r.pos, r.end = int(want), k
			return n
		}
		got += int64(k)
		r.base += int64(k)
	}
	return got
}

// readErr converts a non-EOF failure of the underlying stream into the
// error Next returns; nil when the stream merely ended.
func (r *Reader) readErr() error {
	switch err := r.srcErr; {
	case err == nil, err == io.EOF:
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		what := "truncated stream"
		if r.gz != nil {
			what = "truncated gzip stream"
		}
		return r.fail(r.off()+int64(r.end-r.pos), ErrTruncated, what, "")
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return r.fail(r.off()+int64(r.end-r.pos), ErrCorrupt, "corrupt gzip stream", err.Error())
	default:
		var ce flate.CorruptInputError
		if errors.As(err, &ce) {
			return r.fail(r.off()+int64(r.end-r.pos), ErrCorrupt, "corrupt gzip stream", err.Error())
		}
		r.err = fmt.Errorf("capture: %s: %w", r.name, err)
		return r.err
	}
}

// short reports that a record at off needed need bytes and only have exist.
// A failing stream (not a plain end) takes precedence.
func (r *Reader) short(off int64, what string, need, have int64) error {
	if err := r.readErr(); err != nil {
		return err
	}
	return r.fail(off, ErrTruncated, what, fmt.Sprintf("need %d bytes, have %d", need, have))
}

// eof returns io.EOF at a clean end of input, or the stream's failure.
func (r *Reader) eof() error {
	if err := r.readErr(); err != nil {
		return err
	}
	r.err = io.EOF
	return io.EOF
}

func (r *Reader) fail(off int64, sentinel error, what, detail string) error {
	r.err = &FormatError{File: r.name, Offset: off, Err: sentinel, what: what, detail: detail}
	return r.err
}

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
}

// countingReader counts raw input bytes for Progress. It is only touched by
// the goroutine calling Next; Next publishes the count atomically.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
