package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	err := &FormatError{File: "trace.pcap", Offset: 123456, Err: ErrTruncated, what: "truncated record", detail: "need 1514 bytes, have 200"}
	const want = "capture: trace.pcap: truncated record at byte offset 123456 (need 1514 bytes, have 200)"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrCorrupt) {
		t.Error("Unwrap does not lead to exactly ErrTruncated")
	}
	bare := &FormatError{File: "x", Offset: 1, Err: ErrCorrupt}
	if got, want := bare.Error(), "capture: x: corrupt input at byte offset 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// boundaries lists the start offset of every record or block in a valid
// file, plus its length.
func boundaries(t *testing.T, b []byte) []int64 {
	t.Helper()
	var out []int64
	if b[0] != 0x0a { // classic pcap
		for off := int64(pcapFileHeaderLen); off < int64(len(b)); {
			out = append(out, off)
			var o binary.ByteOrder = binary.LittleEndian
			if b[0] == 0xa1 {
				o = binary.BigEndian
			}
			off += pcapRecordHeaderLen + int64(o.Uint32(b[off+8:]))
		}
		return append(out, int64(len(b)))
	}
	var o binary.ByteOrder = binary.LittleEndian
	for off := int64(0); off < int64(len(b)); {
		out = append(out, off)
		if binary.LittleEndian.Uint32(b[off:]) == blockSHB {
			o = binary.LittleEndian
			if b[off+8] == 0x1a {
				o = binary.BigEndian
			}
		}
		off += int64(o.Uint32(b[off+4:]))
	}
	return append(out, int64(len(b)))
}

// TestTruncated cuts valid files at many points. Every packet whose record
// ends before the cut is returned, then ErrTruncated at the offset of the
// record or block the cut falls in (io.EOF when it falls on a boundary).
func TestTruncated(t *testing.T) {
	pcapFile, pcapWant := genPcap(t, 6, LinkEthernet, true, binary.BigEndian)
	ngFile, ngWant := pcapngFixture(t)
	for _, f := range []struct {
		name string
		file []byte
		want []pkt
	}{
		{"pcap", pcapFile, pcapWant},
		{"pcapng", ngFile, ngWant},
	} {
		bounds := boundaries(t, f.file)
		hdrLen := bounds[0]
		if f.name == "pcapng" {
			hdrLen = bounds[1]
		}
		var cuts []int64
		for _, b := range bounds {
			cuts = append(cuts, b-1, b, b+1, b+7, b+13, b+30)
		}
		for _, cut := range cuts {
			if cut < 0 || cut > int64(len(f.file)) {
				continue
			}
			// Expected: packets whose record ends at or before cut, and
			// the start of the block holding cut.
			var want []pkt
			for _, p := range f.want {
				for i, b := range bounds {
					if b == p.Offset && bounds[i+1] <= cut {
						want = append(want, p)
					}
				}
			}
			errAt, boundary := int64(0), false
			for _, b := range bounds {
				if b <= cut {
					errAt = b
				}
				boundary = boundary || b == cut
			}
			for _, o := range openers {
				if o.name == "pipe" || o.name == "file" && cut == 0 {
					continue // pipe is covered by stream; empty files are not mapped
				}
				t.Run(f.name+"/"+o.name, func(t *testing.T) {
					src, err := o.open(t, f.file[:cut])
					if cut < hdrLen {
						if err == nil {
							src.Close()
							t.Fatalf("cut %d: Open succeeded on a truncated header", cut)
						}
						mustFormatError(t, err, ErrTruncated, 0)
						return
					}
					if err != nil {
						t.Fatalf("cut %d: %v", cut, err)
					}
					defer src.Close()
					got, err := readAll(src, 1<<20)
					comparePkts(t, got, want)
					if boundary {
						if err != nil {
							t.Fatalf("cut %d on a record boundary: %v", cut, err)
						}
						return
					}
					mustFormatError(t, err, ErrTruncated, errAt)
					var p Packet
					if err2 := src.Next(&p); err2 != err {
						t.Errorf("second Next = %v, want the same %v", err2, err)
					}
				})
			}
		}
	}
}

