package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/domainset"
)

// Limits keep a hostile or mistaken file from costing unbounded compile
// time or memory. They are far above any real policy.
const (
	maxSourceBytes = 64 << 20
	maxRules       = 1 << 20
	maxNameLen     = 64
	maxErrors      = 200 // a broken 100k-line list need not print 100k lines
)

// field is a match field. The order is the order in which a rule's primary
// field (the one Why reports) is chosen when the rule is not indexed.
type field uint8

const (
	fNone field = iota
	fHost
	fSNI
	fQName
	fApp
	fKeyword
	fCategory
	fProtocol
	fGroup
	fClient
	fServer
	fPort
	fL4
	fWhen
)

var fieldNames = [...]string{
	fNone: "", fHost: "host", fSNI: "sni", fQName: "dns_qname", fApp: "app",
	fKeyword: "host_contains", fCategory: "category", fProtocol: "protocol",
	fGroup: "group", fClient: "client", fServer: "server", fPort: "port",
	fL4: "l4", fWhen: "when",
}

func (f field) String() string { return fieldNames[f] }

// Host pattern kinds, as written in a policy.
const (
	hostExact   = iota // "name"
	hostSub            // "*.name": below name only
	hostSubtree        // ".name": name and below
)

type hostPat struct {
	kind int
	base string // normalized name
	text string // as written, for Why
}

type portRange struct {
	lo, hi uint16
	text   string
}

type addrRef struct {
	pfx   netip.Prefix // valid when group < 0
	group int          // index into spec.groups, or -1
	text  string
}

type schedSpec struct {
	days     uint8 // bit per time.Weekday; 0x7f when omitted
	from, to int   // minutes of the day; from == to == -1 for all day
	loc      *time.Location
	text     string
}

type ruleSpec struct {
	name     string
	line     int
	action   Verdict
	rate     uint64
	per      Per
	apps     []string
	cats     []string
	protos   []dissect.Proto
	names    [3][]hostPat // fHost, fSNI, fQName order
	keywords []string
	client   []addrRef
	server   []addrRef
	groups   []int
	ports    []portRange
	l4       []uint8
	l4text   []string
	when     *schedSpec
	summary  []string
}

type groupSpec struct {
	name string
	pfxs []netip.Prefix
}

type spec struct {
	notice string
	groups []groupSpec
	rules  []ruleSpec
	def    Verdict
	dns    DNS
}

type parser struct {
	file   string
	cat    Catalog
	errs   ErrorList
	groups map[string]int
}

func (p *parser) errAt(line, col int, hint, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: msg, Hint: hint})
}

func (p *parser) errf(n *yaml.Node, hint, format string, args ...any) {
	p.errAt(n.Line, n.Column, hint, format, args...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse turns source into a spec, collecting every error it can find.
func parse(file string, src []byte, cat Catalog) (*spec, ErrorList) {
	p := &parser{file: file, cat: cat}
	if len(src) > maxSourceBytes {
		p.errAt(0, 0, "", "file is larger than %d bytes", maxSourceBytes)
		return nil, p.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errAt(1, 1, "start with `default: allow`", "empty policy")
			return nil, p.errs
		}
		p.yamlError(err)
		return nil, p.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		p.errf(at, "keep one policy per file", "more than one YAML document")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
	}
	p.noAliases(&doc)
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	s := p.top(root)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, p.errs
	}
	return s, nil
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errAt(line, 1, "", "YAML syntax: %s", m[2])
		return
	}
	p.errAt(0, 0, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}

// noAliases rejects anchors' aliases: the policy is flat data, and walking
// aliases is how "billion laughs" files blow up.
func (p *parser) noAliases(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		p.errf(n, "write the value out; anchors and aliases are not supported", "YAML alias *%s", n.Value)
		return
	}
	for _, c := range n.Content {
		p.noAliases(c)
	}
}

