package policy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
)

func at(t *testing.T, zone string, y int, mo time.Month, d, h, mi int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(y, mo, d, h, mi, 0, 0, loc)
}

func TestSchedule(t *testing.T) {
	p := mustParse(t, `
default: allow
rules:
  - name: evening-to-midnight
    when: { days: [sun], from: "23:00", to: "24:00", tz: UTC }
    action: block
  - name: night
    when: { days: [mon, tue, wed, thu, fri], from: "18:00", to: "06:00", tz: Europe/Minsk }
    action: drop
  - name: dst-night
    when: { days: [sat], from: "22:00", to: "04:00", tz: Europe/Minsk }
    action: reset
  - name: ny-early
    when: { from: "01:00", to: "01:30", tz: America/New_York }
    action: block
  - name: weekend
    when: { days: [SAT, Sun] }
    action: throttle
    rate: 500kbit
`)
	utc := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, time.UTC) }
	minsk := func(y int, mo time.Month, d, h, mi int) time.Time { return at(t, "Europe/Minsk", y, mo, d, h, mi) }
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		// 2024-05-17 is a Friday; Minsk is UTC+3 all year since 2011.
		{"fri before window", minsk(2024, 5, 17, 17, 59), "default"},
		{"fri window start", minsk(2024, 5, 17, 18, 0), "night"},
		{"fri late", minsk(2024, 5, 17, 23, 59), "night"},
		{"sat early belongs to fri", minsk(2024, 5, 18, 5, 59), "night"},
		{"sat window end", minsk(2024, 5, 18, 6, 0), "weekend"},
		{"mon early belongs to sun", minsk(2024, 5, 20, 3, 0), "default"},
		{"tue early belongs to mon", minsk(2024, 5, 21, 3, 0), "night"},
		{"same instant in utc", utc(2024, 5, 17, 15, 0), "night"},
		{"utc instant before", utc(2024, 5, 17, 14, 59), "default"},
		// Belarus last changed clocks on 2010-03-28 02:00 EET -> 03:00 EEST.
		// The Saturday 22:00-04:00 window is wall clock: 22:00 EET is 20:00 UTC
		// and 04:00 EEST is 01:00 UTC, so that night it lasts 5 hours.
		{"dst sat before", utc(2010, 3, 27, 19, 59), "weekend"},
		{"dst sat start", utc(2010, 3, 27, 20, 0), "dst-night"},
		{"dst across jump", utc(2010, 3, 27, 23, 30), "dst-night"},
		{"dst sun 03:59 EEST", utc(2010, 3, 28, 0, 59), "dst-night"},
		{"dst sun 04:00 EEST", utc(2010, 3, 28, 1, 0), "weekend"},
		// New York falls back on 2024-11-03 (a Sunday): 01:00-01:30 happens twice.
		{"ny first 01:15 EDT", utc(2024, 11, 3, 5, 15), "ny-early"},
		{"ny 01:45 EDT", utc(2024, 11, 3, 5, 45), "weekend"},
		{"ny second 01:15 EST", utc(2024, 11, 3, 6, 15), "ny-early"},
		{"ny 01:30 EST", utc(2024, 11, 3, 6, 30), "weekend"},
		{"ny weekday 01:10", utc(2024, 11, 5, 6, 10), "ny-early"},
		{"to 24:00", utc(2024, 11, 10, 23, 59), "evening-to-midnight"},
		{"past midnight monday", utc(2024, 11, 11, 0, 0), "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, why := p.Evaluate(&Input{Time: tt.now})
			got := why.Name
			if why.Rule < 0 {
				got = "default"
			}
			if got != tt.want {
				t.Errorf("at %v: %s, want %s", tt.now.UTC(), got, tt.want)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	p := mustParse(t, `
default: drop
rules:
  - name: allow-mail
    match: { host: mail.example.com }
    action: allow
  - name: late-subtree
    match: { host: .example.com, l4: tcp }
    action: reset
  - name: block-all-example
    match: { host: .example.com }
    action: block
  - name: yt
    match: { app: youtube }
    action: throttle
    rate: 2mbyte
    per: group
  - name: video
    match: { category: video }
    action: block
`)
	tests := []struct {
		in   Input
		want Verdict
		why  string
	}{
		{Input{Host: "mail.example.com", L4: 6}, Allow, "rule allow-mail (host mail.example.com)"},
		{Input{Host: "www.example.com", L4: 6}, Reset, "rule late-subtree (host .example.com)"},
		{Input{Host: "www.example.com", L4: 17}, Block, "rule block-all-example (host .example.com)"},
		{Input{Host: "example.com", L4: 17}, Block, "rule block-all-example (host .example.com)"},
		{Input{App: "youtube", Category: "video"}, Throttle, "rule yt (app youtube)"},
		{Input{App: "netflix", Category: "video"}, Block, "rule video (category video)"},
		{Input{App: "youtube", Category: "video", SNI: "x.example.com", L4: 6}, Reset, "rule late-subtree (host .example.com)"},
		{Input{}, Drop, "default"},
	}
	for _, tt := range tests {
		v, why := p.Evaluate(&tt.in)
		if v != tt.want || why.String() != tt.why {
			t.Errorf("%+v: %v %q, want %v %q", tt.in, v, why, tt.want, tt.why)
		}
	}
	if r := p.Rules()[3]; r.Rate != 16_000_000 || r.Per != PerGroup {
		t.Errorf("yt rule = %+v", r)
	}
}

// TestFields exercises every match field alone, matching and not.
func TestFields(t *testing.T) {
	tests := []struct {
		match string
		yes   Input
		no    Input
		why   string
	}{
		{"app: [whatsapp]", Input{App: "whatsapp"}, Input{App: "telegram"}, "app whatsapp"},
		{"category: chat", Input{Category: "chat"}, Input{Category: "video"}, "category chat"},
		{"protocol: [quic, DNS]", Input{Protocol: dissect.QUIC}, Input{Protocol: dissect.TLS}, "protocol QUIC"},
		{"protocol: unknown", Input{Protocol: dissect.Unknown}, Input{Protocol: dissect.SSH}, "protocol Unknown"},
		{"host: a.test", Input{Host: "A.TEST."}, Input{Host: "b.a.test"}, "host a.test"},
		{`host: "*.a.test"`, Input{SNI: "b.a.test"}, Input{SNI: "a.test"}, "host *.a.test"},
		{"host: .a.test", Input{DNSQName: "a.test"}, Input{DNSQName: "xa.test"}, "host .a.test"},
		{"sni: .a.test", Input{SNI: "x.a.test"}, Input{Host: "x.a.test", DNSQName: "x.a.test"}, "sni .a.test"},
		{"dns_qname: a.test", Input{DNSQName: "a.test"}, Input{Host: "a.test", SNI: "a.test"}, "dns_qname a.test"},
		{"host_contains: [Bet, poker]", Input{SNI: "www.BETting.test"}, Input{SNI: "www.be-t.test"}, "host_contains bet"},
		{"client: [192.0.2.0/24, 2001:db8::1]", Input{Client: addr("2001:db8::1")}, Input{Client: addr("2001:db8::2")}, "client 2001:db8::1"},
		{"client: lab", Input{Client: addr("198.51.100.9")}, Input{Client: addr("198.51.101.9")}, "client lab"},
		{"server: [203.0.113.0/24, lab]", Input{Server: addr("203.0.113.200")}, Input{Server: addr("203.0.114.1"), Client: addr("203.0.113.1")}, "server 203.0.113.0/24"},
		{"group: lab", Input{Client: addr("198.51.100.1")}, Input{Server: addr("198.51.100.1")}, "group lab"},
		{"port: [443, 8000-8100]", Input{ServerPort: 8080}, Input{ServerPort: 8101}, "port 8000-8100"},
		{"l4: [udp, 47]", Input{L4: 47}, Input{L4: 6}, "l4 udp,47"},
		{"l4: icmp", Input{L4: 58}, Input{L4: 17}, "l4 icmp"},
		{"{}", Input{}, Input{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			src := "default: allow\ngroups: {lab: [198.51.100.0/24]}\nrules:\n  - name: r\n    match: " +
				strings.TrimPrefix(tt.match, "") + "\n    action: drop\n"
			if !strings.HasPrefix(tt.match, "{") {
				src = strings.Replace(src, "match: "+tt.match, "match: {"+tt.match+"}", 1)
			}
			p := mustParse(t, src)
			v, why := p.Evaluate(&tt.yes)
			want := "rule r (" + tt.why + ")"
			if tt.why == "" {
				want = "rule r"
			}
			if v != Drop || why.String() != want {
				t.Errorf("yes: %v %q, want drop %q", v, why, want)
			}
			if tt.match == "{}" {
				return
			}
			if v, why := p.Evaluate(&tt.no); v != Allow {
				t.Errorf("no: %v %q, want allow", v, why)
			}
		})
	}
}

// TestManyNames covers the large-list paths: a rule's own domainset,
// bart table and keyword automaton.
func TestManyNames(t *testing.T) {
	var hosts, kws, nets []string
	for i := range 50 {
		hosts = append(hosts, fmt.Sprintf("%q", fmt.Sprintf("*.h%d.test", i)))
		kws = append(kws, fmt.Sprintf("kw%dx", i))
		nets = append(nets, fmt.Sprintf("10.%d.0.0/16", i))
	}
	p := mustParse(t, fmt.Sprintf(`
default: allow
rules:
  - name: combo
    match: { app: [youtube], sni: [%s], host_contains: [%s], client: [%s] }
    action: drop
`, strings.Join(hosts, ","), strings.Join(kws, ","), strings.Join(nets, ",")))
	in := Input{App: "youtube", SNI: "a.h7.test", Host: "zzKW33Xzz", Client: addr("10.49.1.1")}
	if v, why := p.Evaluate(&in); v != Drop || why.String() != "rule combo (sni *.h7.test)" {
		t.Errorf("%v %q", v, why)
	}
	for _, mod := range []func(*Input){
		func(in *Input) { in.SNI = "h7.test" },
		func(in *Input) { in.Host = "kw33" },
		func(in *Input) { in.Client = addr("10.50.1.1") },
		func(in *Input) { in.App = "netflix" },
	} {
		in2 := in
		mod(&in2)
		if v, _ := p.Evaluate(&in2); v != Allow {
			t.Errorf("%+v: %v, want allow", in2, v)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	p, err := Load("testdata/example.yaml", fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	ins := []Input{
		{App: "facebook"},
		{SNI: "x.blocked.test", Host: "x.blocked.test"},
		{Category: "video", Client: addr("10.200.1.7"), Time: wedEvening},
		{Category: "video", Client: addr("10.200.1.7")}, // zero Time: time.Now
		{DNSQName: "casino.example", Protocol: dissect.DNS},
		{Host: "example.org", SNI: "example.net", DNSQName: "example.com"},
	}
	for i := range ins {
		if n := testing.AllocsPerRun(100, func() { p.Evaluate(&ins[i]) }); n != 0 {
			t.Errorf("input %d: %v allocs/op, want 0", i, n)
		}
	}
}

func TestHolderReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var h Holder
	if h.Load() != nil {
		t.Fatal("zero Holder has a policy")
	}
	write("default: drop\n")
	p1, err := h.Reload(path, fakeCatalog{})
	if err != nil || h.Load() != p1 {
		t.Fatalf("first reload: %v", err)
	}
	write("default: drop\nrules:\n  - {name: x, action: blok}\n")
	if _, err := h.Reload(path, fakeCatalog{}); err == nil {
		t.Fatal("bad file accepted")
	}
	if h.Load() != p1 {
		t.Fatal("bad file replaced the active policy")
	}
	if v, _ := h.Load().Evaluate(&Input{}); v != Drop {
		t.Errorf("old policy verdict %v", v)
	}
	write("default: reset\n")
	p2, err := h.Reload(path, fakeCatalog{})
	if err != nil || h.Load() != p2 || p2.Hash() == p1.Hash() {
		t.Fatalf("good reload: %v", err)
	}
	if old := h.Swap(p1); old != p2 {
		t.Error("Swap returned the wrong policy")
	}
}

func TestDryRun(t *testing.T) {
	p, err := Load("testdata/example.yaml", fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDryRun(p)
	for _, in := range []Input{
		{App: "facebook", SNI: "www.facebook.com"},
		{App: "facebook", SNI: "www.facebook.com"},
		{App: "twitter", Host: "x.com"},
		{Host: "a.blocked.test"},
		{Host: "example.org"},
		{},
	} {
		d.Tally(&in)
	}
	r := d.Reach()
	if len(r) != 5 || r[0].Rule != "block-social" || r[0].Flows != 3 || r[0].Hosts["www.facebook.com"] != 2 || len(r[0].Hosts) != 2 {
		t.Errorf("block-social reach = %+v", r[0])
	}
	if r[1].Flows != 1 || r[2].Flows != 0 || r[2].Hosts != nil {
		t.Errorf("reach = %+v", r)
	}
	if r[4].Rule != "default" || r[4].Flows != 2 || len(r[4].Hosts) != 1 {
		t.Errorf("default reach = %+v", r[4])
	}
}

func TestDNSSection(t *testing.T) {
	p := mustParse(t, `
default: allow
dns: { block_answer: sinkhole, sinkhole: { a: 192.0.2.1, aaaa: "2001:db8::1" }, ede: 17, ede_text: "filtered by weir", ttl: 30 }
`)
	d := p.DNS()
	if d.BlockAnswer != AnswerSinkhole || d.SinkholeA != addr("192.0.2.1") || d.SinkholeAAAA != addr("2001:db8::1") ||
		d.EDE != 17 || d.EDEText != "filtered by weir" || d.TTL != 30 {
		t.Errorf("DNS = %+v", d)
	}
	if d := mustParse(t, "default: allow\n").DNS(); d.BlockAnswer != AnswerNXDomain || d.EDE != 15 || d.TTL != 60 {
		t.Errorf("default DNS = %+v", d)
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"1mbit", 1e6, false}, {"500kbit", 5e5, false}, {"1.5Gbit", 1.5e9, false},
		{"2mbyte", 16e6, false}, {"100byte", 800, false}, {"64bit", 64, false},
		{"2mbps", 0, true}, {"1MB/s", 0, true}, {"fast", 0, true}, {"0bit", 0, true},
		{"99999gbyte", 0, true}, {"1.2.3mbit", 0, true}, {"10", 0, true},
	}
	for _, tt := range tests {
		got, _, err := parseRate(tt.in)
		if got != tt.want || (err != "") != tt.err {
			t.Errorf("parseRate(%q) = %d, %q", tt.in, got, err)
		}
	}
}

func TestAhoCorasick(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "casino", "sin", "a"}
	m := newAC(words)
	var h kwHits
	m.scan("uSHErs-CASINO", &h)
	got := map[string]bool{}
	for i := 0; i < h.n; i++ {
		got[words[h.ids[i]]] = true
	}
	for _, w := range []string{"he", "she", "hers", "casino", "sin", "a"} {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	if got["his"] {
		t.Error("false hit his")
	}
	if _, ok := m.find("xyz"); ok {
		t.Error("find xyz")
	}
	// Brute-force comparison on random strings over a small alphabet.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var ws []string
		for range 1 + rng.IntN(6) {
			ws = append(ws, randStr(rng, 1+rng.IntN(4), "abc"))
		}
		s := randStr(rng, rng.IntN(20), "abcABC")
		m := newAC(ws)
		var h kwHits
		m.scan(s, &h)
		for id, w := range ws {
			want := strings.Contains(strings.ToLower(s), w)
			found := false
			for i := 0; i < h.n; i++ {
				if ws[h.ids[i]] == w {
					found = true
				}
			}
			if found != want {
				t.Fatalf("words %q in %q: %q (%d) found=%v", ws, s, w, id, found)
			}
		}
	}
}

func randStr(rng *rand.Rand, n int, alpha string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[rng.IntN(len(alpha))]
	}
	return string(b)
}

// oracle compiles src without indexes: every rule is checked in order.
func oracle(t testing.TB, src []byte) *Policy {
	s, errs := parse("o.yaml", src, fakeCatalog{})
	if errs != nil {
		t.Fatalf("oracle parse: %v", errs)
	}
	return compile(s, false)
}

var vocabHosts = []string{"a.test", "b.a.test", "c.b.a.test", "x.test", "y.x.test", "test", "z.c.b.a.test"}

func genPolicy(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("default: allow\ngroups: {g: [10.0.0.0/8]}\nrules:\n")
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for i := range 1 + rng.IntN(12) {
		fmt.Fprintf(&b, "  - name: r%d\n    match: {", i)
		var fs []string
		for range 1 + rng.IntN(3) {
			switch rng.IntN(9) {
			case 0, 1, 2:
				var hs []string
				for range 1 + rng.IntN(3) {
					h := pick(vocabHosts)
					switch rng.IntN(3) {
					case 1:
						h = "*." + h
					case 2:
						h = "." + h
					}
					hs = append(hs, `"`+h+`"`)
				}
				fs = append(fs, pick([]string{"host", "host", "sni", "dns_qname"})+": ["+strings.Join(hs, ",")+"]")
			case 3:
				fs = append(fs, "app: "+pick(fakeApps[:3]))
			case 4:
				fs = append(fs, "host_contains: "+pick([]string{"a", "b.a", "x", "test"}))
			case 5:
				fs = append(fs, "l4: "+pick([]string{"tcp", "udp"}))
			case 6:
				fs = append(fs, "category: "+pick(fakeCats[:2]))
			case 7:
				fs = append(fs, "group: g")
			case 8:
				fs = append(fs, "protocol: "+pick([]string{"TLS", "QUIC"}))
			}
		}
		// Duplicate keys are an error; keep the first of each.
		seen := map[string]bool{}
		var uniq []string
		for _, f := range fs {
			k, _, _ := strings.Cut(f, ":")
			if !seen[k] {
				seen[k] = true
				uniq = append(uniq, f)
			}
		}
		b.WriteString(strings.Join(uniq, ", "))
		fmt.Fprintf(&b, "}\n    action: %s\n", pick([]string{"block", "drop", "reset"}))
	}
	return b.String()
}

func genInput(rng *rand.Rand) Input {
	pick := func(xs []string) string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return xs[rng.IntN(len(xs))]
	}
	in := Input{
		Host: pick(vocabHosts), SNI: pick(vocabHosts), DNSQName: pick(vocabHosts),
		App: pick(fakeApps[:3]), Category: pick(fakeCats[:2]),
		Protocol: []dissect.Proto{dissect.TLS, dissect.QUIC, dissect.DNS}[rng.IntN(3)],
		L4:       []uint8{6, 17}[rng.IntN(2)],
	}
	if rng.IntN(2) == 0 {
		in.Client = addr("10.1.2.3")
	}
	return in
}

