package policy

import (
	"crypto/sha256"
	"net/netip"
	"os"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/weirnet/weir/internal/domainset"
)

// Policy is a compiled policy. It is immutable and safe for concurrent use;
// a reload compiles a new one and swaps it in through a [Holder].
type Policy struct {
	file   string
	hash   [32]byte
	notice string
	dns    DNS
	def    Verdict
	rules  []rule
	infos  []Rule

	// Candidate indexes: each rule is listed in exactly one of them (its
	// index field) or in scan. Lists are ascending rule indices.
	scan    []int32
	apps    map[string][]int32
	cats    map[string][]int32
	protos  [256][]int32
	l4s     [256][]int32 // by IP protocol; does not certify (l4 is re-checked, it is one bit test)
	kw      *acMachine   // nil without keyword-indexed rules
	kwPost  [][]int32    // keyword id -> rules
	kwAll   []int32      // every keyword-indexed rule, for hit overflow
	layers  [3][]*domainset.Set
	patText []string // pattern id -> text as written
	patRule []int32  // pattern id -> rule

	groupsTbl *groupSet
}

type strSet struct {
	list []string
	m    map[string]struct{}
}

func newStrSet(xs []string) *strSet {
	if len(xs) == 0 {
		return nil
	}
	s := &strSet{}
	if len(xs) <= 8 {
		s.list = xs
		return s
	}
	s.m = make(map[string]struct{}, len(xs))
	for _, x := range xs {
		s.m[x] = struct{}{}
	}
	return s
}

func (s *strSet) has(x string) bool {
	if s.m != nil {
		_, ok := s.m[x]
		return ok
	}
	for _, y := range s.list {
		if y == x {
			return true
		}
	}
	return false
}

type bits256 [4]uint64

func (b *bits256) set(i uint8)      { b[i>>6] |= 1 << (i & 63) }
func (b *bits256) has(i uint8) bool { return b[i>>6]&(1<<(i&63)) != 0 }

// nameMatcher checks one rule's host patterns: linearly when few, through
// its own domainset when many.
type nameMatcher struct {
	pats []hostPat
	set  *domainset.Set // value = index into pats
}

const linearNames = 8

func newNameMatcher(pats []hostPat) *nameMatcher {
	if len(pats) == 0 {
		return nil
	}
	m := &nameMatcher{pats: pats}
	if len(pats) > linearNames {
		var b domainset.Builder
		for i, hp := range pats {
			_ = b.Add(dsPattern(hp), int32(i)) // validated by the parser
		}
		m.set = b.Build()
	}
	return m
}

// dsPattern spells a policy host pattern in domainset syntax.
func dsPattern(hp hostPat) string {
	switch hp.kind {
	case hostExact:
		return "=" + hp.base
	case hostSub:
		return "*." + hp.base
	}
	return hp.base
}

