// Command benchcap builds Weir's benchmark capture: the Ethernet captures of
// the nDPI peer corpus looped into one classic pcap of a target size, each
// loop tagged with its own VLAN id (an outer 802.1Q tag) so every loop makes
// new flows, and timestamps shifted so time only moves forward (flows then
// expire as they would live).
//
//	go run ./internal/tools/benchcap -o /tmp/weir-bench.pcap ../shared/corpus/ndpi/pcap
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/weirnet/weir/internal/capture"
)

func main() {
	out := flag.String("o", "weir-bench.pcap", "output pcap")
	size := flag.Int64("size", 300<<20, "target size in bytes")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: benchcap [-o FILE] [-size BYTES] CORPUS_PCAP_DIR")
		os.Exit(2)
	}
	if err := build(flag.Arg(0), *out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "benchcap:", err)
		os.Exit(1)
	}
}

func build(dir, out string, size int64) error {
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("no captures in %s", dir)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := capture.NewPcapWriter(bw, capture.LinkEthernet, false)
	if err := w.WriteHeader(); err != nil {
		return err
	}
	var written, packets int64
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	frame := make([]byte, 0, 1<<16)
	for loop := 1; written < size; loop++ {
		vlan := uint16(loop%4000 + 1)
		for _, name := range files {
			src, err := capture.Open(name)
			if err != nil {
				return err
			}
			var p capture.Packet
			var first, last int64
			for {
				if err = src.Next(&p); err != nil {
					break
				}
				if p.LinkType != capture.LinkEthernet || len(p.Data) < 14 {
					continue
				}
				if first == 0 {
					first = p.TS
				}
				ts := clock + max(p.TS-first, 0)
				last = ts
				// Outer 802.1Q tag after the MAC addresses.
				frame = append(frame[:0], p.Data[:12]...)
				frame = append(frame, 0x81, 0x00, byte(vlan>>8), byte(vlan))
				frame = append(frame, p.Data[12:]...)
				if err := w.WritePacket(ts, frame, p.WireLen+4); err != nil {
					return err
				}
				written += int64(len(frame)) + 16
				packets++
			}
			src.Close()
			if err != nil && !errors.Is(err, io.EOF) {
				// Keep what was read; a corpus file cut short is still useful load.
				fmt.Fprintf(os.Stderr, "benchcap: %v (kept packets before it)\n", err)
			}
			clock = max(clock, last) + int64(time.Second)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchcap: wrote %s: %d packets, %.1f MB\n", out, packets, float64(written)/1e6)
	return nil
}
