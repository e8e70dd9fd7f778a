package dissecttest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/peer/ndpi"
)

const skipMsg = "nDPI corpus not found at ../shared/corpus/ndpi"

// CorpusDir returns <repo root>/../shared/corpus/ndpi, the repo root being
// the nearest directory above the working directory that holds go.mod. It
// skips the test when the corpus is not there.
func CorpusDir(t testing.TB) string {
	t.Helper()
	root, ok := repoRoot()
	if !ok {
		t.Skip(skipMsg)
	}
	c := filepath.Join(root, "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(c, "pcap")); err != nil {
		t.Skip(skipMsg)
	}
	return c
}

// repoRoot is the nearest directory above the working directory that holds
// go.mod.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Demo returns the TCP and UDP flows of the repository's own capture,
// testdata/demo.pcap (made by real clients in network namespaces), with
// their payload packets, in order of first packet.
func Demo(t testing.TB) []*Flow {
	t.Helper()
	root, ok := repoRoot()
	if !ok {
		t.Fatal("dissecttest: no go.mod above the working directory")
	}
	return readFlows(t, filepath.Join(root, "testdata", "demo.pcap"), false)
}

// Capture is one corpus file: its TCP/UDP flows and nDPI's flow lines.
type Capture struct {
	Name  string
	Flows []*Flow // in order of first packet
	NDPI  []*NDPIFlow
}

// Flow is one bidirectional TCP or UDP flow of a capture.
type Flow struct {
	Key            flow.Key
	L4             uint8 // 6 or 17
	VLAN           uint16
	Client, Server netip.AddrPort // client = initiator, final flow-table view
	// Packets are the flow's packets in capture order as the engine builds
	// them (Index counts every packet of the flow, payload or not).
	// Load keeps only those with payload, LoadAll keeps all.
	Packets []dissect.Packet
	Total   int       // packets of the flow, with or without payload
	NDPI    *NDPIFlow // nDPI's line for this flow, nil if it has none
}

func (f *Flow) String() string {
	l4 := "UDP"
	if f.L4 == 6 {
		l4 = "TCP"
	}
	s := fmt.Sprintf("%s %v -> %v", l4, f.Client, f.Server)
	if f.VLAN != 0 {
		s += fmt.Sprintf(" vlan %d", f.VLAN)
	}
	return s + fmt.Sprintf(" (%d pkts)", len(f.Packets))
}

// Label is nDPI's label for the flow ("STUN.WhatsAppCall"), "" if none.
func (f *Flow) Label() string {
	if f.NDPI == nil {
		return ""
	}
	return f.NDPI.Label
}

// NDPIFlow is one TCP or UDP flow line of result/<file>.out.
type NDPIFlow struct {
	ndpi.Flow
	// Fields holds every top-level "[key: value]" of the line (first
	// occurrence wins), for keys ndpi.Flow does not parse ("Server",
	// "User-Agent", "Subject", ...).
	Fields map[string]string
	Match  *Flow // the matching capture flow, nil if the capture has none
}

// L4Num is the flow's IP protocol number (6 or 17).
func (n *NDPIFlow) L4Num() uint8 {
	if n.L4 == "TCP" {
		return 6
	}
	return 17
}

// HasLabel reports whether name is one of the dot-separated parts of the
// label (master or app); false for a nil n.
func (n *NDPIFlow) HasLabel(name string) bool {
	if n == nil {
		return false
	}
	for _, p := range strings.Split(n.Label, ".") {
		if p == name {
			return true
		}
	}
	return false
}

func (n *NDPIFlow) String() string {
	return fmt.Sprintf("%s %v <-> %v [%s]", n.L4, n.A, n.B, n.Label)
}

// matchKey is how nDPI lines find capture flows.
type matchKey struct {
	l4     uint8
	vlan   uint16
	lo, hi netip.AddrPort
}

func makeMatchKey(l4 uint8, vlan uint16, a, b netip.AddrPort) matchKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return matchKey{l4, vlan, a, b}
}

// Load reads pcap/<name> and result/<name>.out from the corpus, keeping
// only payload packets in each Flow.
func Load(t testing.TB, name string) *Capture {
	t.Helper()
	return load(t, name, false)
}

// LoadAll is Load keeping every packet, payload or not.
func LoadAll(t testing.TB, name string) *Capture {
	t.Helper()
	return load(t, name, true)
}

func load(t testing.TB, name string, all bool) *Capture {
	t.Helper()
	dir := CorpusDir(t)
	c := &Capture{Name: name}
	c.Flows = readFlows(t, filepath.Join(dir, "pcap", name), all)
	c.NDPI = readNDPI(t, filepath.Join(dir, "result", name+".out"))
	byKey := make(map[matchKey]*Flow, len(c.Flows))
	for _, f := range c.Flows {
		byKey[makeMatchKey(f.L4, f.VLAN, f.Client, f.Server)] = f
	}
	for _, n := range c.NDPI {
		if f := byKey[makeMatchKey(n.L4Num(), n.VLAN, n.A, n.B)]; f != nil {
			n.Match, f.NDPI = f, n // a later line for the same flow wins
		}
	}
	return c
}

