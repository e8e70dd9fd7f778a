package testnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// Capture is a running tcpdump.
type Capture struct {
	Path string
	p    *Proc
}

// StartCapture runs tcpdump -U -w on iface inside ns with a BPF filter
// ("" for everything) and returns once tcpdump is listening, so no packet
// sent after StartCapture returns is missed.
func (n *Net) StartCapture(ns, iface, filter string) *Capture {
	n.t.Helper()
	path := n.tmpFile("capture") + ".pcap"
	// --immediate-mode: without it packets wait in a TPACKET_V3 block until
	// it times out, and a capture stopped sooner loses them all.
	// -Z root: tcpdump would drop to user tcpdump and could not write into
	// the test's 0700 temp dir.
	args := []string{"-U", "--immediate-mode", "-n", "-Z", "root", "-i", iface, "-s", "0", "-w", path}
	if filter != "" {
		args = append(args, filter)
	}
	p := n.Start(ns, "tcpdump", args...)
	if err := waitLog(p, "listening on", 10*time.Second); err != nil {
		n.t.Fatalf("testnet: tcpdump: %v\n%s", err, p.Stderr())
	}
	return &Capture{Path: path, p: p}
}

var capturedRe = regexp.MustCompile(`(\d+) packets? captured`)

// Stop ends tcpdump (SIGINT, so it flushes) and returns the pcap path and
// the number of packets tcpdump says it captured.
func (c *Capture) Stop() (path string, packets int, err error) {
	// Give in-flight packets a moment to reach the socket.
	time.Sleep(100 * time.Millisecond)
	c.p.signal(syscall.SIGINT)
	if werr := c.p.Wait(5 * time.Second); werr != nil {
		var ee interface{ ExitCode() int }
		if !errors.As(werr, &ee) {
			_ = c.p.Stop()
			return c.Path, 0, werr
		}
	}
	if m := capturedRe.FindStringSubmatch(c.p.Stderr()); m != nil {
		packets, _ = strconv.Atoi(m[1])
	}
	return c.Path, packets, nil
}

// PcapPacket is one record of a classic pcap file.
type PcapPacket struct {
	Time time.Time
	Data []byte
}

// ReadPcap reads a classic little- or big-endian pcap file (what tcpdump
// -w writes). It is a test helper: the file is read whole.
func ReadPcap(path string) ([]PcapPacket, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("testnet: %s: short pcap header", path)
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("testnet: %s: not a pcap file", path)
	}
	var out []PcapPacket
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return out, fmt.Errorf("testnet: %s: truncated record header at %d", path, off)
		}
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		incl := int(bo.Uint32(b[off+8:]))
		off += 16
		if incl < 0 || incl > len(b)-off {
			return out, fmt.Errorf("testnet: %s: truncated record at %d", path, off)
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		out = append(out, PcapPacket{Time: time.Unix(int64(sec), ns), Data: b[off : off+incl]})
		off += incl
	}
	return out, nil
}

// PcapContains reports how many packets of the pcap at path contain marker.
func PcapContains(path string, marker []byte) (int, error) {
	pkts, err := ReadPcap(path)
	k := 0
	for _, p := range pkts {
		if bytes.Contains(p.Data, marker) {
			k++
		}
	}
	return k, err
}