// mapping walks a mapping node, rejecting unknown and duplicate keys, and
// calls fn for each known key in source order.
func (p *parser) mapping(n *yaml.Node, what string, keys []string, fn func(key string, k, v *yaml.Node)) bool {
	if n.Kind == yaml.AliasNode {
		return false
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "", "%s must be a mapping (key: value)", what)
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, "", "%s: keys must be plain words", what)
			continue
		}
		if !slices.Contains(keys, k.Value) {
			h := ""
			if c, ok := closest(k.Value, keys); ok {
				h = "did you mean " + c + "?"
			} else {
				h = "expected one of " + strings.Join(keys, ", ")
			}
			p.errf(k, h, "unknown key %q in %s", k.Value, what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errf(k, "", "duplicate key %q in %s (first at line %d)", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		fn(k.Value, k, v)
	}
	return true
}

// scalar returns the text of a scalar node, reporting anything else.
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	switch {
	case n.Kind == yaml.AliasNode:
		return "", false
	case n.Kind != yaml.ScalarNode:
		p.errf(n, "", "%s must be a single value", what)
		return "", false
	case n.Tag == "!!null":
		p.errf(n, "", "%s is empty", what)
		return "", false
	}
	return n.Value, true
}

// list accepts a scalar or a flat sequence of scalars (any of them matches).
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	switch n.Kind {
	case yaml.AliasNode:
		return nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.errf(n, "", "%s is empty", what)
			return nil
		}
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.errf(n, "remove the field to match anything", "%s: empty list matches nothing", what)
			return nil
		}
		out := make([]*yaml.Node, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode {
				continue
			}
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
				p.errf(c, "", "%s: each item must be a single value", what)
				continue
			}
			out = append(out, c)
		}
		return out
	}
	p.errf(n, "", "%s must be a value or a list of values", what)
	return nil
}

var topKeys = []string{"notice", "groups", "rules", "default", "dns"}

func (p *parser) top(n *yaml.Node) *spec {
	s := &spec{dns: DNS{EDE: 15, TTL: 60}}
	var rulesNode *yaml.Node
	hasDefault := false
	ok := p.mapping(n, "policy", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "notice":
			s.notice = p.notice(v)
		case "groups":
			s.groups = p.groupsSection(v)
		case "rules":
			rulesNode = v // after groups, whatever the key order
		case "default":
			hasDefault = true
			if t, ok := p.scalar(v, "default"); ok {
				vd, ok := parseVerdict(t)
				if !ok || vd == Throttle {
					p.errf(v, "expected one of allow, block, drop, reset", "unknown default action %q", t)
				}
				s.def = vd
			}
		case "dns":
			s.dns = p.dnsSection(v)
		}
	})
	if !ok {
		return s
	}
	if !hasDefault {
		p.errf(n, "add `default: allow` (or drop, block, reset)", "missing default")
	}
	if rulesNode != nil {
		s.rules = p.rulesSection(rulesNode)
	}
	return s
}

func (p *parser) notice(v *yaml.Node) string {
	t, ok := p.scalar(v, "notice")
	if !ok {
		return ""
	}
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errf(v, "write an absolute http:// or https:// URL", "notice %q is not an absolute URL", t)
		return ""
	}
	return t
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (p *parser) ident(n *yaml.Node, what string) (string, bool) {
	t, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	if len(t) > maxNameLen || !identRE.MatchString(t) {
		p.errf(n, "use letters, digits, '-', '_' and '.', at most 64", "bad %s %q", what, t)
		return "", false
	}
	return t, true
}

func (p *parser) groupsSection(n *yaml.Node) []groupSpec {
	if n.Kind == yaml.AliasNode {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "", "groups must be a mapping of name: [CIDR, ...]")
		return nil
	}
	p.groups = map[string]int{}
	var out []groupSpec
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := p.ident(k, "group name")
		if !ok {
			continue
		}
		if _, err := netip.ParsePrefix(name); err == nil {
			p.errf(k, "", "group name %q looks like an address", name)
			continue
		}
		if _, err := netip.ParseAddr(name); err == nil {
			p.errf(k, "", "group name %q looks like an address", name)
			continue
		}
		if _, dup := p.groups[name]; dup {
			p.errf(k, "", "duplicate group %q", name)
			continue
		}
		g := groupSpec{name: name}
		for _, it := range p.list(v, "group "+name) {
			if pfx, ok := p.prefix(it); ok {
				g.pfxs = append(g.pfxs, pfx)
			}
		}
		p.groups[name] = len(out)
		out = append(out, g)
	}
	return out
}

