package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"
)

func TestPcapRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nano  bool
		order binary.ByteOrder
	}{
		{"us-le", false, binary.LittleEndian},
		{"us-be", false, binary.BigEndian},
		{"ns-le", true, binary.LittleEndian},
		{"ns-be", true, binary.BigEndian},
	} {
		file, want := genPcap(t, 300, LinkEthernet, tc.nano, tc.order)
		for _, o := range openers {
			t.Run(tc.name+"/"+o.name, func(t *testing.T) {
				src, err := o.open(t, file)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(src, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				comparePkts(t, got, want)
				var p Packet
				if err := src.Next(&p); err != io.EOF {
					t.Errorf("Next after end = %v, want io.EOF", err)
				}
			})
		}
	}
}

// pcapngFixture exercises every block the reader knows and some it does
// not: two interfaces with different link types and resolutions, an
// offset, options on SHB/IDB/EPB, OPB, SPB, unknown and custom blocks, and
// a second section in the other byte order.
func pcapngFixture(t testing.TB) ([]byte, []pkt) {
	t.Helper()
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf)
	w.PacketComment = "hello"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var want []pkt
	add := func(ifc int, ts int64, d []byte, wire int, link LinkType, resol uint8, tsoff int64, typ uint32) {
		t.Helper()
		off := int64(buf.Len())
		switch typ {
		case blockEPB:
			must(w.WritePacket(ifc, ts, d, wire))
		case blockOPB:
			must(w.WriteObsoletePacket(ifc, ts, d, wire))
		}
		c := newTSConv(resol, tsoff)
		want = append(want, pkt{TS: c.ns(toUnits(ts-tsoff*1e9, resol)), Data: string(d), WireLen: wire, Link: link, Offset: off})
	}

	eth, err := w.AddInterfaceOptions(InterfaceOptions{Link: LinkEthernet, TSResol: 9, Name: "eth0"})
	must(err)
	raw, err := w.AddInterfaceOptions(InterfaceOptions{Link: LinkRaw, TSResol: 0x80 | 20, TSOffset: 1000, SnapLen: 128})
	must(err)
	add(eth, baseTS, frame(0, 60), 60, LinkEthernet, 9, 0, blockEPB)
	add(raw, baseTS+5_000_000, frame(1, 100), 100, LinkRaw, 0x80|20, 1000, blockEPB)
	must(w.WriteBlock(0x00000bad, []byte("custom block, copyable")))
	must(w.WriteBlock(4, make([]byte, 33))) // name resolution block, ignored
	must(w.WriteBlock(5, make([]byte, 16))) // interface statistics, ignored
	add(eth, baseTS+7_000_000, frame(2, 1514), 1514, LinkEthernet, 9, 0, blockOPB)
	add(raw, baseTS+8_000_000, frame(3, 33), 40, LinkRaw, 0x80|20, 1000, blockOPB)
	// SPB: interface 0, previous timestamp.
	off := int64(buf.Len())
	must(w.WriteSimplePacket(frame(4, 77), 77))
	want = append(want, pkt{TS: want[len(want)-1].TS, Data: string(frame(4, 77)), WireLen: 77, Link: LinkEthernet, Offset: off})

	// Second section, big-endian, ids restart; microsecond default.
	must(w.NewSection(binary.BigEndian))
	sll, err := w.AddInterface(LinkSLL, 0)
	must(err)
	add(sll, baseTS+9_000_000, frame(5, 200), 300, LinkSLL, 6, 0, blockEPB)
	_, err = w.AddInterfaceOptions(InterfaceOptions{Link: LinkIPv6, TSResol: 3, TSOffset: -5})
	must(err)
	add(1, baseTS+10_000_000, frame(6, 64), 64, LinkIPv6, 3, -5, blockEPB)
	return buf.Bytes(), want
}

func TestPcapngRoundTrip(t *testing.T) {
	file, want := pcapngFixture(t)
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			src, err := o.open(t, file)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got, err := readAll(src, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			comparePkts(t, got, want)
		})
	}
}

func TestPcapngSimplePacketSnaplen(t *testing.T) {
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf)
	if _, err := w.AddInterfaceOptions(InterfaceOptions{Link: LinkEthernet, SnapLen: 64}); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(0, baseTS, frame(0, 10), 10); err != nil {
		t.Fatal(err)
	}
	d := frame(1, 64)
	if err := w.WriteSimplePacket(d, 1500); err != nil {
		t.Fatal(err)
	}
	src, err := NewBytesReader(buf.Bytes(), "spb")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src, 10)
	if err != nil {
		t.Fatal(err)
	}
	ts := baseTS - baseTS%1000
	comparePkts(t, got, []pkt{
		{TS: ts, Data: string(frame(0, 10)), WireLen: 10, Link: LinkEthernet, Offset: -1},
		{TS: ts, Data: string(d), WireLen: 1500, Link: LinkEthernet, Offset: -1},
	})
}

