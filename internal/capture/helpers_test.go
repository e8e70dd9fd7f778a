package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// pkt is a copied Packet, comparable after the reader has moved on.
type pkt struct {
	TS      int64
	Data    string
	WireLen int
	Link    LinkType
	Offset  int64 // -1 in expectations means "don't check"
}

func (p pkt) String() string {
	return fmt.Sprintf("{ts=%d len=%d wire=%d link=%d off=%d}", p.TS, len(p.Data), p.WireLen, p.Link, p.Offset)
}

// readAll drains src, copying every packet; it returns the terminal error
// (nil for io.EOF). max bounds the loop for fuzzing.
func readAll(src Source, limit int) ([]pkt, error) {
	var out []pkt
	var p Packet
	for len(out) < limit {
		err := src.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, pkt{TS: p.TS, Data: string(p.Data), WireLen: p.WireLen, Link: p.LinkType, Offset: p.Offset})
	}
	return out, nil
}

func comparePkts(t *testing.T, got, want []pkt) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d packets, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		w := want[i]
		if w.Offset == -1 {
			w.Offset = got[i].Offset
		}
		if got[i] != w {
			t.Errorf("packet %d (-got, +want):\n- %v\n+ %v", i, got[i], w)
			if got[i].Data != w.Data {
				t.Errorf("packet %d data differs", i)
			}
			return
		}
	}
}

// frame makes deterministic packet bytes of length n.
func frame(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j*7)
	}
	if n >= 4 {
		binary.BigEndian.PutUint32(b, uint32(i))
	}
	return b
}

// frameLen varies sizes between 40 and 1514 bytes, with a few jumbo ones.
func frameLen(i int) int {
	if i%97 == 13 {
		return 9000
	}
	return 40 + (i*373)%1475
}

const baseTS = int64(1_700_000_000_123_456_789)

// genPcap writes n packets as classic pcap and returns the file and the
// expected packets (offsets filled in).
func genPcap(t testing.TB, n int, link LinkType, nano bool, order binary.ByteOrder) ([]byte, []pkt) {
	t.Helper()
	var buf bytes.Buffer
	w := NewPcapWriter(&buf, link, nano)
	w.ByteOrder = order
	var want []pkt
	for i := range n {
		ts := baseTS + int64(i)*1_234_567
		if !nano {
			ts -= ts % 1000
		}
		d := frame(i, frameLen(i))
		wire := len(d) + i%3
		off := int64(buf.Len())
		if i == 0 {
			off = pcapFileHeaderLen
		}
		if err := w.WritePacket(ts, d, wire); err != nil {
			t.Fatal(err)
		}
		want = append(want, pkt{TS: ts, Data: string(d), WireLen: wire, Link: link, Offset: off})
	}
	return buf.Bytes(), want
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// chunkReader returns at most n bytes per Read, to exercise refills at
// every boundary.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

// opener is one way of turning bytes into a Source.
type opener struct {
	name string
	open func(t testing.TB, b []byte) (Source, error)
}

var openers = []opener{
	{"bytes", func(t testing.TB, b []byte) (Source, error) { return NewBytesReader(b, "mem") }},
	{"file", func(t testing.TB, b []byte) (Source, error) { return Open(writeTemp(t, "f.pcap", b)) }},
	{"stream", func(t testing.TB, b []byte) (Source, error) { return NewReader(bytes.NewReader(b), "mem") }},
	{"stream-chunks", func(t testing.TB, b []byte) (Source, error) {
		return NewReader(&chunkReader{b: b, n: 7}, "mem")
	}},
	{"pipe", func(t testing.TB, b []byte) (Source, error) {
		pr, pw := io.Pipe()
		go func() {
			// Odd-sized writes so records straddle reads.
			for len(b) > 0 {
				k := min(len(b), 4093)
				if _, err := pw.Write(b[:k]); err != nil {
					return
				}
				b = b[k:]
			}
			pw.Close()
		}()
		return NewReader(pr, "pipe")
	}},
	{"gzip-file", func(t testing.TB, b []byte) (Source, error) { return Open(writeTemp(t, "f.pcap.gz", gz(t, b))) }},
	{"gzip-bytes", func(t testing.TB, b []byte) (Source, error) { return NewBytesReader(gz(t, b), "mem") }},
}

func mustFormatError(t *testing.T, err error, sentinel error, off int64) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FormatError", err, err)
	}
	if fe.Err != sentinel || !errors.Is(err, sentinel) {
		t.Errorf("error %q: sentinel %v, want %v", err, fe.Err, sentinel)
	}
	if off >= 0 && fe.Offset != off {
		t.Errorf("error %q: offset %d, want %d", err, fe.Offset, off)
	}
}
