package rtp

// Test-only nDPI corpus reader: classic pcap and pcapng (EPB/SPB), link types
// Ethernet (VLAN), BSD null/loop and raw IP, IPv4/IPv6, UDP/TCP, plus the two
// tunnels the corpus uses for the flows we check (GRE incl. PPTP's enhanced GRE
// with PPP, and GTP-U). It groups packets into flows the way the engine does and
// reads nDPI's per-flow labels from result/<file>.out.

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

type corpusPkt struct {
	dir     dissect.Dir
	flags   uint8
	seq     uint32
	ts      int64
	payload []byte
}

type corpusFlow struct {
	key            string // unordered "UDP a:p b:p"
	l4             uint8
	client, server netip.AddrPort
	pkts           []corpusPkt
}

// corpusRoot returns <repo>/../shared/corpus/ndpi or skips the test.
func corpusRoot(t testing.TB) string {
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
	root := filepath.Join(dir, "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(root, "pcap")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return root
}

func flowKey(l4 uint8, a, b netip.AddrPort) string {
	as, bs := a.String(), b.String()
	if as > bs {
		as, bs = bs, as
	}
	n := "UDP"
	if l4 == 6 {
		n = "TCP"
	}
	return n + " " + as + " " + bs
}

// readCorpusFlows returns the capture's UDP/TCP flows in order of first packet.
func readCorpusFlows(t testing.TB, name string) []*corpusFlow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusRoot(t), "pcap", name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	byKey := map[string]*corpusFlow{}
	var order []*corpusFlow
	add := func(link uint32, frame []byte, ts int64) {
		l4, src, dst, flags, seq, pl, ok := decodeFrame(link, frame)
		if !ok {
			return
		}
		k := flowKey(l4, src, dst)
		f := byKey[k]
		if f == nil {
			f = &corpusFlow{key: k, l4: l4, client: src, server: dst}
			if l4 == 6 && flags&0x12 == 0x12 { // SYN-ACK first: its receiver is the client
				f.client, f.server = dst, src
			}
			byKey[k] = f
			order = append(order, f)
		}
		dir := dissect.ToServer
		if src != f.client {
			dir = dissect.ToClient
		}
		f.pkts = append(f.pkts, corpusPkt{dir: dir, flags: flags, seq: seq, ts: ts, payload: pl})
	}
	if len(data) < 24 {
		t.Fatalf("%s: short file", name)
	}
	switch binary.LittleEndian.Uint32(data) {
	case 0x0a0d0d0a:
		readPcapng(data, add)
	default:
		readPcap(data, add)
	}
	return order
}

func readPcap(d []byte, add func(uint32, []byte, int64)) {
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(d) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	default:
		bo = binary.BigEndian
	}
	nano := bo.Uint32(d) == 0xa1b23c4d
	link := bo.Uint32(d[20:]) & 0xffff
	for off := 24; off+16 <= len(d); {
		sec, frac := int64(bo.Uint32(d[off:])), int64(bo.Uint32(d[off+4:]))
		n := int(bo.Uint32(d[off+8:]))
		off += 16
		if n < 0 || off+n > len(d) {
			return
		}
		if !nano {
			frac *= 1000
		}
		add(link, d[off:off+n], sec*1e9+frac)
		off += n
	}
}

func readPcapng(d []byte, add func(uint32, []byte, int64)) {
	var bo binary.ByteOrder = binary.LittleEndian
	var links []uint32
	for off := 0; off+12 <= len(d); {
		typ := binary.LittleEndian.Uint32(d[off:])
		if typ == 0x0a0d0d0a {
			if binary.LittleEndian.Uint32(d[off+8:]) == 0x1a2b3c4d {
				bo = binary.LittleEndian
			} else {
				bo = binary.BigEndian
			}
			links = links[:0]
		} else {
			typ = bo.Uint32(d[off:])
		}
		blen := int(bo.Uint32(d[off+4:]))
		if blen < 12 || off+blen > len(d) {
			return
		}
		b := d[off+8 : off+blen-4]
		switch typ {
		case 1: // IDB
			if len(b) >= 2 {
				links = append(links, uint32(bo.Uint16(b)))
			}
		case 6: // EPB
			if len(b) >= 20 {
				id := int(bo.Uint32(b))
				ts := int64(bo.Uint32(b[4:]))<<32 | int64(bo.Uint32(b[8:]))
				n := int(bo.Uint32(b[12:]))
				if id < len(links) && 20+n <= len(b) {
					add(links[id], b[20:20+n], ts*1000)
				}
			}
		case 3: // SPB
			if len(b) >= 4 && len(links) > 0 {
				add(links[0], b[4:], 0)
			}
		}
		off += blen
	}
}