func (m *nameMatcher) match(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if m.set != nil {
		if i, ok := m.set.Min(name); ok {
			return m.pats[i].text, true
		}
		return "", false
	}
	if n := len(name); name[n-1] == '.' {
		name = name[:n-1]
	}
	for i := range m.pats {
		if hostMatch(&m.pats[i], name) {
			return m.pats[i].text, true
		}
	}
	return "", false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// hostMatch tests name (any case, no trailing dot) against a normalized pattern.
func hostMatch(hp *hostPat, name string) bool {
	b := hp.base
	if hp.kind != hostSub && equalFoldASCII(name, b) {
		return true
	}
	if hp.kind == hostExact {
		return false
	}
	n := len(name) - len(b)
	return n > 1 && name[n-1] == '.' && equalFoldASCII(name[n:], b)
}

type kwMatcher struct {
	words []string
	ac    *acMachine
}

func newKwMatcher(words []string) *kwMatcher {
	if len(words) == 0 {
		return nil
	}
	m := &kwMatcher{words: words}
	if len(words) > linearNames {
		m.ac = newAC(words)
	}
	return m
}

func (m *kwMatcher) match(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if m.ac != nil {
		if id, ok := m.ac.find(s); ok {
			return m.words[id], true
		}
		return "", false
	}
	for _, w := range m.words {
		if containsFold(s, w) {
			return w, true
		}
	}
	return "", false
}

// containsFold reports whether lower-case w occurs in s, ignoring ASCII case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if lowerASCII(s[i]) == w[0] && equalFoldASCII(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// addrMatcher checks CIDRs and group references of one rule field.
type addrMatcher struct {
	refs   []addrRef          // linear when few
	tbl    *bart.Table[int32] // value = index into refs, when many
	groups []int32            // group refs, checked through Policy groups
}

func newAddrMatcher(refs []addrRef) *addrMatcher {
	if len(refs) == 0 {
		return nil
	}
	m := &addrMatcher{}
	var pfx []addrRef
	for _, r := range refs {
		if r.group >= 0 {
			m.groups = append(m.groups, int32(r.group))
		} else {
			pfx = append(pfx, r)
		}
	}
	m.refs = pfx
	if len(pfx) > linearNames {
		m.tbl = new(bart.Table[int32])
		for i, r := range pfx {
			if _, ok := m.tbl.Get(r.pfx); !ok {
				m.tbl.Insert(r.pfx, int32(i))
			}
		}
	}
	return m
}

func (m *addrMatcher) match(a netip.Addr, groups []groupTable, gnames []string) (string, bool) {
	if !a.IsValid() {
		return "", false
	}
	if m.tbl != nil {
		if i, ok := m.tbl.Lookup(a); ok {
			return m.refs[i].text, true
		}
	} else {
		for i := range m.refs {
			if m.refs[i].pfx.Contains(a) {
				return m.refs[i].text, true
			}
		}
	}
	for _, g := range m.groups {
		if groups[g].contains(a) {
			return gnames[g], true
		}
	}
	return "", false
}

type groupTable struct{ t *bart.Lite }

func (g groupTable) contains(a netip.Addr) bool { return g.t.Contains(a) }

type rule struct {
	name    string
	action  Verdict
	rate    uint64
	per     Per
	index   field // the one index listing this rule; fNone = scan
	primary field // reported in Why when the index did not certify a field

	apps     *strSet
	cats     *strSet
	protos   *bits256
	names    [3]*nameMatcher // host, sni, dns_qname; nil for the indexed one
	kw       *kwMatcher
	client   *addrMatcher
	server   *addrMatcher
	groups   *addrMatcher
	ports    []portRange
	l4       *bits256
	l4text   string
	when     *schedSpec
	catchAll bool // no conditions at all
}

// groups are shared by all rules; kept outside rule so a rule stays small.
type groupSet struct {
	tables []groupTable
	names  []string
}

// Load reads and compiles a policy file. Every problem found is returned
// at once, as an [ErrorList]. cat validates app and category names (nil: no
// check).
func Load(path string, cat Catalog) (*Policy, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: "cannot read policy: " + errText(err)}}
	}
	return Parse(path, src, cat)
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse compiles policy source; file is used in error positions only.
func Parse(file string, src []byte, cat Catalog) (*Policy, error) {
	s, errs := parse(file, src, cat)
	if errs != nil {
		return nil, errs
	}
	p := compile(s, true)
	p.file = file
	p.hash = sha256.Sum256(src)
	return p, nil
}

const maxLayers = 8

// layerBuilder assigns name-indexed rules to layers in which no name can
// match patterns of two different rules, so that domainset's Min (one answer)
// finds every candidate rule: one per layer.
type layerBuilder struct {
	at    map[string]*[3]int32 // base -> rule holding it per kind (-1 none)
	under map[string]int32     // strict ancestor name -> rule below it (-2: several)
	b     domainset.Builder
	used  bool
}

func newLayer() *layerBuilder {
	return &layerBuilder{at: map[string]*[3]int32{}, under: map[string]int32{}}
}

// overlap tells whether two kinds on the same base can match one name.
func overlap(a, b int) bool {
	return !(a == hostExact && b == hostSub || a == hostSub && b == hostExact)
}

