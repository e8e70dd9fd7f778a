package policy

import (
	"net/netip"
	"time"
)

// Bounds of the on-stack candidate state. Exceeding maxLists (more than
// maxKwHits distinct keywords in one flow's names) falls back to the
// uncertified kwAll list, which is slower but still exact.
const (
	maxLists = 6 + maxKwHits
	maxHits  = 3*maxLayers + 2*maxLayers
)

type candList struct {
	ids []int32
	f   field // certified field, fNone for scan, l4 and kwAll
	kw  int32 // keyword id when f == fKeyword
}

type hostHit struct {
	rule int32
	pat  int32
	f    field
}

type cands struct {
	lists [maxLists]candList
	n     int
	hits  [maxHits]hostHit
	nh    int
}

func (c *cands) add(ids []int32, f field, kw int32) {
	if len(ids) > 0 && c.n < len(c.lists) {
		c.lists[c.n] = candList{ids, f, kw}
		c.n++
	}
}

const none = int32(1<<31 - 1)

// Evaluate returns the verdict for a flow: the action of the first rule
// whose every match field holds, else the default. It never allocates and
// is safe for concurrent use.
//
// Candidates come from the indexes (host layers, app, category, protocol,
// keyword automaton) plus the scan list of unindexed rules; they are merged
// in rule order and verified one by one, so 100k host rules cost a few
// lookups, not 100k checks.
func (p *Policy) Evaluate(in *Input) (Verdict, Why) {
	var c cands
	c.add(p.scan, fNone, 0)
	if in.App != "" {
		c.add(p.apps[in.App], fApp, 0)
	}
	if in.Category != "" {
		c.add(p.cats[in.Category], fCategory, 0)
	}
	c.add(p.protos[in.Protocol], fProtocol, 0)
	c.add(p.l4s[in.L4], fNone, 0)

	host, sni, qn := in.Host, in.SNI, in.DNSQName
	// The host field matches any of the three names; skip repeats.
	p.queryLayers(&c, fHost, host)
	if sni != host {
		p.queryLayers(&c, fHost, sni)
	}
	if qn != host && qn != sni {
		p.queryLayers(&c, fHost, qn)
	}
	p.queryLayers(&c, fSNI, sni)
	p.queryLayers(&c, fQName, qn)

	if p.kw != nil {
		var h kwHits
		p.kw.scan(host, &h)
		if sni != host {
			p.kw.scan(sni, &h)
		}
		if qn != host && qn != sni {
			p.kw.scan(qn, &h)
		}
		if h.overflow {
			c.add(p.kwAll, fNone, 0)
		} else {
			for i := 0; i < h.n; i++ {
				id := h.ids[i]
				c.add(p.kwPost[id], fKeyword, id)
			}
		}
	}

	var now time.Time
	last := int32(-1)
	for {
		next := none
		for i := 0; i < c.n; i++ {
			l := c.lists[i].ids
			for len(l) > 0 && l[0] <= last {
				l = l[1:]
			}
			c.lists[i].ids = l
			if len(l) > 0 && l[0] < next {
				next = l[0]
			}
		}
		for i := 0; i < c.nh; i++ {
			if r := c.hits[i].rule; r > last && r < next {
				next = r
			}
		}
		if next == none {
			return p.def, Why{Rule: -1}
		}
		last = next
		cert, val := fNone, ""
		for i := 0; i < c.nh && cert == fNone; i++ {
			if c.hits[i].rule == next {
				cert, val = c.hits[i].f, p.patText[c.hits[i].pat]
			}
		}
		for i := 0; i < c.n && cert == fNone; i++ {
			if l := c.lists[i].ids; len(l) > 0 && l[0] == next && c.lists[i].f != fNone {
				cert = c.lists[i].f
				switch cert {
				case fApp:
					val = in.App
				case fCategory:
					val = in.Category
				case fProtocol:
					val = in.Protocol.String()
				case fKeyword:
					val = p.kw.words[c.lists[i].kw]
				}
			}
		}
		r := &p.rules[next]
		if r.when != nil && now.IsZero() {
			now = in.Time
			if now.IsZero() {
				now = time.Now()
			}
		}
		if ok, f, v := p.verify(r, in, cert, now); ok {
			if cert != fNone {
				f, v = cert, val
			}
			return r.action, Why{Rule: int(next), Name: r.name, Field: f.String(), Value: v}
		}
	}
}