func TestTruncatedMessage(t *testing.T) {
	file, want := genPcap(t, 3, LinkEthernet, false, binary.LittleEndian)
	cut := want[2].Offset + pcapRecordHeaderLen + 200
	src, err := NewBytesReader(file[:cut], "trace.pcap")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src, 10)
	if len(got) != 2 {
		t.Fatalf("got %d packets before the error, want 2", len(got))
	}
	wantMsg := "capture: trace.pcap: truncated record at byte offset " +
		itoa(want[2].Offset) + " (need " + itoa(int64(len(want[2].Data))) + " bytes, have 200)"
	if err == nil || err.Error() != wantMsg {
		t.Errorf("error = %v\nwant    %s", err, wantMsg)
	}
}

func itoa(v int64) string { return string(appendInt(nil, v)) }

func appendInt(b []byte, v int64) []byte {
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

func TestCorrupt(t *testing.T) {
	pcapFile, _ := genPcap(t, 3, LinkEthernet, false, binary.LittleEndian)
	ngFile, ngWant := pcapngFixture(t)
	second := ngWant[1].Offset // an EPB in the LE section
	le := binary.LittleEndian
	edit := func(b []byte, f func(b []byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}
	for _, tc := range []struct {
		name     string
		file     []byte
		sentinel error
		offset   int64
		before   int // packets returned before the error
		atOpen   bool
	}{
		{"unknown magic", []byte("GIF89a.........................."), ErrUnsupported, 0, 0, true},
		{"pcap version", edit(pcapFile, func(b []byte) { le.PutUint16(b[4:], 3) }), ErrUnsupported, 0, 0, true},
		{"pcap caplen over cap", edit(pcapFile, func(b []byte) { le.PutUint32(b[24+8:], MaxCapLen+1) }), ErrCorrupt, 24, 0, false},
		{"pcapng bad BOM", edit(ngFile, func(b []byte) { b[8] = 0x55 }), ErrCorrupt, 0, 0, true},
		{"pcapng major", edit(ngFile, func(b []byte) { le.PutUint16(b[12:], 2) }), ErrUnsupported, 0, 0, true},
		{"pcapng SHB length", edit(ngFile, func(b []byte) { le.PutUint32(b[4:], 20) }), ErrCorrupt, 0, 0, true},
		{"block length not multiple of 4", edit(ngFile, func(b []byte) { le.PutUint32(b[second+4:], 33) }), ErrCorrupt, second, 1, false},
		{"block length under 12", edit(ngFile, func(b []byte) { le.PutUint32(b[second+4:], 8) }), ErrCorrupt, second, 1, false},
		{"trailing length mismatch", edit(ngFile, func(b []byte) {
			n := le.Uint32(b[second+4:])
			le.PutUint32(b[second+int64(n)-4:], n+4)
		}), ErrCorrupt, second, 1, false},
		{"packet block too large", edit(ngFile, func(b []byte) { le.PutUint32(b[second+4:], maxPacketBlock+4) }), ErrCorrupt, second, 1, false},
		{"unknown interface", edit(ngFile, func(b []byte) { le.PutUint32(b[second+8:], 7) }), ErrCorrupt, second, 1, false},
		{"EPB caplen beyond block", edit(ngFile, func(b []byte) { le.PutUint32(b[second+20:], 1000) }), ErrCorrupt, second, 1, false},
		{"EPB caplen over cap", edit(ngFile, func(b []byte) { le.PutUint32(b[second+20:], MaxCapLen+1) }), ErrCorrupt, second, 1, false},
		{"malformed SHB option", edit(ngFile, func(b []byte) { le.PutUint16(b[26:], 999) }), ErrCorrupt, 0, 0, true},
		{"EPB before any IDB", func() []byte {
			var buf bytes.Buffer
			w := NewPcapngWriter(&buf)
			w.AddInterface(LinkEthernet, 0)
			w.WritePacket(0, 1, []byte{1, 2, 3}, 3)
			b := buf.Bytes()
			shbLen := le.Uint32(b[4:])
			idbLen := le.Uint32(b[shbLen+4:])
			return append(bytes.Clone(b[:shbLen]), b[shbLen+idbLen:]...)
		}(), ErrCorrupt, -1, 0, false},
	} {
		for _, o := range openers[:4] {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				src, err := o.open(t, tc.file)
				if tc.atOpen {
					if err == nil {
						src.Close()
						t.Fatal("Open succeeded")
					}
					mustFormatError(t, err, tc.sentinel, tc.offset)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(src, 100)
				if len(got) != tc.before {
					t.Errorf("got %d packets before the error, want %d", len(got), tc.before)
				}
				mustFormatError(t, err, tc.sentinel, tc.offset)
			})
		}
	}
}

// An IDB option whose length runs past the block is corruption.
func TestMalformedInterfaceOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  []byte // raw option bytes, LE
	}{
		{"overrun", []byte{9, 0, 200, 0, 6, 0, 0, 0}},
		{"tsresol length", []byte{9, 0, 2, 0, 6, 6, 0, 0}},
		{"tsoffset length", []byte{14, 0, 4, 0, 1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewPcapngWriter(&buf)
			if err := w.start(); err != nil {
				t.Fatal(err)
			}
			idbAt := int64(buf.Len())
			body := []byte{1, 0, 0, 0, 0, 0, 0, 0} // Ethernet, snaplen 0
			body = append(body, tc.opt...)
			if err := w.WriteBlock(blockIDB, body); err != nil {
				t.Fatal(err)
			}
			src, err := NewBytesReader(buf.Bytes(), "x")
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(src, 10)
			mustFormatError(t, err, ErrCorrupt, idbAt)
		})
	}
}