// prefix parses a CIDR or a bare address (a host prefix).
func (p *parser) prefix(n *yaml.Node) (netip.Prefix, bool) {
	t := n.Value
	if strings.Contains(t, "/") {
		pfx, err := netip.ParsePrefix(t)
		if err != nil {
			p.errf(n, "write a CIDR like 10.0.0.0/8 or 2001:db8::/32", "bad prefix %q", t)
			return netip.Prefix{}, false
		}
		if pfx.Addr().Zone() != "" {
			p.errf(n, "", "prefix %q has a zone", t)
			return netip.Prefix{}, false
		}
		if m := pfx.Masked(); m != pfx {
			p.errf(n, "did you mean "+m.String()+"?", "prefix %q has host bits set", t)
			return netip.Prefix{}, false
		}
		if pfx.Addr().Is4In6() {
			p.errf(n, "write the IPv4 form", "prefix %q is IPv4-mapped IPv6", t)
			return netip.Prefix{}, false
		}
		return pfx, true
	}
	a, err := netip.ParseAddr(t)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, p.notAddr(n, t)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (p *parser) notAddr(n *yaml.Node, t string) bool {
	p.errf(n, "write a CIDR like 10.0.0.0/8 or an address", "bad address %q", t)
	return false
}

var ruleKeys = []string{"name", "match", "when", "action", "rate", "per"}
var matchKeys = []string{"app", "category", "protocol", "host", "host_contains", "sni",
	"dns_qname", "client", "server", "group", "port", "l4"}

func (p *parser) rulesSection(n *yaml.Node) []ruleSpec {
	if n.Kind == yaml.AliasNode {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "", "rules must be a list of rules (- name: ...)")
		return nil
	}
	if len(n.Content) > maxRules {
		p.errf(n, "", "more than %d rules", maxRules)
		return nil
	}
	names := map[string]int{}
	out := make([]ruleSpec, 0, len(n.Content))
	for _, rn := range n.Content {
		r := ruleSpec{line: rn.Line}
		var actNode, rateNode, perNode *yaml.Node
		hasName, hasAction := false, false
		ok := p.mapping(rn, "rule", ruleKeys, func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				hasName = true
				if name, ok := p.ident(v, "rule name"); ok {
					if first, dup := names[name]; dup {
						p.errf(v, "rule names must be unique", "duplicate rule name %q (first at line %d)", name, first)
					} else {
						names[name] = v.Line
					}
					r.name = name
				}
			case "match":
				p.match(v, &r)
			case "when":
				r.when = p.when(v)
				if r.when != nil {
					r.summary = append(r.summary, "when "+r.when.text)
				}
			case "action":
				hasAction = true
				actNode = v
				if t, ok := p.scalar(v, "action"); ok {
					vd, ok := parseVerdict(t)
					if !ok {
						p.errf(v, "expected one of allow, block, drop, reset, throttle", "unknown action %q", t)
					}
					r.action = vd
				}
			case "rate":
				rateNode = v
				if t, ok := p.scalar(v, "rate"); ok {
					bps, hint, err := parseRate(t)
					if err != "" {
						p.errf(v, hint, "%s", err)
					}
					r.rate = bps
				}
			case "per":
				perNode = v
				if t, ok := p.scalar(v, "per"); ok {
					switch t {
					case "flow":
						r.per = PerFlow
					case "group":
						r.per = PerGroup
					default:
						p.errf(v, "expected one of flow, group", "unknown per %q", t)
					}
				}
			}
		})
		if !ok {
			continue
		}
		if !hasName {
			p.errf(rn, "every rule needs a unique name", "rule without name")
		}
		if !hasAction {
			p.errf(rn, "add `action: block` (or allow, drop, reset, throttle)", "rule %q without action", r.name)
		}
		if r.action == Throttle && hasAction && rateNode == nil {
			p.errf(actNode, "add e.g. `rate: 1mbit`", "throttle needs a rate")
		}
		if r.action != Throttle && hasAction {
			if rateNode != nil {
				p.errf(rateNode, "rate applies to `action: throttle` only", "rate without throttle")
			}
			if perNode != nil {
				p.errf(perNode, "per applies to `action: throttle` only", "per without throttle")
			}
		}
		out = append(out, r)
	}
	return out
}

func parseVerdict(s string) (Verdict, bool) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), true
		}
	}
	return Allow, false
}

