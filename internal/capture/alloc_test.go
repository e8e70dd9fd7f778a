package capture

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// TestNoAllocs: Next allocates nothing in steady state. The input is long
// enough (about 10 MB) that the stream buffer is compacted and refilled
// many times while measuring. AllocsPerRun truncates its average to an
// integer, so it is run once over a whole batch of packets: the result is
// the exact total for the batch.
//
// The gzip paths are the exception that proves the rule: our code adds
// nothing, but compress/flate allocates small Huffman link tables for some
// dynamic blocks (about one allocation per 10 packets, 8 KiB, here). That bound is
// checked so a regression in our code still shows.
func TestNoAllocs(t *testing.T) {
	const warm, batch = 100, 4000
	pcapFile, _ := genPcap(t, 12000, LinkEthernet, false, binary.LittleEndian)
	ng := genPcapng(t, 12000)
	for _, f := range []struct {
		name string
		file []byte
	}{{"pcap", pcapFile}, {"pcapng", ng}} {
		for _, o := range openers {
			if o.name == "pipe" {
				continue // io.Pipe's synchronisation is not ours to measure
			}
			t.Run(f.name+"/"+o.name, func(t *testing.T) {
				src, err := o.open(t, f.file)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				var p Packet
				for range warm { // buffers sized, interfaces known
					if err := src.Next(&p); err != nil {
						t.Fatal(err)
					}
				}
				var err2 error
				allocs := testing.AllocsPerRun(1, func() {
					for range batch {
						if err := src.Next(&p); err != nil && err2 == nil {
							err2 = err
						}
					}
				})
				if err2 != nil {
					t.Fatal(err2)
				}
				perPacket := allocs / batch
				if strings.HasPrefix(o.name, "gzip") {
					t.Logf("%v allocations in %d packets (compress/flate)", allocs, batch)
					if perPacket > 0.25 {
						t.Errorf("gzip path allocates %.3f times per packet, want < 0.25", perPacket)
					}
					return
				}
				if allocs != 0 {
					t.Errorf("Next allocated %v times in %d packets, want 0", allocs, batch)
				}
			})
		}
	}
}

// genPcapng writes n EPBs over two interfaces with different resolutions.
func genPcapng(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewPcapngWriter(&buf)
	if _, err := w.AddInterface(LinkEthernet, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(LinkRaw, 0x80|24); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WritePacket(i%2, baseTS+int64(i)*1000, frame(i, frameLen(i)), frameLen(i)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}
