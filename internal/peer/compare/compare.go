package compare

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/peer/ndpi"
	"github.com/weirnet/weir/internal/record"
)

// masterAliases maps nDPI master-protocol names to the Weir protocol names
// that mean the same thing. Names not listed must be equal (Weir's
// protocol names follow nDPI's where a protocol exists in both).
var masterAliases = map[string][]string{
	"TLS":     {"TLS", "DoT", "DoH"}, // nDPI: TLS.DoH_DoT; Weir names DNS over TLS/HTTPS as a protocol
	"QUIC":    {"QUIC", "DoH"},
	"DoH_DoT": {"DoT", "DoH"},
	"ICMPV6":  {"ICMPv6"},
	"DHCPV6":  {"DHCPv6"},
	"SRTP":    {"SRTP", "RTP"}, // SRTP and RTP share a header; only keys tell them apart
}

// MasterMatches reports whether Weir's protocol name means nDPI's master.
func MasterMatches(ndpiMaster, weir string) bool {
	if al, ok := masterAliases[ndpiMaster]; ok {
		return slices.Contains(al, weir)
	}
	return strings.EqualFold(ndpiMaster, weir)
}

// Flow is one compared flow.
type Flow struct {
	Capture string
	NDPI    ndpi.Flow
	Weir    *record.Record // nil: Weir has no such flow
	// Results of the three comparisons.
	SameMaster, SameApp, SameHost bool
	HasHost                       bool // nDPI printed a host
	NDPIApp                       string
	WeirApp                       string
}

// Report is the comparison over a corpus.
type Report struct {
	Captures []string
	Flows    []Flow // nDPI flows with Confidence: DPI
}

// Totals counts matches.
type Totals struct {
	Flows, Master, App, Hosts, Host int
}

func (r *Report) Totals(capture string) (t Totals) {
	for i := range r.Flows {
		f := &r.Flows[i]
		if capture != "" && f.Capture != capture {
			continue
		}
		t.Flows++
		if f.SameMaster {
			t.Master++
		}
		if f.SameApp {
			t.App++
		}
		if f.HasHost {
			t.Hosts++
			if f.SameHost {
				t.Host++
			}
		}
	}
	return t
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// Run compares every capture in dir (the corpus root holding pcap/ and result/).
func Run(dir string) (*Report, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	outs, err := filepath.Glob(filepath.Join(dir, "result", "*.out"))
	if err != nil || len(outs) == 0 {
		return nil, fmt.Errorf("compare: no result/*.out under %s", dir)
	}
	rep := &Report{}
	for _, out := range outs {
		name := strings.TrimSuffix(filepath.Base(out), ".out")
		want, err := ndpi.ReadFile(out)
		if err != nil {
			return nil, err
		}
		got, err := runCapture(filepath.Join(dir, "pcap", name), cat)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", name, err)
		}
		rep.Captures = append(rep.Captures, name)
		rep.Flows = append(rep.Flows, match(name, want, got, cat)...)
	}
	return rep, nil
}

func runCapture(path string, cat *catalog.Catalog) ([]record.Record, error) {
	cls := classify.New(classify.DefaultConfig(), classify.CatalogApps(cat))
	var recs []record.Record
	eng, err := engine.New(engine.DefaultConfig(), cls, func(e *engine.FlowEnd) {
		var r record.Record
		c := *e.Class
		r.FromFlow(e.Flow, &c, e.Reason)
		recs = append(recs, r)
	})
	if err != nil {
		return nil, err
	}
	src, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var p capture.Packet
	for {
		if err = src.Next(&p); err != nil {
			break
		}
		eng.Packet(&p)
	}
	eng.Flush()
	if err == io.EOF {
		err = nil
	}
	return recs, err
}

type pairKey struct {
	l4     uint8
	vlan   uint16
	lo, hi netip.AddrPort
}

var l4Numbers = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "ESP": 50, "AH": 51, "GRE": 47, "SCTP": 132}

func keyOf(l4 uint8, vlan uint16, a, b netip.AddrPort) pairKey {
	if l4 != 6 && l4 != 17 && l4 != 132 {
		a, b = netip.AddrPortFrom(a.Addr(), 0), netip.AddrPortFrom(b.Addr(), 0)
	}
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return pairKey{l4, vlan, a, b}
}

// notApps are nDPI sub-labels that name a protocol or a content format,
// not an application: NetBIOS.SMBv1 (the SMB dialect), HTTP.MpegDash (DASH
// video segments over HTTP).
var notApps = map[string]bool{"SMBv1": true, "MpegDash": true}