func (p *parser) match(n *yaml.Node, r *ruleSpec) {
	p.mapping(n, "match", matchKeys, func(key string, k, v *yaml.Node) {
		items := p.list(v, key)
		var texts []string
		for _, it := range items {
			if p.matchItem(key, it, r) {
				texts = append(texts, it.Value)
			}
		}
		if len(texts) > 0 {
			sum := key + " " + strings.Join(texts, ",")
			if len(texts) > 4 {
				sum = key + " " + strings.Join(texts[:3], ",") + ",… (" + strconv.Itoa(len(texts)) + ")"
			}
			r.summary = append(r.summary, sum)
		}
	})
}

// matchItem validates and records one value of one match field.
func (p *parser) matchItem(key string, it *yaml.Node, r *ruleSpec) bool {
	t := it.Value
	switch key {
	case "app":
		if p.cat != nil && !p.cat.HasApp(t) {
			h := ""
			if c, ok := closest(t, p.cat.AppNames()); ok {
				h = "did you mean " + c + "?"
			}
			p.errf(it, h, "unknown app %q", t)
			return false
		}
		r.apps = append(r.apps, t)
	case "category":
		if p.cat != nil && !p.cat.HasCategory(t) {
			p.errf(it, "", "unknown category %q", t)
			return false
		}
		r.cats = append(r.cats, t)
	case "protocol":
		pr, ok := protoByName(t)
		if !ok {
			p.errf(it, hintFor(t, protoNameList()), "unknown protocol %q", t)
			return false
		}
		r.protos = append(r.protos, pr)
	case "host", "sni", "dns_qname":
		hp, ok := p.hostPattern(it)
		if !ok {
			return false
		}
		i := map[string]int{"host": 0, "sni": 1, "dns_qname": 2}[key]
		r.names[i] = append(r.names[i], hp)
	case "host_contains":
		kw := strings.ToLower(t)
		if kw == "" {
			p.errf(it, "", "empty keyword matches everything")
			return false
		}
		if len(kw) > 253 {
			p.errf(it, "", "keyword longer than a host name (253 bytes)")
			return false
		}
		r.keywords = append(r.keywords, kw)
	case "client", "server":
		ref, ok := p.addrRef(it)
		if !ok {
			return false
		}
		if key == "client" {
			r.client = append(r.client, ref)
		} else {
			r.server = append(r.server, ref)
		}
	case "group":
		g, ok := p.groups[t]
		if !ok {
			p.errf(it, hintFor(t, p.groupNames()), "unknown group %q", t)
			return false
		}
		r.groups = append(r.groups, g)
	case "port":
		pr, ok := p.portRange(it)
		if !ok {
			return false
		}
		r.ports = append(r.ports, pr)
	case "l4":
		n, ok := l4ByName(t)
		if !ok {
			p.errf(it, "expected one of tcp, udp, icmp, icmpv6, sctp or a number 0-255", "unknown l4 %q", t)
			return false
		}
		r.l4 = append(r.l4, n...)
		r.l4text = append(r.l4text, t)
	}
	return true
}

