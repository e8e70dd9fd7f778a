package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fuzzRead reads data through the in-place path and through a stream in
// small chunks; both must agree packet for packet and error for error, and
// neither may panic or break the package's invariants.
func fuzzRead(t *testing.T, data []byte, chunk uint8) {
	const limit = 1000
	// A tiny initial buffer makes every record straddle a compaction or
	// force a growth.
	defer func(n int) { streamBufSize = n }(streamBufSize)
	streamBufSize = 16 + int(chunk)
	var inPlace, streamed []pkt
	var err1, err2 error
	src, err := NewBytesReader(data, "fuzz")
	if err == nil {
		inPlace, err1 = readAll(src, limit)
		src.Close()
	} else {
		err1 = err
	}
	src, err = NewReader(&chunkReader{b: data, n: int(chunk%64) + 1}, "fuzz")
	if err == nil {
		streamed, err2 = readAll(src, limit)
		src.Close()
	} else {
		err2 = err
	}
	for _, e := range []error{err1, err2} {
		if e == nil {
			continue
		}
		var fe *FormatError
		if !errors.As(e, &fe) {
			t.Fatalf("error %v (%T) is not a *FormatError", e, e)
		}
		if fe.Err != ErrTruncated && fe.Err != ErrCorrupt && fe.Err != ErrUnsupported {
			t.Fatalf("error %v has sentinel %v", e, fe.Err)
		}
	}
	if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
		t.Fatalf("in-place error %v, stream error %v", err1, err2)
	}
	if len(inPlace) != len(streamed) {
		t.Fatalf("in-place %d packets, stream %d", len(inPlace), len(streamed))
	}
	last := int64(-1)
	for i := range inPlace {
		if inPlace[i] != streamed[i] {
			t.Fatalf("packet %d: in-place %v, stream %v", i, inPlace[i], streamed[i])
		}
		p := inPlace[i]
		if len(p.Data) > MaxCapLen || p.Offset <= last || p.Offset >= int64(len(data)) {
			t.Fatalf("packet %d breaks invariants: %v (previous offset %d)", i, p, last)
		}
		last = p.Offset
	}
}

func FuzzPcap(f *testing.F) {
	for _, nano := range []bool{false, true} {
		for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			b, _ := genPcap(f, 4, LinkEthernet, nano, o)
			f.Add(b, uint8(3))
		}
	}
	b, _ := genPcap(f, 2, LinkRaw, false, binary.LittleEndian)
	f.Add(b[:len(b)-5], uint8(0))
	f.Add(b[:30], uint8(9))
	f.Fuzz(fuzzRead)
}

func FuzzPcapng(f *testing.F) {
	b, _ := pcapngFixture(f)
	f.Add(b, uint8(5))
	f.Add(b[:len(b)-9], uint8(60))
	f.Add(genPcapng(f, 3), uint8(1))
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf)
	w.AddInterfaceOptions(InterfaceOptions{Link: LinkSLL2, SnapLen: 16, TSResol: 0x80 | 63, TSOffset: -7})
	w.WriteSimplePacket(frame(0, 16), 80)
	w.WriteBlock(0x0a, []byte("decryption secrets"))
	f.Add(buf.Bytes(), uint8(2))
	f.Fuzz(fuzzRead)
}