func TestGzipErrors(t *testing.T) {
	file, want := genPcap(t, 500, LinkEthernet, false, binary.LittleEndian)
	z := gz(t, file)
	t.Run("truncated", func(t *testing.T) {
		src, err := NewBytesReader(z[:len(z)/2], "t.gz")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(src, 1<<20)
		if len(got) == 0 || len(got) >= len(want) {
			t.Errorf("got %d packets from half a gzip stream", len(got))
		}
		mustFormatError(t, err, ErrTruncated, -1)
	})
	t.Run("checksum", func(t *testing.T) {
		c := bytes.Clone(z)
		c[len(c)-6] ^= 0xff // inside the CRC-32 trailer
		src, err := NewBytesReader(c, "t.gz")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(src, 1<<20)
		comparePkts(t, got, want) // all data decompressed before the trailer check
		mustFormatError(t, err, ErrCorrupt, -1)
	})
	t.Run("deflate", func(t *testing.T) {
		c := bytes.Clone(z)
		for i := len(c) / 3; i < len(c)/3+64; i++ {
			c[i] = 0xff // a run of 1-bits is not valid Huffman-coded data
		}
		src, err := NewBytesReader(c, "t.gz")
		if err != nil {
			t.Fatal(err)
		}
		_, err = readAll(src, 1<<20)
		mustFormatError(t, err, ErrCorrupt, -1)
	})
	t.Run("io error", func(t *testing.T) {
		boom := errors.New("disk on fire")
		src, err := NewReader(io.MultiReader(bytes.NewReader(file[:len(file)/2]), errReader{boom}), "t")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(src, 1<<20)
		if !errors.Is(err, boom) || len(got) == 0 {
			t.Errorf("got %d packets then %v; want some, then %v", len(got), err, boom)
		}
	})
	t.Run("header", func(t *testing.T) {
		_, err := NewBytesReader([]byte{0x1f, 0x8b, 1}, "t.gz")
		mustFormatError(t, err, ErrTruncated, 0)
		_, err = NewBytesReader([]byte{0x1f, 0x8b, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, "t.gz")
		mustFormatError(t, err, ErrCorrupt, 0)
	})
	t.Run("nested", func(t *testing.T) {
		_, err := NewBytesReader(gz(t, z), "t.gz.gz")
		mustFormatError(t, err, ErrUnsupported, 0)
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestEmpty(t *testing.T) {
	for _, o := range openers {
		if o.name == "file" {
			continue
		}
		t.Run(o.name, func(t *testing.T) {
			_, err := o.open(t, nil)
			mustFormatError(t, err, ErrTruncated, 0)
		})
	}
	t.Run("empty-file", func(t *testing.T) {
		_, err := Open(writeTemp(t, "e", nil))
		mustFormatError(t, err, ErrTruncated, 0)
	})
}
