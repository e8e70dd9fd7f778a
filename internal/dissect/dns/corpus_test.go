package dns

// A minimal, test-only reader for the nDPI corpus: classic pcap and pcapng
// (EPB/SPB), Ethernet/VLAN/Linux SLL/null/raw links, IPv4/IPv6 (first
// fragments only), UDP/TCP, plus the two tunnels the corpus needs (6in4 and
// VXLAN). It groups packets into flows the way the engine does (client =
// SYN sender or first sender) and parses the per-flow lines of nDPI's .out
// files.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// corpusDir returns <repo root>/../shared/corpus/ndpi or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
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

type corpusKey struct {
	l4   uint8
	a, b netip.AddrPort // ordered so that a <= b
}

func makeKey(l4 uint8, x, y netip.AddrPort) corpusKey {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return corpusKey{l4, x, y}
}

type corpusFlow struct {
	key            corpusKey
	client, server netip.AddrPort
	pkts           []dissect.Packet // payload packets only, Payload owned
	n              int              // all packets seen
}

// readCorpusFlows returns the flows of one capture in first-seen order.
func readCorpusFlows(t testing.TB, name string) []*corpusFlow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "pcap", name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	byKey := map[corpusKey]*corpusFlow{}
	var order []*corpusFlow
	add := func(l4 uint8, src, dst netip.AddrPort, flags uint8, seq uint32, payload []byte, ts int64) {
		k := makeKey(l4, src, dst)
		f := byKey[k]
		if f == nil {
			f = &corpusFlow{key: k, client: src, server: dst}
			if l4 == 6 && flags&0x12 == 0x12 { // SYN-ACK first: the receiver initiated
				f.client, f.server = dst, src
			}
			byKey[k] = f
			order = append(order, f)
		}
		f.n++
		if len(payload) == 0 {
			return
		}
		dir := dissect.ToServer
		if src != f.client {
			dir = dissect.ToClient
		}
		f.pkts = append(f.pkts, dissect.Packet{
			Dir: dir, L4: l4, ClientPort: f.client.Port(), ServerPort: f.server.Port(),
			TCPFlags: flags, Seq: seq, Index: f.n, TS: ts,
			Payload: append([]byte(nil), payload...),
		})
	}
	err = walkCapture(data, func(link uint32, frame []byte, ts int64) {
		decodeLink(link, frame, ts, add, 0)
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return order
}

type addFunc func(l4 uint8, src, dst netip.AddrPort, flags uint8, seq uint32, payload []byte, ts int64)

func walkCapture(data []byte, fn func(link uint32, frame []byte, ts int64)) error {
	if len(data) < 24 {
		return errors.New("short capture")
	}
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1:
		return walkPcap(data, fn)
	case 0x0a0d0d0a:
		return walkPcapng(data, fn)
	}
	return errors.New("unknown capture format")
}

func walkPcap(data []byte, fn func(uint32, []byte, int64)) error {
	var bo binary.ByteOrder = binary.LittleEndian
	m := binary.LittleEndian.Uint32(data)
	if m == 0xd4c3b2a1 || m == 0x4d3cb2a1 {
		bo = binary.BigEndian
		m = bo.Uint32(data)
	}
	nano := m == 0xa1b23c4d
	link := bo.Uint32(data[20:]) & 0xffff
	for off := 24; off+16 <= len(data); {
		sec, frac := int64(bo.Uint32(data[off:])), int64(bo.Uint32(data[off+4:]))
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl < 0 || off+incl > len(data) {
			return errors.New("truncated record")
		}
		if !nano {
			frac *= 1000
		}
		fn(link, data[off:off+incl], sec*1e9+frac)
		off += incl
	}
	return nil
}

func walkPcapng(data []byte, fn func(uint32, []byte, int64)) error {
	var bo binary.ByteOrder = binary.LittleEndian
	var links []uint32
	for off := 0; off+12 <= len(data); {
		typ := bo.Uint32(data[off:])
		if typ == 0x0a0d0d0a {
			if binary.LittleEndian.Uint32(data[off+8:]) == 0x1a2b3c4d {
				bo = binary.LittleEndian
			} else {
				bo = binary.BigEndian
			}
			links = links[:0]
		}
		blen := int(bo.Uint32(data[off+4:]))
		if blen < 12 || off+blen > len(data) {
			return errors.New("bad block length")
		}
		body := data[off+8 : off+blen-4]
		switch typ {
		case 1: // IDB
			if len(body) >= 2 {
				links = append(links, uint32(bo.Uint16(body)))
			}
		case 6: // EPB
			if len(body) >= 20 {
				ifc := int(bo.Uint32(body))
				ts := int64(bo.Uint32(body[4:]))<<32 | int64(bo.Uint32(body[8:]))
				capl := int(bo.Uint32(body[12:]))
				if ifc < len(links) && 20+capl <= len(body) {
					fn(links[ifc], body[20:20+capl], ts*1000) // assumes µs resolution
				}
			}
		case 3: // SPB
			if len(body) >= 4 && len(links) > 0 {
				fn(links[0], body[4:], 0)
			}
		}
		off += blen
	}
	return nil
}