// ndpiAppName returns the application part of an nDPI label: the part
// after the dot, or the whole label when it names an app the catalog
// knows (WhatsApp, Telegram, ...). "" when the label is a bare protocol.
func ndpiAppName(f *ndpi.Flow, cat *catalog.Catalog) string {
	if notApps[f.App] {
		return ""
	}
	if f.App != "" {
		return f.App
	}
	if _, ok := cat.ByNDPIName(f.Master); ok {
		return f.Master
	}
	return ""
}

func match(name string, want []ndpi.Flow, got []record.Record, cat *catalog.Catalog) []Flow {
	byKey := map[pairKey][]*record.Record{}
	for i := range got {
		r := &got[i]
		k := keyOf(r.L4, r.VLAN, r.Client, r.Server)
		byKey[k] = append(byKey[k], r)
	}
	var out []Flow
	for _, w := range want {
		if w.Confidence != "DPI" {
			continue
		}
		f := Flow{Capture: name, NDPI: w, HasHost: w.Host != ""}
		f.NDPIApp = ndpiAppName(&w, cat)
		if l4, ok := l4Numbers[w.L4]; ok && !w.BadEndpoint {
			k := keyOf(l4, w.VLAN, w.A, w.B)
			if rs := byKey[k]; len(rs) > 0 {
				f.Weir = rs[0]
				byKey[k] = rs[1:]
			}
		}
		if r := f.Weir; r != nil && r.Class != nil {
			c := r.Class
			f.WeirApp = c.App
			f.SameMaster = MasterMatches(w.Master, c.Meta.Proto.String())
			f.SameApp = appMatches(f.NDPIApp, c.App, cat)
			f.SameHost = f.HasHost && strings.EqualFold(strings.TrimSuffix(w.Host, "."), ndpiDisplay(weirHost(&w, c)))
		}
		out = append(out, f)
	}
	return out
}

// appMatches: both name no app, or nDPI's app is in the ndpi list of
// Weir's app.
func appMatches(ndpiApp, weirApp string, cat *catalog.Catalog) bool {
	if ndpiApp == "" || weirApp == "" {
		return ndpiApp == "" && weirApp == ""
	}
	a, ok := cat.App(weirApp)
	return ok && slices.Contains(a.NDPI, ndpiApp)
}

// Markdown renders the report as docs/accuracy.md.
func (r *Report) Markdown(w io.Writer) {
	t := r.Totals("")
	fmt.Fprintf(w, "# Classification accuracy against nDPI\n\n")
	fmt.Fprintf(w, "Generated by `go run ./internal/peer/ndpicompare ../shared/corpus/ndpi` from %d captures of the nDPI\n", len(r.Captures))
	fmt.Fprintf(w, "test corpus. Compared: the %d flows nDPI labels with `Confidence: DPI`.\n\n", t.Flows)
	fmt.Fprintf(w, "| measure | Weir agrees | share | bar | goal |\n|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| same master protocol | %d / %d | %.2f%% | 97%% | 99%% |\n", t.Master, t.Flows, pct(t.Master, t.Flows))
	fmt.Fprintf(w, "| same application | %d / %d | %.2f%% | 90%% | 95%% |\n", t.App, t.Flows, pct(t.App, t.Flows))
	fmt.Fprintf(w, "| identical SNI/Host (flows where nDPI prints one) | %d / %d | %.2f%% | 99%% | 99.5%% |\n\n", t.Host, t.Hosts, pct(t.Host, t.Hosts))
	fmt.Fprint(w, mappingDoc)
	fmt.Fprintf(w, "\n## Per capture\n\n| capture | DPI flows | master | app | host |\n|---|---:|---:|---:|---:|\n")
	for _, c := range r.Captures {
		ct := r.Totals(c)
		if ct.Flows == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d/%d |\n", c, ct.Flows, ct.Master, ct.App, ct.Host, ct.Hosts)
	}
	fmt.Fprintf(w, "\n## Every remaining difference\n\n")
	fmt.Fprintf(w, "`why` explains each difference; where Weir is right and nDPI wrong, it says so.\n\n")
	fmt.Fprintf(w, "| capture | flow | nDPI | Weir | why |\n|---|---|---|---|---|\n")
	diffs := r.Differences()
	for _, d := range diffs {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", d.Capture, d.Flow, d.NDPI, d.Weir, d.Why)
	}
}

// Difference is one flow where Weir and nDPI disagree.
type Difference struct {
	Capture, Flow, NDPI, Weir, Why string
}

// Key identifies a difference for the reasons table.
func (d Difference) Key() string { return d.Capture + " " + d.Flow }

