package record

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weirnet/weir/internal/classify"
)

// AppendText appends r as one human-readable line (no newline), shaped like
// ndpiReader -v 2: protocol/app, host and confidence (the app's own when it
// came from the address or a DNS answer), category, counters, duration and
// the reason:
//
//	tcp 10.0.0.9:40000 <-> 10.0.0.1:443 [TLS/facebook www.facebook.com dpi] [cat social] [12 pkts/4100 bytes <-> 10 pkts/9300 bytes] [0.42 s] [why TLS ClientHello SNI; host www.facebook.com → facebook]
func (r *Record) AppendText(b []byte) []byte {
	b = append(b, L4Name(r.L4)...)
	b = append(b, ' ')
	b = appendEndpoint(b, r.Client, r.L4)
	if r.S2CPackets == 0 {
		b = append(b, " -> "...)
	} else {
		b = append(b, " <-> "...)
	}
	b = appendEndpoint(b, r.Server, r.L4)
	if r.VLAN != 0 {
		b = append(b, " [vlan "...)
		b = strconv.AppendUint(b, uint64(r.VLAN), 10)
		b = append(b, ']')
	}
	if c := r.Class; c != nil {
		b = append(b, " ["...)
		b = append(b, c.Meta.Proto.String()...)
		if c.App != "" {
			b = append(b, '/')
			b = append(b, c.App...)
		}
		if c.Host != "" {
			b = append(b, ' ')
			b = appendPrintable(b, c.Host)
		}
		b = append(b, ' ')
		b = append(b, c.Confidence.String()...)
		if c.HostConf() == classify.ConfDNSCache {
			b = append(b, "; host "...)
			b = append(b, c.HostConf().String()...)
		}
		if c.App != "" && c.AppConf != c.Confidence {
			b = append(b, "; app "...)
			b = append(b, c.AppConf.String()...)
		}
		b = append(b, ']')
		if c.Category != "" {
			b = append(b, " [cat "...)
			b = append(b, c.Category...)
			b = append(b, ']')
		}
	}
	b = append(b, " ["...)
	b = strconv.AppendUint(b, r.C2SPackets, 10)
	b = append(b, " pkts/"...)
	b = strconv.AppendUint(b, r.C2SBytes, 10)
	b = append(b, " bytes <-> "...)
	b = strconv.AppendUint(b, r.S2CPackets, 10)
	b = append(b, " pkts/"...)
	b = strconv.AppendUint(b, r.S2CBytes, 10)
	b = append(b, " bytes] ["...)
	b = strconv.AppendFloat(b, float64(r.Last-r.First)/1e9, 'f', 2, 64)
	b = append(b, " s]"...)
	if c := r.Class; c != nil {
		var buf [256]byte
		if why := c.AppendWhy(buf[:0]); len(why) > 0 {
			b = append(b, " [why "...)
			b = appendReadable(b, why)
			b = append(b, ']')
		}
	}
	if r.Verdict != "" {
		b = append(b, " [verdict "...)
		b = append(b, r.Verdict...)
		if r.Rule != "" {
			b = append(b, " rule "...)
			b = appendPrintable(b, r.Rule)
		}
		b = append(b, ']')
	}
	return b
}

// appendEndpoint writes ip:port, or the address alone for protocols
// without ports.
func appendEndpoint(b []byte, ap netip.AddrPort, l4 uint8) []byte {
	if l4 == 6 || l4 == 17 || l4 == 132 {
		return ap.AppendTo(b)
	}
	return ap.Addr().AppendTo(b)
}

// appendPrintable escapes control and non-ASCII bytes so a hostile name
// cannot drive the terminal.
func appendPrintable(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// appendReadable copies s, which may carry names from the wire, keeping
// printable UTF-8 (the reasons use "→") and escaping every other byte, as
// appendPrintable does, so a hostile name cannot drive the terminal.
func appendReadable(b, s []byte) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if s[0] >= 0x20 && s[0] < 0x7f || r != utf8.RuneError && r >= 0xa0 && unicode.IsPrint(r) {
			b = append(b, s[:n]...)
		} else {
			for _, c := range s[:n] {
				b = append(b, `\x`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
		}
		s = s[n:]
	}
	return b
}

// Summary totals records by L4 protocol, by protocol and by application.
type Summary struct {
	ByL4         map[string]*Total
	ByProto      map[string]*Total
	ByApp        map[string]*Total
	ByCategory   map[string]*Total
	ByConfidence map[string]*Total // how the protocol was decided: dpi, port-guess, unknown
	ByAppConf    map[string]*Total // how the app was named (flows with an app): dpi, dns-cache, ip-match
	// last remembers each map's previous row: consecutive flows mostly
	// share their protocol and application, and a map lookup per flow
	// was a visible share of a summary run.
	last [6]struct {
		k string
		t *Total
	}
}

// Total is one summary row.
type Total struct {
	Flows, Packets, Bytes uint64
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{ByL4: map[string]*Total{}, ByProto: map[string]*Total{}, ByApp: map[string]*Total{},
		ByCategory: map[string]*Total{}, ByConfidence: map[string]*Total{}, ByAppConf: map[string]*Total{}}
}

// Add counts one record.
func (s *Summary) Add(r *Record) {
	pk, by := r.C2SPackets+r.S2CPackets, r.C2SBytes+r.S2CBytes
	add := func(i int, m map[string]*Total, k string) {
		l := &s.last[i]
		t := l.t
		if t == nil || l.k != k {
			t = m[k]
			if t == nil {
				t = &Total{}
				m[k] = t
			}
			l.k, l.t = k, t
		}
		t.Flows++
		t.Packets += pk
		t.Bytes += by
	}
	add(0, s.ByL4, L4Name(r.L4))
	if r.Class != nil {
		add(1, s.ByProto, r.Class.Meta.Proto.String())
		app := r.Class.App
		if app == "" {
			app = "(none)"
		}
		add(2, s.ByApp, app)
		cat := r.Class.Category
		if cat == "" {
			cat = "(none)"
		}
		add(3, s.ByCategory, cat)
		add(4, s.ByConfidence, r.Class.Confidence.String())
		if r.Class.App != "" {
			add(5, s.ByAppConf, r.Class.AppConf.String())
		}
	}
}

// AppendTable renders one map of totals as an aligned table, largest bytes first.
func AppendTable(b []byte, title string, m map[string]*Total) []byte {
	if len(m) == 0 {
		return b
	}
	type row struct {
		k string
		t *Total
	}
	rows := make([]row, 0, len(m))
	w := len(title)
	for k, t := range m {
		rows = append(rows, row{k, t})
		w = max(w, len(k))
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(b.t.Bytes, a.t.Bytes); c != 0 {
			return c
		}
		return strings.Compare(a.k, b.k)
	})
	pad := func(b []byte, s string, n int, right bool) []byte {
		if right {
			b = append(b, strings.Repeat(" ", max(0, n-len(s)))...)
			return append(b, s...)
		}
		b = append(b, s...)
		return append(b, strings.Repeat(" ", max(0, n-len(s)))...)
	}
	b = pad(b, title, w, false)
	b = append(b, "        flows      packets          bytes\n"...)
	for _, r := range rows {
		b = pad(b, r.k, w, false)
		b = pad(b, strconv.FormatUint(r.t.Flows, 10), 13, true)
		b = pad(b, strconv.FormatUint(r.t.Packets, 10), 13, true)
		b = pad(b, strconv.FormatUint(r.t.Bytes, 10), 15, true)
		b = append(b, '\n')
	}
	return b
}