func decodeLink(link uint32, b []byte, ts int64, add addFunc, depth int) {
	switch link {
	case 1:
		decodeEther(b, ts, add, depth)
	case 113: // Linux SLL
		if len(b) >= 16 {
			decodeEtherType(binary.BigEndian.Uint16(b[14:]), b[16:], ts, add, depth)
		}
	case 276: // Linux SLL2
		if len(b) >= 20 {
			decodeEtherType(binary.BigEndian.Uint16(b), b[20:], ts, add, depth)
		}
	case 0, 108: // null / loop
		if len(b) >= 4 {
			decodeIP(b[4:], ts, add, depth)
		}
	case 101, 12, 228, 229:
		decodeIP(b, ts, add, depth)
	}
}

func decodeEther(b []byte, ts int64, add addFunc, depth int) {
	if len(b) < 14 {
		return
	}
	decodeEtherType(binary.BigEndian.Uint16(b[12:]), b[14:], ts, add, depth)
}

func decodeEtherType(et uint16, b []byte, ts int64, add addFunc, depth int) {
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if len(b) < 4 {
			return
		}
		et = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	if et == 0x8864 { // PPPoE session: 6-byte header, then the PPP protocol
		if len(b) < 8 || (b[6] != 0 || (b[7] != 0x21 && b[7] != 0x57)) {
			return
		}
		b = b[8:]
		et = 0x0800
	}
	if et == 0x0800 || et == 0x86dd {
		decodeIP(b, ts, add, depth)
	}
}

func decodeIP(b []byte, ts int64, add addFunc, depth int) {
	if len(b) < 1 || depth > 3 {
		return
	}
	var src, dst netip.Addr
	var proto uint8
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return
		}
		ihl := int(b[0]&0xf) * 4
		tot := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || tot < ihl || len(b) < ihl {
			return
		}
		if tot < len(b) {
			b = b[:tot] // drop Ethernet padding
		}
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return // not a first fragment
		}
		proto = b[9]
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:]
	case 6:
		if len(b) < 40 {
			return
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if 40+plen < len(b) {
			b = b[:40+plen]
		}
		proto = b[6]
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:]
		for {
			switch proto {
			case 0, 43, 60:
				if len(b) < 8 {
					return
				}
				n := (int(b[1]) + 1) * 8
				if len(b) < n {
					return
				}
				proto, b = b[0], b[n:]
				continue
			case 44:
				if len(b) < 8 || binary.BigEndian.Uint16(b[2:])&0xfff8 != 0 {
					return
				}
				proto, b = b[0], b[8:]
				continue
			}
			break
		}
	default:
		return
	}
	switch proto {
	case 41: // 6in4
		decodeIP(b, ts, add, depth+1)
	case 4: // 4in4
		decodeIP(b, ts, add, depth+1)
	case 17:
		if len(b) < 8 {
			return
		}
		sp, dp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		ulen := int(binary.BigEndian.Uint16(b[4:]))
		pl := b[8:]
		if ulen >= 8 && ulen-8 < len(pl) {
			pl = pl[:ulen-8]
		}
		if dp == 4789 && len(pl) >= 8 && pl[0]&0x08 != 0 {
			decodeEther(pl[8:], ts, add, depth+1)
			return
		}
		add(17, netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp), 0, 0, pl, ts)
	case 6:
		if len(b) < 20 {
			return
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return
		}
		sp, dp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		add(6, netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp), b[13], binary.BigEndian.Uint32(b[4:]), b[off:], ts)
	}
}

// ndpiFlow is one flow line of a .out file.
type ndpiFlow struct {
	key    corpusKey
	label  string // "DNS.Facebook"
	master string // "DNS"
	fields map[string]string
}

// readNDPI parses the flow lines of result/<name>.out.
func readNDPI(t testing.TB, name string) []ndpiFlow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir(t), "result", name+".out"))
	if err != nil {
		t.Fatalf("open .out: %v", err)
	}
	defer f.Close()
	var out []ndpiFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		parts := strings.SplitN(line, " ", 5)
		if len(parts) < 5 {
			continue
		}
		// "<n>\tTCP a <-> b [...]": the first field holds n and L4.
		head := strings.Fields(parts[0])
		if len(head) != 2 || (head[1] != "TCP" && head[1] != "UDP") {
			continue
		}
		l4 := uint8(6)
		if head[1] == "UDP" {
			l4 = 17
		}
		a, err1 := netip.ParseAddrPort(parts[1])
		b, err2 := netip.ParseAddrPort(parts[3])
		if err1 != nil || err2 != nil {
			continue
		}
		fl := ndpiFlow{key: makeKey(l4, a, b), fields: bracketFields(parts[4])}
		p := fl.fields["proto"]
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			p = p[i+1:]
		}
		fl.label = p
		fl.master, _, _ = strings.Cut(p, ".")
		out = append(out, fl)
	}
	return out
}

// bracketFields splits "[k: v][k2: v2]" honouring nested brackets.
func bracketFields(s string) map[string]string {
	m := map[string]string{}
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ']':
			depth--
			if depth == 0 {
				k, v, ok := strings.Cut(s[start:i], ": ")
				if ok {
					if _, dup := m[k]; !dup {
						m[k] = v
					}
				}
			}
			if depth < 0 {
				depth = 0
			}
		}
	}
	return m
}

// feedFlow feeds up to budget payload packets of f to d like the engine
// does and returns the last status.
func feedFlow(d dissect.Dissector, f *corpusFlow, m *dissect.Meta, budget int) dissect.Status {
	st := dissect.Continue
	for i := range f.pkts {
		if i >= budget {
			break
		}
		st = d.Feed(&f.pkts[i], m)
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	return st
}
