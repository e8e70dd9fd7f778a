package policy

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dissect "github.com/weirnet/weir/internal/dissect"
)

type fakeCatalog struct{}

var fakeApps = []string{"facebook", "twitter", "telegram", "youtube", "netflix", "whatsapp", "tiktok"}
var fakeCats = []string{"video", "social", "chat", "games"}

func (fakeCatalog) HasApp(id string) bool        { return slices.Contains(fakeApps, id) }
func (fakeCatalog) HasCategory(name string) bool { return slices.Contains(fakeCats, name) }
func (fakeCatalog) AppNames() []string           { return fakeApps }

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src), fakeCatalog{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// A weekday evening and a Sunday noon in Minsk (UTC+3).
var (
	wedEvening = time.Date(2024, 5, 15, 20, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	sunNoon    = time.Date(2024, 5, 19, 12, 0, 0, 0, time.FixedZone("MSK", 3*3600))
)

func TestExample(t *testing.T) {
	p, err := Load("testdata/example.yaml", fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Notice(); got != "https://notices.example/weir" {
		t.Errorf("Notice = %q", got)
	}
	if p.Default() != Allow {
		t.Errorf("Default = %v", p.Default())
	}
	rules := p.Rules()
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if want := []string{"block-social", "block-hosts", "night-video", "keyword"}; !slices.Equal(names, want) {
		t.Errorf("rules = %v, want %v", names, want)
	}
	if r := rules[2]; r.Action != Throttle || r.Rate != 1_000_000 || r.Per != PerFlow || r.Line != 11 {
		t.Errorf("night-video = %+v", r)
	}
	src, _ := os.ReadFile("testdata/example.yaml")
	if h := p.Hash(); h == [32]byte{} || h != mustParse(t, string(src)).Hash() {
		t.Errorf("Hash not stable: %x", h)
	}
	tests := []struct {
		name string
		in   Input
		want Verdict
		why  string
	}{
		{"app", Input{App: "facebook", SNI: "www.facebook.com"}, Block, "rule block-social (app facebook)"},
		{"other app", Input{App: "youtube", SNI: "www.youtube.com", Time: sunNoon}, Allow, "default"},
		{"exact host", Input{Host: "blocked.test"}, Block, "rule block-hosts (host blocked.test)"},
		{"sub host via sni", Input{SNI: "a.b.Blocked.Test."}, Block, "rule block-hosts (host *.blocked.test)"},
		{"not a suffix", Input{SNI: "notblocked.test"}, Allow, "default"},
		{"night video campus", Input{Category: "video", Client: addr("10.200.1.7"), Time: wedEvening}, Throttle, "rule night-video (category video)"},
		{"night video campus v6", Input{Category: "video", Client: addr("fd00:200:1::9"), Time: wedEvening}, Throttle, "rule night-video (category video)"},
		{"night video 4in6", Input{Category: "video", Client: addr("::ffff:10.200.1.7"), Time: wedEvening}, Throttle, "rule night-video (category video)"},
		{"video off campus", Input{Category: "video", Client: addr("10.200.2.7"), Time: wedEvening}, Allow, "default"},
		{"video on sunday", Input{Category: "video", Client: addr("10.200.1.7"), Time: sunNoon}, Allow, "default"},
		{"keyword", Input{DNSQName: "best-CASINO.example"}, Drop, "rule keyword (host_contains casino)"},
		{"app beats keyword", Input{App: "telegram", Host: "casino.example"}, Block, "rule block-social (app telegram)"},
		{"empty", Input{}, Allow, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, why := p.Evaluate(&tt.in)
			if v != tt.want || why.String() != tt.why {
				t.Errorf("Evaluate = %v, %q; want %v, %q", v, why, tt.want, tt.why)
			}
		})
	}
}

// TestErrors pins the exact position, message and hint of each mistake.
func TestErrors(t *testing.T) {
	const head = "default: allow\nrules:\n"
	tests := []struct {
		name string
		src  string
		want []string // "LINE:COL: message (hint: ...)"
	}{
		{"unknown action", head + "  - name: a\n    action: blok\n",
			[]string{`4:13: unknown action "blok" (hint: expected one of allow, block, drop, reset, throttle)`}},
		{"unknown app", head + "  - name: a\n    match: {app: facebok}\n    action: block\n",
			[]string{`4:18: unknown app "facebok" (hint: did you mean facebook?)`}},
		{"all errors collected", head + "  - name: a\n    match: {app: [facebok, tiktk]}\n    action: blok\n",
			[]string{
				`4:19: unknown app "facebok" (hint: did you mean facebook?)`,
				`4:28: unknown app "tiktk" (hint: did you mean tiktok?)`,
				`5:13: unknown action "blok" (hint: expected one of allow, block, drop, reset, throttle)`,
			}},
		{"unknown top key", "default: allow\nrule: []\n",
			[]string{`2:1: unknown key "rule" in policy (hint: did you mean rules?)`}},
		{"unknown match key", head + "  - name: a\n    match: {hots: x.test}\n    action: drop\n",
			[]string{`4:13: unknown key "hots" in match (hint: did you mean host?)`}},
		{"unknown rule key", head + "  - name: a\n    colour: red\n    action: drop\n",
			[]string{`4:5: unknown key "colour" in rule (hint: expected one of name, match, when, action, rate, per)`}},
		{"duplicate key", head + "  - name: a\n    action: drop\n    action: allow\n",
			[]string{`5:5: duplicate key "action" in rule (first at line 4)`}},
		{"duplicate rule", head + "  - {name: a, action: drop}\n  - {name: a, action: drop}\n",
			[]string{`4:12: duplicate rule name "a" (first at line 3) (hint: rule names must be unique)`}},
		{"missing name", head + "  - action: drop\n",
			[]string{`3:5: rule without name (hint: every rule needs a unique name)`}},
		{"missing action", head + "  - name: a\n",
			[]string{`3:5: rule "a" without action (hint: add ` + "`action: block`" + ` (or allow, drop, reset, throttle))`}},
		{"missing default", "rules: []\n",
			[]string{"1:1: missing default (hint: add `default: allow` (or drop, block, reset))"}},
		{"throttle default", "default: throttle\n",
			[]string{`1:10: unknown default action "throttle" (hint: expected one of allow, block, drop, reset)`}},
		{"throttle without rate", head + "  - {name: a, action: throttle}\n",
			[]string{"3:23: throttle needs a rate (hint: add e.g. `rate: 1mbit`)"}},
		{"rate without throttle", head + "  - {name: a, action: drop, rate: 1mbit}\n",
			[]string{"3:35: rate without throttle (hint: rate applies to `action: throttle` only)"}},
		{"ambiguous rate", head + "  - {name: a, action: throttle, rate: 2mbps}\n",
			[]string{`3:39: ambiguous rate unit "mbps" (hint: write 2mbit for bits/s or 2mbyte for bytes/s)`}},
		{"bad per", head + "  - {name: a, action: throttle, rate: 1mbit, per: user}\n",
			[]string{`3:51: unknown per "user" (hint: expected one of flow, group)`}},
		{"bad cidr", "default: allow\ngroups:\n  lab: [10.0.0.1/8]\n",
			[]string{`3:9: prefix "10.0.0.1/8" has host bits set (hint: did you mean 10.0.0.0/8?)`}},
		{"unknown group", "default: allow\ngroups: {lab: [10.0.0.0/8]}\nrules:\n  - {name: a, match: {group: labs}, action: drop}\n",
			[]string{`4:30: unknown group "labs" (hint: did you mean lab?)`}},
		{"client name not a group", head + "  - {name: a, match: {client: office}, action: drop}\n",
			[]string{`3:31: unknown group "office"`}},
		{"bad host", head + "  - {name: a, match: {host: \"a..b\"}, action: drop}\n",
			[]string{`3:29: bad host pattern "a..b": empty label (hint: labels of a-z, 0-9, '-', '_'; wildcard only as a first label *.name)`}},
		{"double star", head + "  - {name: a, match: {sni: \"**.x.test\"}, action: drop}\n",
			[]string{`3:28: unsupported pattern "**.x.test" (hint: write .x.test for the name and its subdomains)`}},
		{"unicode host", head + "  - {name: a, match: {host: пример.рф}, action: drop}\n",
			[]string{`3:29: bad host pattern "пример.рф": non-ASCII name (hint: write internationalized names in punycode (xn--...))`}},
		{"bad protocol", head + "  - {name: a, match: {protocol: quick}, action: drop}\n",
			[]string{`3:33: unknown protocol "quick" (hint: did you mean QUIC?)`}},
		{"bad port", head + "  - {name: a, match: {port: 9000-8000}, action: drop}\n",
			[]string{`3:29: empty port range "9000-8000" (hint: write the lower port first)`}},
		{"bad l4", head + "  - {name: a, match: {l4: tpc}, action: drop}\n",
			[]string{`3:27: unknown l4 "tpc" (hint: expected one of tcp, udp, icmp, icmpv6, sctp or a number 0-255)`}},
		{"empty list", head + "  - {name: a, match: {app: []}, action: drop}\n",
			[]string{`3:28: app: empty list matches nothing (hint: remove the field to match anything)`}},
		{"bad day", head + "  - {name: a, when: {days: [mon, thursday]}, action: drop}\n",
			[]string{`3:34: unknown day "thursday" (hint: expected one of sun, mon, tue, wed, thu, fri, sat)`}},
		{"bad clock", head + "  - {name: a, when: {from: \"25:00\", to: \"06:00\"}, action: drop}\n",
			[]string{`3:28: bad time "25:00" (hint: write 24-hour HH:MM, e.g. 18:00)`}},
		{"from without to", head + "  - {name: a, when: {from: \"18:00\"}, action: drop}\n",
			[]string{"3:22: from without to (hint: add `to:`)"}},
		{"bad tz", head + "  - {name: a, when: {tz: Europe/Minks}, action: drop}\n",
			[]string{`3:26: unknown time zone "Europe/Minks" (hint: an IANA zone name such as Europe/Minsk, or UTC)`}},
		{"tz path", head + "  - {name: a, when: {tz: ../../etc/passwd}, action: drop}\n",
			[]string{`3:26: unknown time zone "../../etc/passwd" (hint: an IANA zone name such as Europe/Minsk, or UTC)`}},
		{"bad notice", "default: allow\nnotice: notices.example\n",
			[]string{`2:9: notice "notices.example" is not an absolute URL (hint: write an absolute http:// or https:// URL)`}},
		{"dns sinkhole without address", "default: allow\ndns: {block_answer: sinkhole}\n",
			[]string{"2:21: sinkhole answer without sinkhole addresses (hint: add `sinkhole: {a: 192.0.2.1, aaaa: \"2001:db8::1\"}`)"}},
		{"dns ede", "default: allow\ndns: {ede: 18}\n",
			[]string{`2:12: unsupported ede "18" (hint: expected one of 15 (Blocked), 16 (Censored), 17 (Filtered))`}},
		{"dns a is v6", "default: allow\ndns: {block_answer: sinkhole, sinkhole: {a: \"::1\"}}\n",
			[]string{`2:45: "::1" is not IPv4 (hint: a takes an IPv4 address)`}},
		{"alias", "x: &a allow\ndefault: *a\n",
			[]string{
				"1:1: unknown key \"x\" in policy (hint: expected one of notice, groups, rules, default, dns)",
				"2:10: YAML alias *a (hint: write the value out; anchors and aliases are not supported)",
			}},
		{"syntax", "default: allow\nrules: [\n",
			[]string{`2:1: YAML syntax: did not find expected node content`}},
		{"not a mapping", "- a\n", []string{`1:1: policy must be a mapping (key: value)`}},
		{"empty file", "", []string{"1:1: empty policy (hint: start with `default: allow`)"}},
		{"two documents", "default: allow\n---\ndefault: drop\n",
			[]string{`3:1: more than one YAML document (hint: keep one policy per file)`}},
		{"rules not a list", "default: allow\nrules: {name: a}\n",
			[]string{`2:8: rules must be a list of rules (- name: ...)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.src), fakeCatalog{})
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want ErrorList", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			var got []string
			for _, e := range list {
				if e.File != "f.yaml" {
					t.Errorf("File = %q", e.File)
				}
				got = append(got, strings.TrimPrefix(e.Error(), "f.yaml:"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors (-got, +want):\n-%s\n+%s", strings.Join(got, "\n-"), strings.Join(tt.want, "\n+"))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nope.yaml: cannot read policy") {
		t.Errorf("err = %v", err)
	}
}

var _ = dissect.TLS