func (p *Policy) queryLayers(c *cands, f field, name string) {
	if name == "" {
		return
	}
	for _, s := range p.layers[f-fHost] {
		if pid, ok := s.Min(name); ok && c.nh < len(c.hits) {
			c.hits[c.nh] = hostHit{rule: p.patRule[pid], pat: pid, f: f}
			c.nh++
		}
	}
}

// verify checks every condition of r except the certified one, cheapest
// first, and returns the primary field's evidence for Why.
func (p *Policy) verify(r *rule, in *Input, cert field, now time.Time) (bool, field, string) {
	pf := r.primary
	var pv string
	if r.protos != nil {
		if !r.protos.has(uint8(in.Protocol)) {
			return false, 0, ""
		}
		if pf == fProtocol {
			pv = in.Protocol.String()
		}
	}
	if r.l4 != nil {
		if !r.l4.has(in.L4) {
			return false, 0, ""
		}
		if pf == fL4 {
			pv = r.l4text
		}
	}
	if r.ports != nil {
		ok := false
		for i := range r.ports {
			if pr := &r.ports[i]; in.ServerPort >= pr.lo && in.ServerPort <= pr.hi {
				ok = true
				if pf == fPort {
					pv = pr.text
				}
				break
			}
		}
		if !ok {
			return false, 0, ""
		}
	}
	if r.apps != nil && cert != fApp {
		if !r.apps.has(in.App) {
			return false, 0, ""
		}
		if pf == fApp {
			pv = in.App
		}
	}
	if r.cats != nil && cert != fCategory {
		if !r.cats.has(in.Category) {
			return false, 0, ""
		}
		if pf == fCategory {
			pv = in.Category
		}
	}
	if r.when != nil && !r.when.active(now) {
		return false, 0, ""
	}
	g := p.groupsTbl
	for _, am := range [...]struct {
		m    *addrMatcher
		addr netip.Addr
		f    field
	}{{r.groups, in.Client, fGroup}, {r.client, in.Client, fClient}, {r.server, in.Server, fServer}} {
		if am.m == nil {
			continue
		}
		v, ok := am.m.match(am.addr.Unmap(), g.tables, g.names)
		if !ok {
			return false, 0, ""
		}
		if pf == am.f {
			pv = v
		}
	}
	if m := r.names[0]; m != nil && cert != fHost {
		v, ok := m.match(in.Host)
		if !ok {
			v, ok = m.match(in.SNI)
		}
		if !ok {
			v, ok = m.match(in.DNSQName)
		}
		if !ok {
			return false, 0, ""
		}
		if pf == fHost {
			pv = v
		}
	}
	if m := r.names[1]; m != nil && cert != fSNI {
		v, ok := m.match(in.SNI)
		if !ok {
			return false, 0, ""
		}
		if pf == fSNI {
			pv = v
		}
	}
	if m := r.names[2]; m != nil && cert != fQName {
		v, ok := m.match(in.DNSQName)
		if !ok {
			return false, 0, ""
		}
		if pf == fQName {
			pv = v
		}
	}
	if m := r.kw; m != nil && cert != fKeyword {
		v, ok := m.match(in.Host)
		if !ok {
			v, ok = m.match(in.SNI)
		}
		if !ok {
			v, ok = m.match(in.DNSQName)
		}
		if !ok {
			return false, 0, ""
		}
		if pf == fKeyword {
			pv = v
		}
	}
	return true, pf, pv
}

// active tells whether t falls in the schedule. Days name the day a window
// starts on: an overnight window (from > to) that starts on Friday also
// covers early Saturday. Times are wall clock in the zone, so a window keeps
// its local hours across DST changes.
func (s *schedSpec) active(t time.Time) bool {
	lt := t.In(s.loc)
	wd := uint(lt.Weekday())
	if s.from < 0 {
		return s.days&(1<<wd) != 0
	}
	h, m, _ := lt.Clock()
	cur := h*60 + m
	if s.from < s.to {
		return s.days&(1<<wd) != 0 && cur >= s.from && cur < s.to
	}
	if cur >= s.from {
		return s.days&(1<<wd) != 0
	}
	if cur < s.to {
		return s.days&(1<<((wd+6)%7)) != 0
	}
	return false
}