func (l *layerBuilder) conflicts(r int32, hp hostPat) bool {
	if at := l.at[hp.base]; at != nil {
		for k, owner := range at {
			if owner >= 0 && owner != r && overlap(k, hp.kind) {
				return true
			}
		}
	}
	// An ancestor's "*.x" or ".x" covers this base and everything under it.
	for s := parentName(hp.base); s != ""; s = parentName(s) {
		if at := l.at[s]; at != nil {
			if o := at[hostSub]; o >= 0 && o != r {
				return true
			}
			if o := at[hostSubtree]; o >= 0 && o != r {
				return true
			}
		}
	}
	if hp.kind != hostExact {
		if o, ok := l.under[hp.base]; ok && o != r {
			return true
		}
	}
	return false
}

func (l *layerBuilder) add(r int32, hp hostPat, pid int32) {
	at := l.at[hp.base]
	if at == nil {
		at = &[3]int32{-1, -1, -1}
		l.at[hp.base] = at
	}
	at[hp.kind] = r
	for s := parentName(hp.base); s != ""; s = parentName(s) {
		if o, ok := l.under[s]; !ok {
			l.under[s] = r
		} else if o != r {
			l.under[s] = -2
		}
	}
	_ = l.b.Add(dsPattern(hp), pid)
	l.used = true
}

