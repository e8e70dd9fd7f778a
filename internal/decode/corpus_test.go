package decode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
)

// Minimal test-only capture reader: classic pcap (µs/ns, either byte
// order) and pcapng (SHB, IDB with if_tsresol, EPB, SPB). The real reader
// lives in internal/capture; this one only has to be correct on the corpus.

type rec struct {
	link capture.LinkType
	data []byte
	wire int
	ts   int64
}

func readCapture(path string) ([]rec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("short file")
	}
	switch binary.LittleEndian.Uint32(b) {
	case 0x0a0d0d0a:
		return readPcapng(b)
	}
	return readPcap(b)
}

func readPcap(b []byte) ([]rec, error) {
	var bo binary.ByteOrder
	nano := false
	switch m := binary.LittleEndian.Uint32(b); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo, nano = binary.LittleEndian, m == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo, nano = binary.BigEndian, m == 0x4d3cb2a1
	default:
		return nil, fmt.Errorf("bad magic %#x", m)
	}
	link := capture.LinkType(bo.Uint32(b[20:]) & 0xffff)
	var out []rec
	for off := 24; off+16 <= len(b); {
		sec, frac := int64(bo.Uint32(b[off:])), int64(bo.Uint32(b[off+4:]))
		incl, orig := int(bo.Uint32(b[off+8:])), int(bo.Uint32(b[off+12:]))
		off += 16
		if incl > len(b)-off {
			return out, errors.New("truncated record")
		}
		if !nano {
			frac *= 1000
		}
		out = append(out, rec{link, b[off : off+incl], orig, sec*1e9 + frac})
		off += incl
	}
	return out, nil
}

func readPcapng(b []byte) ([]rec, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	type iface struct {
		link capture.LinkType
		unit int64 // ns per tick (0: sub-ns, handled as div)
		div  int64
	}
	var ifs []iface
	var out []rec
	for off := 0; off+12 <= len(b); {
		typ := bo.Uint32(b[off:])
		if typ == 0x0a0d0d0a {
			if binary.LittleEndian.Uint32(b[off+8:]) == 0x1a2b3c4d {
				bo = binary.LittleEndian
			} else {
				bo = binary.BigEndian
			}
			ifs = ifs[:0]
		}
		n := int(bo.Uint32(b[off+4:]))
		if n < 12 || n > len(b)-off {
			return out, fmt.Errorf("bad block length %d", n)
		}
		body := b[off+8 : off+n-4]
		switch typ {
		case 1: // IDB
			if len(body) < 8 {
				return out, errors.New("short IDB")
			}
			ifc := iface{link: capture.LinkType(bo.Uint16(body)), unit: 1000}
			for o := 8; o+4 <= len(body); {
				code, l := bo.Uint16(body[o:]), int(bo.Uint16(body[o+2:]))
				if code == 0 || o+4+l > len(body) {
					break
				}
				if code == 9 && l >= 1 { // if_tsresol
					v := body[o+4]
					var perSec int64 = 1
					for range v & 0x7f {
						if v&0x80 != 0 {
							perSec *= 2
						} else {
							perSec *= 10
						}
					}
					if perSec <= 1e9 {
						ifc.unit = 1e9 / perSec
					} else {
						ifc.unit, ifc.div = 0, perSec/1e9
					}
				}
				o += 4 + (l+3)&^3
			}
			ifs = append(ifs, ifc)
		case 6: // EPB
			if len(body) < 20 {
				return out, errors.New("short EPB")
			}
			id := int(bo.Uint32(body))
			ticks := int64(bo.Uint32(body[4:]))<<32 | int64(bo.Uint32(body[8:]))
			capLen, orig := int(bo.Uint32(body[12:])), int(bo.Uint32(body[16:]))
			if id >= len(ifs) || capLen > len(body)-20 {
				return out, errors.New("bad EPB")
			}
			ts := ticks * ifs[id].unit
			if ifs[id].unit == 0 {
				ts = ticks / ifs[id].div
			}
			out = append(out, rec{ifs[id].link, body[20 : 20+capLen], orig, ts})
		case 3: // SPB
			if len(body) < 4 || len(ifs) == 0 {
				return out, errors.New("bad SPB")
			}
			orig := int(bo.Uint32(body))
			capLen := min(orig, len(body)-4)
			out = append(out, rec{ifs[0].link, body[4 : 4+capLen], orig, 0})
		}
		off += n
	}
	return out, nil
}

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