func (p *parser) groupNames() []string {
	out := make([]string, 0, len(p.groups))
	for n := range p.groups {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (p *parser) addrRef(it *yaml.Node) (addrRef, bool) {
	t := it.Value
	if g, ok := p.groups[t]; ok {
		return addrRef{group: g, text: t}, true
	}
	if identRE.MatchString(t) && !strings.ContainsAny(t, ":/") {
		if _, err := netip.ParseAddr(t); err != nil {
			p.errf(it, hintFor(t, p.groupNames()), "unknown group %q", t)
			return addrRef{}, false
		}
	}
	pfx, ok := p.prefix(it)
	return addrRef{pfx: pfx, group: -1, text: t}, ok
}

func (p *parser) portRange(it *yaml.Node) (portRange, bool) {
	t := it.Value
	lo, hi, isRange := strings.Cut(t, "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	}
	if err1 != nil || err2 != nil {
		p.errf(it, "write a port 0-65535 or a range like 8000-8100", "bad port %q", t)
		return portRange{}, false
	}
	if a > b {
		p.errf(it, "write the lower port first", "empty port range %q", t)
		return portRange{}, false
	}
	return portRange{lo: uint16(a), hi: uint16(b), text: t}, true
}

// l4ByName maps an l4 keyword or number to IP protocol numbers. "icmp"
// covers both families because a rule author thinks "ping", not "v4 ping".
func l4ByName(s string) ([]uint8, bool) {
	switch strings.ToLower(s) {
	case "tcp":
		return []uint8{6}, true
	case "udp":
		return []uint8{17}, true
	case "icmp":
		return []uint8{1, 58}, true
	case "icmpv6":
		return []uint8{58}, true
	case "sctp":
		return []uint8{132}, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return nil, false
	}
	return []uint8{uint8(n)}, true
}

// protoByName is dissect.ParseProto, but case-insensitive.
func protoByName(s string) (dissect.Proto, bool) {
	if pr, ok := dissect.ParseProto(s); ok {
		return pr, true
	}
	for _, n := range protoNameList() {
		if strings.EqualFold(n, s) {
			return dissect.ParseProto(n)
		}
	}
	return dissect.Unknown, false
}

// protoNameList lists dissect's protocol names. The set has no exported
// bound, so it walks until String falls back to "Unknown".
func protoNameList() []string {
	out := []string{dissect.Unknown.String()}
	for i := 1; i < 256; i++ {
		n := dissect.Proto(i).String()
		if n == dissect.Unknown.String() {
			break
		}
		out = append(out, n)
	}
	return out
}

// hostPattern parses "name", "*.name" or ".name".
func (p *parser) hostPattern(it *yaml.Node) (hostPat, bool) {
	t := it.Value
	hp := hostPat{kind: hostExact, text: t}
	name := t
	switch {
	case strings.HasPrefix(t, "**."):
		p.errf(it, "write ."+t[3:]+" for the name and its subdomains", "unsupported pattern %q", t)
		return hp, false
	case strings.HasPrefix(t, "*."):
		hp.kind, name = hostSub, t[2:]
	case strings.HasPrefix(t, "."):
		hp.kind, name = hostSubtree, t[1:]
	}
	norm, err := domainset.Normalize(name)
	if err != nil {
		h, msg := "labels of a-z, 0-9, '-', '_'; wildcard only as a first label *.name", err.Error()
		for _, c := range []byte(name) {
			if c >= 0x80 {
				h, msg = "write internationalized names in punycode (xn--...)", "non-ASCII name"
				break
			}
		}
		p.errf(it, h, "bad host pattern %q: %s", t, msg)
		return hp, false
	}
	hp.base = norm
	return hp, true
}

var whenKeys = []string{"days", "from", "to", "tz"}
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (p *parser) when(n *yaml.Node) *schedSpec {
	s := &schedSpec{days: 0x7f, from: -1, to: -1, loc: time.UTC}
	var fromN, toN, fromK, toK *yaml.Node
	var texts []string
	ok := p.mapping(n, "when", whenKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "days":
			s.days = 0
			var ds []string
			for _, it := range p.list(v, "days") {
				d := slices.Index(dayNames, strings.ToLower(it.Value))
				if d < 0 {
					p.errf(it, hintFor(it.Value, dayNames), "unknown day %q", it.Value)
					continue
				}
				s.days |= 1 << d
				ds = append(ds, dayNames[d])
			}
			texts = append(texts, strings.Join(ds, ","))
		case "from", "to":
			if key == "from" {
				fromK = k
			} else {
				toK = k
			}
			t, ok := p.scalar(v, key)
			if !ok {
				return
			}
			m, ok := parseClock(t, key == "to")
			if !ok {
				h := "write 24-hour HH:MM, e.g. 18:00"
				if key == "to" {
					h += " (24:00 for end of day)"
				}
				p.errf(v, h, "bad time %q", t)
				return
			}
			if key == "from" {
				s.from, fromN = m, v
			} else {
				s.to, toN = m, v
			}
		case "tz":
			t, ok := p.scalar(v, "tz")
			if !ok {
				return
			}
			loc, err := loadLocation(t)
			if err != nil {
				p.errf(v, "an IANA zone name such as Europe/Minsk, or UTC", "unknown time zone %q", t)
				return
			}
			s.loc = loc
		}
	})
	if !ok {
		return nil
	}
	switch {
	case fromK != nil && toK == nil:
		p.errf(fromK, "add `to:`", "from without to")
		return nil
	case toK != nil && fromK == nil:
		p.errf(toK, "add `from:`", "to without from")
		return nil
	case fromN == nil && fromK != nil || toN == nil && toK != nil:
		return nil // bad clock, already reported
	case fromN != nil && s.from == s.to:
		p.errf(toN, "omit from and to for the whole day", "from equals to: empty window")
		return nil
	case fromN != nil && s.from == 0 && s.to == 24*60:
		s.from, s.to = -1, -1
	}
	if s.days == 0 {
		return nil // every day name was bad, already reported
	}
	if s.from >= 0 {
		texts = append(texts, fmtClock(s.from)+"-"+fmtClock(s.to))
	}
	texts = append(texts, s.loc.String())
	s.text = strings.Join(texts, " ")
	return s
}

// loadLocation refuses "Local" spelled differently and paths: time.LoadLocation
// would otherwise read an arbitrary file named by the policy.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return nil, errors.New("bad zone")
	}
	return time.LoadLocation(name)
}