func decodeFrame(link uint32, b []byte) (l4 uint8, src, dst netip.AddrPort, flags uint8, seq uint32, pl []byte, ok bool) {
	switch link {
	case 1: // Ethernet
		if len(b) < 14 {
			return
		}
		et := binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for (et == 0x8100 || et == 0x88a8) && len(b) >= 4 {
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
		if et != 0x0800 && et != 0x86dd {
			return
		}
	case 0, 108: // BSD null/loop: 4-byte family
		if len(b) < 4 {
			return
		}
		b = b[4:]
	case 101, 228, 229: // raw IP
	default:
		return
	}
	return decodeIP(b, 0)
}

func decodeIP(b []byte, depth int) (l4 uint8, src, dst netip.AddrPort, flags uint8, seq uint32, pl []byte, ok bool) {
	if len(b) < 1 || depth > 2 {
		return
	}
	var sa, da netip.Addr
	var proto uint8
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return
		}
		ihl := int(b[0]&0xf) * 4
		tot := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || tot < ihl || tot > len(b) {
			return
		}
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 { // non-first fragment
			return
		}
		proto = b[9]
		sa = netip.AddrFrom4([4]byte(b[12:16]))
		da = netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:tot]
	case 6:
		if len(b) < 40 {
			return
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if 40+plen > len(b) {
			return
		}
		proto = b[6]
		sa = netip.AddrFrom16([16]byte(b[8:24]))
		da = netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40 : 40+plen]
		for proto == 0 || proto == 43 || proto == 44 || proto == 60 {
			if len(b) < 8 {
				return
			}
			n := int(b[1])*8 + 8
			if proto == 44 {
				n = 8
				if binary.BigEndian.Uint16(b[2:])&0xfff8 != 0 {
					return
				}
			}
			if n > len(b) {
				return
			}
			proto, b = b[0], b[n:]
		}
	default:
		return
	}
	switch proto {
	case 17:
		if len(b) < 8 {
			return
		}
		sp, dp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		if (sp == 2152 || dp == 2152) && len(b) >= 16 && b[8]>>5 == 1 && b[9] == 0xff {
			if r, ok2 := gtpInner(b[8:]); ok2 {
				return decodeIP(r, depth+1)
			}
		}
		return 17, netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp), 0, 0, b[8:], true
	case 6:
		if len(b) < 20 {
			return
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return
		}
		return 6, netip.AddrPortFrom(sa, binary.BigEndian.Uint16(b)), netip.AddrPortFrom(da, binary.BigEndian.Uint16(b[2:])),
			b[13], binary.BigEndian.Uint32(b[4:]), b[off:], true
	case 47:
		if r, ok2 := greInner(b); ok2 {
			return decodeIP(r, depth+1)
		}
	}
	return
}

func gtpInner(b []byte) ([]byte, bool) {
	n := 8
	if b[0]&0x07 != 0 {
		n = 12
		next := b[11]
		for next != 0 {
			if n >= len(b) {
				return nil, false
			}
			l := int(b[n]) * 4
			if l == 0 || n+l > len(b) {
				return nil, false
			}
			next = b[n+l-1]
			n += l
		}
	}
	if n > len(b) {
		return nil, false
	}
	return b[n:], true
}

func greInner(b []byte) ([]byte, bool) {
	if len(b) < 4 {
		return nil, false
	}
	fl, proto := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	n := 4
	for _, bit := range []uint16{0x8000, 0x2000, 0x1000} {
		if fl&bit != 0 {
			n += 4
		}
	}
	if fl&7 == 1 && fl&0x0080 != 0 { // enhanced GRE acknowledgment
		n += 4
	}
	if n > len(b) {
		return nil, false
	}
	b = b[n:]
	if proto == 0x880b { // PPP
		if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
			b = b[2:]
		}
		if len(b) >= 1 && b[0] == 0x21 {
			return b[1:], true
		}
		if len(b) >= 2 && (b[1] == 0x21 || b[1] == 0x57) && b[0] == 0 {
			return b[2:], true
		}
		return nil, false
	}
	return b, proto == 0x0800 || proto == 0x86dd
}

var ndpiLine = regexp.MustCompile(`^\s+\d+\s+(TCP|UDP) (\S+) <?-> (\S+) (?:\[VLAN: \d+\])?\[proto: ([^\]]+)\]`)

// ndpiLabels maps flowKey -> nDPI label (e.g. "78.45/STUN.WhatsAppCall").
func ndpiLabels(t testing.TB, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusRoot(t), "result", name+".out"))
	if err != nil {
		t.Fatalf("open .out: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := ndpiLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, err1 := netip.ParseAddrPort(m[2])
		b, err2 := netip.ParseAddrPort(m[3])
		if err1 != nil || err2 != nil {
			continue
		}
		l4 := uint8(17)
		if m[1] == "TCP" {
			l4 = 6
		}
		out[flowKey(l4, a, b)] = m[4]
	}
	return out
}

// labelHas reports whether an nDPI label names proto as master or app.
func labelHas(label, proto string) bool {
	if i := strings.LastIndexByte(label, '/'); i >= 0 {
		label = label[i+1:]
	}
	for _, p := range strings.Split(label, ".") {
		if p == proto {
			return true
		}
	}
	return false
}

// feedFlow drives d like the engine: payload packets in order, both
// directions, at most 24, until NotMine or Done.
func feedFlow(d dissect.Dissector, f *corpusFlow) (dissect.Status, dissect.Meta) {
	d.Reset()
	var m dissect.Meta
	best := dissect.Continue
	n := 0
	for i, cp := range f.pkts {
		if len(cp.payload) == 0 {
			continue
		}
		n++
		if n > 24 {
			break
		}
		p := dissect.Packet{Dir: cp.dir, L4: f.l4, ClientPort: f.client.Port(), ServerPort: f.server.Port(),
			TCPFlags: cp.flags, Seq: cp.seq, Index: i + 1, TS: cp.ts, Payload: cp.payload}
		st := d.Feed(&p, &m)
		switch st {
		case dissect.Identified:
			best = st
		case dissect.Done:
			return st, m
		case dissect.NotMine:
			if best == dissect.Identified {
				return best, m
			}
			return st, m
		}
	}
	return best, m
}

func fmtFlow(f *corpusFlow) string { return fmt.Sprintf("%s (%d pkts)", f.key, len(f.pkts)) }