// TestIndexMatchesOracle compares the indexed evaluation with a plain
// in-order scan on random overlapping policies: the host layers, keyword
// index and certification must never change the answer.
func TestIndexMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	maxSeen := 0
	defer func() {
		if maxSeen < 3 {
			t.Errorf("generator never needed 3 host layers (max %d)", maxSeen)
		}
	}()
	for range 3000 {
		src := genPolicy(rng)
		p := mustParse(t, src)
		maxSeen = max(maxSeen, len(p.layers[0]))
		o := oracle(t, []byte(src))
		for range 30 {
			in := genInput(rng)
			v1, w1 := p.Evaluate(&in)
			v2, w2 := o.Evaluate(&in)
			if v1 != v2 || w1.Rule != w2.Rule {
				t.Fatalf("policy:\n%s\ninput %+v\nindexed %v %v, oracle %v %v", src, in, v1, w1, v2, w2)
			}
		}
	}
}

// TestLayersOverflow forces more overlapping host rules than layers exist;
// the extra rules fall back to the scan list and still match in order.
func TestLayersOverflow(t *testing.T) {
	var b strings.Builder
	b.WriteString("default: allow\nrules:\n")
	n := maxLayers + 4
	for i := range n {
		fmt.Fprintf(&b, "  - {name: r%d, match: {host: .a.test, port: %d}, action: drop}\n", i, i)
	}
	p := mustParse(t, b.String())
	if len(p.scan) != 4 {
		t.Errorf("scan = %v, want 4 overflow rules", p.scan)
	}
	for i := range n {
		_, why := p.Evaluate(&Input{Host: "q.a.test", ServerPort: uint16(i)})
		if why.Rule != i {
			t.Errorf("port %d: %v", i, why)
		}
	}
}

func unixTime(s int64) time.Time { return time.Unix(s%(1<<40), 0) }

// TestConcurrentSwap evaluates from several goroutines while policies are
// swapped in; run with -race.
func TestConcurrentSwap(t *testing.T) {
	var h Holder
	a := mustParse(t, "default: drop\nrules:\n  - {name: a, match: {host: .a.test}, action: block}\n")
	b := mustParse(t, "default: allow\nrules:\n  - {name: b, match: {app: youtube}, action: reset}\n")
	h.Swap(a)
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			in := Input{Host: "x.a.test", App: "youtube"}
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				p := h.Load()
				v, _ := p.Evaluate(&in)
				if (p == a && v != Block) || (p == b && v != Reset) {
					errs <- "wrong verdict " + v.String()
					return
				}
			}
		}()
	}
	for i := range 1000 {
		if i%2 == 0 {
			h.Swap(b)
		} else {
			h.Swap(a)
		}
	}
	close(done)
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
