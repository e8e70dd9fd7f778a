package tls

// Test-only reader for the nDPI corpus: classic pcap and pcapng (EPB/SPB),
// Ethernet/VLAN/raw IP/Linux SLL, IPv4/IPv6, TCP/UDP. Enough to replay the
// captures named in the brief into a dissector; not a general pcap library.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// corpusDir returns <repo root>/../shared/corpus/ndpi or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(c, "pcap")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return c
}

type cFrame struct {
	link uint32
	ts   int64
	data []byte
}

func readCapture(t testing.TB, path string) []cFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: too short", path)
	}
	var out []cFrame
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d: // classic pcap, little-endian
		nano := binary.LittleEndian.Uint32(b) == 0xa1b23c4d
		link := binary.LittleEndian.Uint32(b[20:])
		for off := 24; off+16 <= len(b); {
			sec := int64(binary.LittleEndian.Uint32(b[off:]))
			frac := int64(binary.LittleEndian.Uint32(b[off+4:]))
			n := int(binary.LittleEndian.Uint32(b[off+8:]))
			off += 16
			if off+n > len(b) {
				break
			}
			if !nano {
				frac *= 1000
			}
			out = append(out, cFrame{link, sec*1e9 + frac, b[off : off+n]})
			off += n
		}
	case 0x0a0d0d0a: // pcapng, assume little-endian sections
		var links []uint32
		for off := 0; off+12 <= len(b); {
			typ := binary.LittleEndian.Uint32(b[off:])
			blen := int(binary.LittleEndian.Uint32(b[off+4:]))
			if blen < 12 || off+blen > len(b) {
				break
			}
			body := b[off+8 : off+blen-4]
			switch typ {
			case 0x0a0d0d0a:
				links = links[:0]
			case 1: // IDB
				links = append(links, uint32(binary.LittleEndian.Uint16(body)))
			case 6: // EPB
				id := binary.LittleEndian.Uint32(body)
				ts := int64(binary.LittleEndian.Uint32(body[4:]))<<32 | int64(binary.LittleEndian.Uint32(body[8:]))
				n := int(binary.LittleEndian.Uint32(body[12:]))
				if int(id) < len(links) && 20+n <= len(body) {
					out = append(out, cFrame{links[id], ts * 1000, body[20 : 20+n]})
				}
			case 3: // SPB
				n := int(binary.LittleEndian.Uint32(body))
				if len(links) > 0 && 4+n <= len(body) {
					out = append(out, cFrame{links[0], 0, body[4 : 4+n]})
				}
			}
			off += blen
		}
	default:
		t.Fatalf("%s: unknown capture format", path)
	}
	return out
}

type cPkt struct {
	src, dst netip.AddrPort
	l4       uint8
	flags    uint8
	seq      uint32
	ts       int64
	payload  []byte
}

// decodeFrame returns the L4 view of a frame, ok=false for anything else.
func decodeFrame(f cFrame) (p cPkt, ok bool) {
	b := f.data
	var eth uint16
	switch f.link {
	case 1: // Ethernet
		if len(b) < 14 {
			return p, false
		}
		eth, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for (eth == 0x8100 || eth == 0x88a8) && len(b) >= 4 {
			eth, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case 113: // Linux SLL
		if len(b) < 16 {
			return p, false
		}
		eth, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case 276: // SLL2
		if len(b) < 20 {
			return p, false
		}
		eth, b = binary.BigEndian.Uint16(b), b[20:]
	case 101, 12, 14:
		if len(b) == 0 {
			return p, false
		}
		eth = 0x0800
		if b[0]>>4 == 6 {
			eth = 0x86dd
		}
	default:
		return p, false
	}
	var proto uint8
	switch eth {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return p, false
		}
		ihl := int(b[0]&0xf) * 4
		tot := int(binary.BigEndian.Uint16(b[2:]))
		if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 || ihl < 20 || tot < ihl || tot > len(b) {
			return p, false // fragments are out of scope here
		}
		proto = b[9]
		p.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), 0)
		p.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), 0)
		b = b[ihl:tot]
	case 0x86dd:
		if len(b) < 40 {
			return p, false
		}
		pl := int(binary.BigEndian.Uint16(b[4:]))
		proto = b[6]
		p.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), 0)
		p.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), 0)
		if 40+pl > len(b) {
			return p, false
		}
		b = b[40 : 40+pl]
	default:
		return p, false
	}
	p.l4 = proto
	p.ts = f.ts
	switch proto {
	case 6:
		if len(b) < 20 {
			return p, false
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return p, false
		}
		p.src = netip.AddrPortFrom(p.src.Addr(), binary.BigEndian.Uint16(b))
		p.dst = netip.AddrPortFrom(p.dst.Addr(), binary.BigEndian.Uint16(b[2:]))
		p.seq = binary.BigEndian.Uint32(b[4:])
		p.flags = b[13]
		p.payload = b[off:]
	case 17:
		if len(b) < 8 {
			return p, false
		}
		p.src = netip.AddrPortFrom(p.src.Addr(), binary.BigEndian.Uint16(b))
		p.dst = netip.AddrPortFrom(p.dst.Addr(), binary.BigEndian.Uint16(b[2:]))
		n := int(binary.BigEndian.Uint16(b[4:]))
		if n < 8 || n > len(b) {
			n = len(b)
		}
		p.payload = b[8:n]
	default:
		return p, false
	}
	return p, true
}