func parseClock(s string, allow24 bool) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || h[0] == '-' || h[0] == '+' || m[0] == '-' || m[0] == '+' {
		return 0, false
	}
	if hh == 24 && mm == 0 && allow24 {
		return 24 * 60, true
	}
	if hh > 23 {
		return 0, false
	}
	return hh*60 + mm, true
}

func fmtClock(m int) string {
	return strconv.Itoa(m/600) + strconv.Itoa(m/60%10) + ":" + strconv.Itoa(m%60/10) + strconv.Itoa(m%10)
}

var dnsKeys = []string{"block_answer", "sinkhole", "ede", "ede_text", "ttl"}

func (p *parser) dnsSection(n *yaml.Node) DNS {
	d := DNS{EDE: 15, TTL: 60}
	var answerN, sinkN *yaml.Node
	p.mapping(n, "dns", dnsKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "block_answer":
			answerN = v
			if t, ok := p.scalar(v, "block_answer"); ok {
				switch t {
				case "nxdomain":
					d.BlockAnswer = AnswerNXDomain
				case "sinkhole":
					d.BlockAnswer = AnswerSinkhole
				default:
					p.errf(v, "expected one of nxdomain, sinkhole", "unknown block_answer %q", t)
				}
			}
		case "sinkhole":
			sinkN = v
			p.mapping(v, "sinkhole", []string{"a", "aaaa"}, func(key string, k, v *yaml.Node) {
				t, ok := p.scalar(v, key)
				if !ok {
					return
				}
				a, err := netip.ParseAddr(t)
				switch {
				case err != nil || a.Zone() != "":
					p.errf(v, "", "bad address %q", t)
				case key == "a" && !a.Unmap().Is4():
					p.errf(v, "a takes an IPv4 address", "%q is not IPv4", t)
				case key == "aaaa" && (!a.Is6() || a.Is4In6()):
					p.errf(v, "aaaa takes an IPv6 address", "%q is not IPv6", t)
				case key == "a":
					d.SinkholeA = a.Unmap()
				default:
					d.SinkholeAAAA = a
				}
			})
		case "ede":
			if t, ok := p.scalar(v, "ede"); ok {
				switch t {
				case "15", "16", "17":
					c, _ := strconv.Atoi(t)
					d.EDE = uint16(c)
				default:
					p.errf(v, "expected one of 15 (Blocked), 16 (Censored), 17 (Filtered)", "unsupported ede %q", t)
				}
			}
		case "ede_text":
			if t, ok := p.scalar(v, "ede_text"); ok {
				if len(t) > 255 {
					p.errf(v, "", "ede_text longer than 255 bytes")
				}
				d.EDEText = t
			}
		case "ttl":
			if t, ok := p.scalar(v, "ttl"); ok {
				n, err := strconv.ParseUint(t, 10, 32)
				if err != nil || n > 86400 {
					p.errf(v, "seconds, 0-86400", "bad ttl %q", t)
				}
				d.TTL = uint32(n)
			}
		}
	})
	if d.BlockAnswer == AnswerSinkhole && sinkN == nil {
		at := answerN
		if at == nil {
			at = n
		}
		p.errf(at, "add `sinkhole: {a: 192.0.2.1, aaaa: \"2001:db8::1\"}`", "sinkhole answer without sinkhole addresses")
	}
	if d.BlockAnswer == AnswerNXDomain && sinkN != nil && answerN == nil {
		p.errf(sinkN, "add `block_answer: sinkhole`", "sinkhole addresses given but block_answer is nxdomain")
	}
	return d
}