func parentName(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// compile builds the Policy. indexed=false lists every rule in scan and
// gives it full per-rule checks: the reference that tests compare the
// indexes against.
func compile(s *spec, indexed bool) *Policy {
	p := &Policy{
		notice: s.notice,
		dns:    s.dns,
		def:    s.def,
		rules:  make([]rule, len(s.rules)),
		infos:  make([]Rule, len(s.rules)),
		apps:   map[string][]int32{},
		cats:   map[string][]int32{},
	}
	gs := &groupSet{}
	for _, g := range s.groups {
		t := new(bart.Lite)
		for _, pfx := range g.pfxs {
			t.Insert(pfx)
		}
		gs.tables = append(gs.tables, groupTable{t})
		gs.names = append(gs.names, g.name)
	}
	p.groupsTbl = gs

	var layers [3][]*layerBuilder
	kwIDs := map[string]int32{}
	var kwWords []string

	for i := range s.rules {
		rs := &s.rules[i]
		ri := int32(i)
		r := &p.rules[i]
		r.name, r.action, r.rate, r.per = rs.name, rs.action, rs.rate, rs.per
		p.infos[i] = Rule{Index: i, Name: rs.name, Action: rs.action, Rate: rs.rate, Per: rs.per,
			Line: rs.line, Match: strings.Join(rs.summary, "; ")}

		// Choose the index: the most selective field present.
		switch {
		case !indexed:
		case len(rs.names[0]) > 0 || len(rs.names[1]) > 0 || len(rs.names[2]) > 0:
			fi := 0
			for len(rs.names[fi]) == 0 {
				fi++
			}
			placed := false
			for li := 0; li < maxLayers && !placed; li++ {
				if li == len(layers[fi]) {
					layers[fi] = append(layers[fi], newLayer())
				}
				l := layers[fi][li]
				ok := true
				for _, hp := range rs.names[fi] {
					if l.conflicts(ri, hp) {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				for _, hp := range rs.names[fi] {
					pid := int32(len(p.patText))
					p.patText = append(p.patText, hp.text)
					p.patRule = append(p.patRule, ri)
					l.add(ri, hp, pid)
				}
				placed = true
			}
			if placed {
				r.index = field(fHost + field(fi))
			}
		case len(rs.apps) > 0:
			r.index = fApp
			for _, a := range dedupe(rs.apps) {
				p.apps[a] = append(p.apps[a], ri)
			}
		case len(rs.keywords) > 0:
			r.index = fKeyword
			for _, w := range dedupe(rs.keywords) {
				id, ok := kwIDs[w]
				if !ok {
					id = int32(len(kwWords))
					kwIDs[w] = id
					kwWords = append(kwWords, w)
					p.kwPost = append(p.kwPost, nil)
				}
				p.kwPost[id] = append(p.kwPost[id], ri)
			}
			p.kwAll = append(p.kwAll, ri)
		case len(rs.cats) > 0:
			r.index = fCategory
			for _, c := range dedupe(rs.cats) {
				p.cats[c] = append(p.cats[c], ri)
			}
		case len(rs.protos) > 0:
			r.index = fProtocol
			seen := bits256{}
			for _, pr := range rs.protos {
				if !seen.has(uint8(pr)) {
					seen.set(uint8(pr))
					p.protos[pr] = append(p.protos[pr], ri)
				}
			}
		case len(rs.l4) > 0:
			r.index = fL4
			seen := bits256{}
			for _, n := range rs.l4 {
				if !seen.has(n) {
					seen.set(n)
					p.l4s[n] = append(p.l4s[n], ri)
				}
			}
		}
		if r.index == fNone {
			p.scan = append(p.scan, ri)
		}

		// Per-rule checks for every field but a certified index field.
		if r.index != fApp {
			r.apps = newStrSet(rs.apps)
		}
		if r.index != fCategory {
			r.cats = newStrSet(rs.cats)
		}
		if len(rs.protos) > 0 && r.index != fProtocol {
			r.protos = new(bits256)
			for _, pr := range rs.protos {
				r.protos.set(uint8(pr))
			}
		}
		for fi := range rs.names {
			if r.index != fHost+field(fi) {
				r.names[fi] = newNameMatcher(rs.names[fi])
			}
		}
		// Keyword rules keep their own matcher even when indexed: a hit
		// overflow falls back to kwAll, which does not certify.
		r.kw = newKwMatcher(dedupe(rs.keywords))
		r.client = newAddrMatcher(rs.client)
		r.server = newAddrMatcher(rs.server)
		if len(rs.groups) > 0 {
			refs := make([]addrRef, len(rs.groups))
			for j, g := range rs.groups {
				refs[j] = addrRef{group: g, text: s.groups[g].name}
			}
			r.groups = newAddrMatcher(refs)
		}
		r.ports = rs.ports
		if len(rs.l4) > 0 {
			r.l4 = new(bits256)
			for _, n := range rs.l4 {
				r.l4.set(n)
			}
			r.l4text = strings.Join(rs.l4text, ",")
		}
		r.when = rs.when
		r.primary = primaryField(rs)
		r.catchAll = r.primary == fNone
	}
	for fi := range layers {
		for _, l := range layers[fi] {
			if l.used {
				p.layers[fi] = append(p.layers[fi], l.b.Build())
			}
		}
	}
	if len(kwWords) > 0 {
		p.kw = newAC(kwWords)
	}
	return p
}

func primaryField(rs *ruleSpec) field {
	switch {
	case len(rs.names[0]) > 0:
		return fHost
	case len(rs.names[1]) > 0:
		return fSNI
	case len(rs.names[2]) > 0:
		return fQName
	case len(rs.apps) > 0:
		return fApp
	case len(rs.keywords) > 0:
		return fKeyword
	case len(rs.cats) > 0:
		return fCategory
	case len(rs.protos) > 0:
		return fProtocol
	case len(rs.groups) > 0:
		return fGroup
	case len(rs.client) > 0:
		return fClient
	case len(rs.server) > 0:
		return fServer
	case len(rs.ports) > 0:
		return fPort
	case len(rs.l4) > 0:
		return fL4
	case rs.when != nil:
		return fWhen
	}
	return fNone
}

func dedupe(xs []string) []string {
	if len(xs) < 2 {
		return xs
	}
	seen := make(map[string]struct{}, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if _, ok := seen[x]; !ok {
			seen[x] = struct{}{}
			out = append(out, x)
		}
	}
	return out
}

// Rules returns the compiled rules in order, for display.
func (p *Policy) Rules() []Rule { return append([]Rule(nil), p.infos...) }

// Hash is the SHA-256 of the source the policy was compiled from, for the
// audit trail.
func (p *Policy) Hash() [32]byte { return p.hash }

// File is the path or name the policy was loaded from.
func (p *Policy) File() string { return p.file }

// Default is the verdict when no rule matches.
func (p *Policy) Default() Verdict { return p.def }

// Notice is the URL shown to blocked users (RFC 7725), or "".
func (p *Policy) Notice() string { return p.notice }

// DNS is the dns: section, with defaults filled in.
func (p *Policy) DNS() DNS { return p.dns }