// cFlow is one bidirectional flow; client is the SYN sender or the first
// packet's sender, as the engine defines it.
type cFlow struct {
	l4             uint8
	client, server netip.AddrPort
	pkts           []dissect.Packet
}

func (f *cFlow) key() string { return flowKey(f.l4, f.client, f.server) }

func flowKey(l4 uint8, a, b netip.AddrPort) string {
	if b.Addr().Less(a.Addr()) || (a.Addr() == b.Addr() && b.Port() < a.Port()) {
		a, b = b, a
	}
	return fmt.Sprintf("%d %s %s", l4, a, b)
}

func corpusFlows(t testing.TB, file string) []*cFlow {
	t.Helper()
	frames := readCapture(t, filepath.Join(corpusDir(t), "pcap", file))
	byKey := map[string]*cFlow{}
	var order []*cFlow
	for _, fr := range frames {
		p, ok := decodeFrame(fr)
		if !ok {
			continue
		}
		k := flowKey(p.l4, p.src, p.dst)
		f := byKey[k]
		if f == nil {
			f = &cFlow{l4: p.l4, client: p.src, server: p.dst}
			// A SYN-ACK first means the server spoke first in the capture.
			if p.l4 == 6 && p.flags&0x12 == 0x12 {
				f.client, f.server = p.dst, p.src
			}
			byKey[k] = f
			order = append(order, f)
		}
		if len(p.payload) == 0 {
			continue
		}
		dp := dissect.Packet{L4: p.l4, ClientPort: f.client.Port(), ServerPort: f.server.Port(),
			TCPFlags: p.flags, Seq: p.seq, TS: p.ts, Payload: p.payload}
		if p.src != f.client {
			dp.Dir = dissect.ToClient
		}
		dp.Index = len(f.pkts) + 1
		f.pkts = append(f.pkts, dp)
	}
	return order
}

// runFlow feeds f to d the way the engine does (at most budget payload
// packets, stop on Done or NotMine) and returns the final status.
func runFlow(d dissect.Dissector, f *cFlow, budget int, m *dissect.Meta) dissect.Status {
	st := dissect.Continue
	for i := range f.pkts {
		if i >= budget {
			break
		}
		p := f.pkts[i]
		st = d.Feed(&p, m)
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	return st
}

// outFlow is one flow line of an nDPI .out file.
type outFlow struct {
	l4     uint8
	a, b   netip.AddrPort
	proto  string // "TLS.Google", "DTLS", ...
	fields map[string]string
}

var (
	outLine  = regexp.MustCompile(`^\s*\d+\s+(TCP|UDP) (\S+) <?-> (\S+) (.*)$`)
	outField = regexp.MustCompile(`\[([^:\]]+): ([^\]]*)\]`)
)

func readOut(t testing.TB, file string) []outFlow {
	t.Helper()
	fh, err := os.Open(filepath.Join(corpusDir(t), "result", file+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []outFlow
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := outLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, err1 := netip.ParseAddrPort(m[2])
		b, err2 := netip.ParseAddrPort(m[3])
		if err1 != nil || err2 != nil {
			continue
		}
		of := outFlow{l4: 6, a: a, b: b, fields: map[string]string{}}
		if m[1] == "UDP" {
			of.l4 = 17
		}
		for _, f := range outField.FindAllStringSubmatch(m[4], -1) {
			if _, dup := of.fields[f[1]]; !dup {
				of.fields[f[1]] = f[2]
			}
		}
		p := of.fields["proto"]
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			p = p[i+1:]
		}
		of.proto = p
		out = append(out, of)
	}
	return out
}

func (o outFlow) key() string { return flowKey(o.l4, o.a, o.b) }

// master is the master protocol of an nDPI label ("TLS" for "TLS.Google").
func (o outFlow) master() string {
	if i := strings.IndexByte(o.proto, '.'); i >= 0 {
		return o.proto[:i]
	}
	return o.proto
}