func TestTSConv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resol uint8
		off   int64
		units uint64
		want  int64
	}{
		{"seconds", 0, 0, 3, 3e9},
		{"micro", 6, 0, 1_500_000, 1_500_000_000},
		{"nano", 9, 0, 42, 42},
		{"pico", 12, 0, 123_456, 123},
		{"tiny", 120, 0, 1 << 60, 0},
		{"half", 0x81, 0, 3, 1_500_000_000},
		{"2^-20", 0x80 | 20, 0, 1<<20 + 1<<19, 1_500_000_000},
		{"2^-64", 0x80 | 64, 0, 1 << 63, 500_000_000},
		{"2^-127", 0x80 | 127, 0, ^uint64(0), 0},
		{"2^0", 0x80, 0, 7, 7e9},
		{"offset", 6, 100, 1, 100_000_001_000},
		{"negative offset", 9, -1, 5, -999_999_995},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTSConv(tc.resol, tc.off)
			if got := c.ns(tc.units); got != tc.want {
				t.Errorf("ns(%d) = %d, want %d", tc.units, got, tc.want)
			}
		})
	}
}

func TestCapLenAboveOrigLen(t *testing.T) {
	var buf bytes.Buffer
	w := NewPcapWriter(&buf, LinkEthernet, false)
	if err := w.WritePacket(0, frame(0, 100), 100); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[24+12:], 60) // origlen 60 < caplen 100
	// FCS-present flag bits in the link type field must be ignored.
	binary.LittleEndian.PutUint32(b[20:], 0x1000_0000|uint32(LinkEthernet))
	src, err := NewBytesReader(b, "x")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src, 10)
	if err != nil {
		t.Fatal(err)
	}
	comparePkts(t, got, []pkt{{TS: 0, Data: string(frame(0, 60)), WireLen: 60, Link: LinkEthernet, Offset: 24}})
}

func TestStdin(t *testing.T) {
	file, want := genPcap(t, 200, LinkRaw, true, binary.LittleEndian)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		pw.Write(file)
		pw.Close()
	}()
	old := os.Stdin
	os.Stdin = pr
	defer func() { os.Stdin = old }()
	src, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	comparePkts(t, got, want)
	if done, total := src.(Progresser).Progress(); done != int64(len(file)) || total != -1 {
		t.Errorf("Progress() = %d, %d; want %d, -1", done, total, len(file))
	}
}

func TestProgress(t *testing.T) {
	file, _ := genPcap(t, 100, LinkEthernet, false, binary.LittleEndian)
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"file", file}, {"gzip", gz(t, file)}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(writeTemp(t, "p", tc.b))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			pr := src.(Progresser)
			if _, total := pr.Progress(); total != int64(len(tc.b)) {
				t.Errorf("total = %d, want %d", total, len(tc.b))
			}
			var p Packet
			if err := src.Next(&p); err != nil {
				t.Fatal(err)
			}
			if done, _ := pr.Progress(); done <= 0 {
				t.Errorf("done = %d after one packet", done)
			}
			if _, err := readAll(src, 1<<20); err != nil {
				t.Fatal(err)
			}
			if done, total := pr.Progress(); done != total {
				t.Errorf("at end Progress() = %d, %d", done, total)
			}
		})
	}
}

// Unknown blocks bigger than the stream buffer (or its hard cap) are
// streamed past; an IDB bigger than the initial buffer makes it grow.
func TestLargeBlocks(t *testing.T) {
	for _, size := range []int{3 << 20, maxBlockLen + 1000, -1} {
		var buf bytes.Buffer
		w := NewPcapngWriter(&buf)
		if _, err := w.AddInterface(LinkEthernet, 9); err != nil {
			t.Fatal(err)
		}
		if size > 0 {
			if err := w.WriteBlock(0x40000bad, make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		} else {
			// Interface 1 with 2 MiB of comments: must be held whole.
			idb := []byte{byte(LinkRaw), 0, 0, 0, 0, 0, 0, 0}
			for range 32 {
				idb = binary.LittleEndian.AppendUint16(idb, 1)
				idb = binary.LittleEndian.AppendUint16(idb, 65000)
				idb = append(idb, make([]byte, 65000)...)
			}
			if err := w.WriteBlock(blockIDB, idb); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WritePacket(0, 5, frame(1, 99), 99); err != nil {
			t.Fatal(err)
		}
		for _, o := range openers[:4] {
			t.Run(o.name, func(t *testing.T) {
				src, err := o.open(t, buf.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(src, 10)
				if err != nil {
					t.Fatal(err)
				}
				comparePkts(t, got, []pkt{{TS: 5, Data: string(frame(1, 99)), WireLen: 99, Link: LinkEthernet, Offset: -1}})
			})
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	file, _ := genPcap(t, 3, LinkEthernet, false, binary.LittleEndian)
	src, err := Open(writeTemp(t, "c.pcap", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := src.Next(&p); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v", err)
	}
}

// Appending to Packet.Data must not scribble over the next record.
func TestDataCapacity(t *testing.T) {
	file, want := genPcap(t, 3, LinkEthernet, false, binary.LittleEndian)
	ng, ngWant := pcapngFixture(t)
	for _, f := range []struct {
		name string
		file []byte
		want []pkt
	}{{"pcap", file, want}, {"pcapng", ng, ngWant}} {
		t.Run(f.name, func(t *testing.T) {
			src, err := NewBytesReader(bytes.Clone(f.file), "x")
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			var got []pkt
			for {
				err := src.Next(&p)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if cap(p.Data) != len(p.Data) {
					t.Fatalf("cap(Data) = %d, len %d", cap(p.Data), len(p.Data))
				}
				got = append(got, pkt{TS: p.TS, Data: string(p.Data), WireLen: p.WireLen, Link: p.LinkType, Offset: p.Offset})
				_ = append(p.Data, 0xde, 0xad, 0xbe, 0xef)
			}
			comparePkts(t, got, f.want)
		})
	}
}