// TestCorpusSmoke decodes every frame of every capture: no panic, every
// frame counted once, and a per-file summary in -v output.
func TestCorpusSmoke(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	var total Stats
	frames := 0
	for _, f := range files {
		recs, err := readCapture(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		d := mustNew(t, DefaultConfig())
		var p Parsed
		for _, r := range recs {
			d.Decode(r.link, r.data, r.wire, r.ts, &p)
		}
		st := d.Stats()
		var sum uint64
		for _, n := range st.Results {
			sum += n
		}
		if sum != uint64(len(recs)) {
			t.Errorf("%s: %d results for %d frames", filepath.Base(f), sum, len(recs))
		}
		if st.Results[Malformed] > 0 || st.FragInProgress > 0 {
			t.Logf("%s: %d frames ok=%d notip=%d held=%d malformed=%d reasons=%s inprogress=%d",
				filepath.Base(f), len(recs), st.Results[OK], st.Results[NotIP], st.Results[Held],
				st.Results[Malformed], reasonSummary(st), st.FragInProgress)
		}
		frames += len(recs)
		for i := range total.Results {
			total.Results[i] += st.Results[i]
		}
		for i := range total.Reasons {
			total.Reasons[i] += st.Reasons[i]
		}
		for i := range total.NotIP {
			total.NotIP[i] += st.NotIP[i]
		}
		total.FragCompleted += st.FragCompleted
	}
	t.Logf("%d files, %d frames: ok=%d notip=%d held=%d malformed=%d reasons=%s notip=%v reassembled=%d",
		len(files), frames, total.Results[OK], total.Results[NotIP], total.Results[Held], total.Results[Malformed],
		reasonSummary(total), total.NotIP, total.FragCompleted)
}

func reasonSummary(st Stats) string {
	var parts []string
	for r, n := range st.Reasons {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%v:%d", Reason(r), n))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// flowID is an nDPI-style flow identity: L4 name, unordered endpoints, VLAN.
type flowID struct {
	l4     string
	a, b   string // "addr:port", a <= b
	vlanID uint16
}

func makeFlowID(l4 string, a, b string, vlan uint16) flowID {
	if b < a {
		a, b = b, a
	}
	return flowID{l4, a, b, vlan}
}

var outFlowRE = regexp.MustCompile(`^\t\d+\t(\S+) (\S+) <?-> (\S+) (\[VLAN: (\d+)\])?`)

func readOutFlows(t *testing.T, path string) map[flowID]bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flows := map[flowID]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := outFlowRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[5])
		a, b := normEndpoint(t, m[2]), normEndpoint(t, m[3])
		flows[makeFlowID(m[1], a, b, uint16(v))] = true
	}
	return flows
}

func normEndpoint(t *testing.T, s string) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatalf("endpoint %q: %v", s, err)
	}
	return ap.String()
}

var l4Names = map[uint8]string{1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPV6", 50: "ESP", 47: "GRE", 2: "IGMP", 132: "SCTP"}

func ourFlows(t *testing.T, path string) map[flowID]bool {
	recs, err := readCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, DefaultConfig())
	flows := map[flowID]bool{}
	var p Parsed
	for _, r := range recs {
		if d.Decode(r.link, r.data, r.wire, r.ts, &p) != OK {
			continue
		}
		name, ok := l4Names[p.Proto]
		if !ok {
			name = strconv.Itoa(int(p.Proto))
		}
		sp, dp := p.SrcPort, p.DstPort
		if p.Proto != 6 && p.Proto != 17 {
			sp, dp = 0, 0 // nDPI prints ICMP and others with port 0
		}
		a := netip.AddrPortFrom(addrOf(p.Family, p.Src), sp).String()
		b := netip.AddrPortFrom(addrOf(p.Family, p.Dst), dp).String()
		flows[makeFlowID(name, a, b, p.VLAN)] = true
	}
	return flows
}

func addrOf(fam uint8, a [16]byte) netip.Addr {
	if fam == 4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(a)
}

// TestCorpusFlowsMatchNDPI checks that the (inner) flows we produce are
// exactly those nDPI lists, VLAN included, on the tunnel and fragment
// captures.
func TestCorpusFlowsMatchNDPI(t *testing.T) {
	dir := corpusDir(t)
	for _, name := range []string{"vxlan.pcap", "gre.pcapng", "6in4tunnel.pcap", "ipv6_in_gtp.pcap",
		"dns_fragmented.pcap", "dns.pcap", "smb_frags.pcap", "dtls.pcap", "rtp.pcapng", "openvpn-tlscrypt.pcap", "http2.pcapng"} {
		t.Run(name, func(t *testing.T) {
			want := readOutFlows(t, filepath.Join(dir, "result", name+".out"))
			got := ourFlows(t, filepath.Join(dir, "pcap", name))
			var missing, extra []string
			for f := range want {
				if !got[f] {
					missing = append(missing, fmt.Sprint(f))
				}
			}
			for f := range got {
				if !want[f] {
					extra = append(extra, fmt.Sprint(f))
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			if len(missing) > 0 {
				t.Errorf("flows nDPI lists that we did not produce:\n%s", strings.Join(missing, "\n"))
			}
			if len(extra) > 0 {
				t.Errorf("flows we produced that nDPI does not list:\n%s", strings.Join(extra, "\n"))
			}
			if len(want) == 0 {
				t.Error("no flows parsed from .out")
			}
		})
	}
}