// Differences lists the flows that differ in any of the three measures.
func (r *Report) Differences() []Difference {
	var out []Difference
	for i := range r.Flows {
		f := &r.Flows[i]
		if f.SameMaster && f.SameApp && (!f.HasHost || f.SameHost) {
			continue
		}
		d := Difference{Capture: f.Capture, Flow: fmt.Sprintf("%s %s ↔ %s", f.NDPI.L4, f.NDPI.A, f.NDPI.B), Why: reason(f)}
		d.NDPI = f.NDPI.Label
		if f.NDPI.Host != "" {
			d.NDPI += " " + f.NDPI.Host
		}
		if f.Weir == nil {
			d.Weir = "(no such flow)"
		} else if c := f.Weir.Class; c != nil {
			d.Weir = c.Meta.Proto.String()
			if c.App != "" {
				d.Weir += "/" + c.App
			}
			if c.Host != "" {
				d.Weir += " " + c.Host
			}
			d.Weir += " (" + c.Confidence.String() + ")"
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Difference) int { return cmp.Compare(a.Key(), b.Key()) })
	return out
}

const mappingDoc = `## How names are compared

- **Master protocol**: the part of nDPI's ` + "`[proto: ...]`" + ` label before the dot (` + "`TLS`" + ` in ` + "`TLS.Facebook`" + `)
  must equal Weir's ` + "`protocol`" + `. Aliases: nDPI ` + "`TLS`" + ` = Weir TLS, DoT or DoH (nDPI names DNS-over-TLS/HTTPS as the
  application ` + "`DoH_DoT`" + ` on top of TLS/QUIC; Weir names it as the protocol); ` + "`QUIC`" + ` = QUIC or DoH; ` + "`ICMPV6`" + ` = ICMPv6;
  ` + "`DHCPV6`" + ` = DHCPv6; ` + "`SRTP`" + ` = SRTP or RTP (the header is the same; only the keys differ).
- **Application**: nDPI's application is the part after the dot, or a single-name label that is an
  application (` + "`WhatsApp`" + `, ` + "`Telegram`" + `, ` + "`Zoom`" + `...). It is the same as Weir's ` + "`app`" + ` when that app's ` + "`ndpi`" + ` list in
  ` + "`internal/classify/catalog/apps.yaml`" + ` contains it (Weir is coarser in places: ` + "`google`" + ` covers nDPI's Google and
  GoogleServices). nDPI sub-labels that name a protocol or a format rather than an application
  (` + "`SMBv1`" + ` in ` + "`NetBIOS.SMBv1`" + `, ` + "`MpegDash`" + ` in ` + "`HTTP.MpegDash`" + `) count as no application. A flow where neither names an application counts as the same; one where only one side
  names an application counts as different, whichever side it is.
- **Host**: nDPI's ` + "`[Hostname/SNI: ...]`" + ` must equal Weir's ` + "`host`" + ` exactly (case-insensitive), over the flows where nDPI
  prints one. For SSH nDPI prints the client's banner in that field, compared with Weir's ` + "`ssh_client`" + `.
  nDPI prints every byte outside printable ASCII as ` + "`?`" + `; Weir writes them as RFC 1035 ` + "`\\DDD`" + ` escapes, so the
  comparison renders both the same way first. For SSDP nDPI prints the Host header (a multicast group), compared
  with Weir's HTTP Host header field; for DHCP the client's own name (option 12), compared with Weir's ` + "`client_name`" + `.
- Flows are matched on L4 protocol, the unordered pair of endpoints and the VLAN id.
`

// weirHost returns the Weir field nDPI prints as [Hostname/SNI: ...]: the
// server name, except where nDPI prints something else there: the SSH
// client banner, the SSDP Host header (a multicast group), the DHCP
// client's own name.
func weirHost(w *ndpi.Flow, c *classify.Result) string {
	switch w.Master {
	case "SSDP":
		return c.Meta.HTTP.HostHeader
	case "DHCP":
		return c.Meta.ClientName
	}
	if w.Master == "SSH" {
		if c.Meta.SSH.ClientBanner != "" {
			return c.Meta.SSH.ClientBanner
		}
		return c.Meta.SSH.ServerBanner
	}
	return c.Host
}

// ndpiDisplay renders a name the way nDPI prints it: every byte outside
// printable ASCII becomes '?'. Weir keeps the bytes (a UTF-8 LLMNR name
// stays readable in JSON); the comparison is of the same name.
func ndpiDisplay(s string) string {
	s = unescapeDDD(s)
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			b := []byte(s)
			for j := range b {
				if b[j] < 0x20 || b[j] > 0x7e {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return s
}

// unescapeDDD turns RFC 1035 presentation escapes (\DDD) back into bytes.
func unescapeDDD(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isDigits(s[i+1:i+4]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n < 256 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isDigits(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