func readFlows(t testing.TB, path string, all bool) []*Flow {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatalf("dissecttest: %v", err)
	}
	defer src.Close()
	dec, err := decode.New(decode.DefaultConfig())
	if err != nil {
		t.Fatalf("dissecttest: %v", err)
	}
	tab := flow.New(flow.DefaultConfig())
	byID := map[flow.ID]*Flow{} // the table is never expired: IDs are not reused
	var flows []*Flow
	var cp capture.Packet
	var p decode.Parsed
	for {
		if err := src.Next(&cp); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("dissecttest: %v", err)
		}
		if dec.Decode(cp.LinkType, cp.Data, cp.WireLen, cp.TS, &p) != decode.OK ||
			p.Family == 0 || (p.Proto != 6 && p.Proto != 17) {
			continue
		}
		id, dir, _ := tab.Update(&p, cp.TS)
		ft := tab.Flow(id)
		f := byID[id]
		if f == nil {
			f = &Flow{L4: p.Proto, VLAN: p.VLAN}
			byID[id] = f
			flows = append(flows, f)
		}
		f.Total++
		if len(p.Payload) == 0 && !all {
			continue
		}
		f.Packets = append(f.Packets, dissect.Packet{
			Dir: dissect.Dir(dir), L4: p.Proto, ClientPort: ft.ClientPort(), ServerPort: ft.ServerPort(),
			TCPFlags: p.TCPFlags, Seq: p.TCPSeq, Index: f.Total, TS: cp.TS,
			Payload: append([]byte(nil), p.Payload...),
		})
	}
	for id, f := range byID {
		ft := tab.Flow(id)
		f.Key = ft.Key
		lo := netip.AddrPortFrom(ft.Key.Addr(true), ft.Key.LoPort)
		hi := netip.AddrPortFrom(ft.Key.Addr(false), ft.Key.HiPort)
		f.Client, f.Server = hi, lo
		if ft.ClientIsLo {
			f.Client, f.Server = lo, hi
		}
	}
	return flows
}

// readNDPI parses the TCP/UDP flow lines of an .out file with peer/ndpi,
// one line at a time so each flow keeps its own bracket fields.
func readNDPI(t testing.TB, path string) []*NDPIFlow {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("dissecttest: %v", err)
	}
	defer fh.Close()
	var out []*NDPIFlow
	undetected := false
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Undetected flows:") {
			undetected = true
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		fl, err := ndpi.Read(strings.NewReader(line))
		if err != nil {
			t.Fatalf("dissecttest: %s: %v", path, err)
		}
		if len(fl) != 1 || fl[0].BadEndpoint || (fl[0].L4 != "TCP" && fl[0].L4 != "UDP") {
			continue
		}
		fl[0].Undetected = undetected
		// "<n>\t<L4> <A> <->|-> <B> [k: v]...": the fields follow B.
		_, rest, _ := strings.Cut(strings.TrimLeft(line, "\t "), "\t")
		var brackets string
		if parts := strings.SplitN(rest, " ", 5); len(parts) == 5 {
			brackets = parts[4]
		}
		out = append(out, &NDPIFlow{Flow: fl[0], Fields: fields(brackets)})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("dissecttest: %s: %v", path, err)
	}
	return out
}

// fields splits the "[k: v][k2: v2]" of a flow line, honouring nested
// brackets; the first occurrence of a key wins.
func fields(s string) map[string]string {
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
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				if k, v, ok := strings.Cut(s[start:i], ": "); ok {
					if _, dup := m[k]; !dup {
						m[k] = v
					}
				}
			}
		}
	}
	return m
}

// MaxPayloadPackets is how many payload packets Feed gives a dissector,
// classify's default budget.
const MaxPayloadPackets = 24

// Feed resets d and feeds it f's payload packets like classify does: at
// most MaxPayloadPackets of them, stopping at Done or NotMine. Once a
// packet returned Identified the flow stays identified (the engine keeps
// the result when the winner later gives up), so the Status is Done,
// Identified, or the last Continue/NotMine.
func Feed(d dissect.Dissector, f *Flow) (dissect.Status, dissect.Meta) {
	d.Reset()
	var m dissect.Meta
	st, ident := dissect.Continue, false
	n := 0
	for i := range f.Packets {
		p := f.Packets[i] // a copy: a dissector may not keep or change it
		if len(p.Payload) == 0 {
			continue
		}
		if n++; n > MaxPayloadPackets {
			break
		}
		st = d.Feed(&p, &m)
		ident = ident || st == dissect.Identified
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	if ident && st != dissect.Done {
		st = dissect.Identified
	}
	return st, m
}
