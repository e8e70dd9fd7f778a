package policy

// Reach is what one rule (or the default) would hit during a dry run.
type Reach struct {
	Rule  string         // rule name, "default" for the default
	Flows int            // flows decided by this rule
	Hosts map[string]int // distinct host names -> flows
}

// DryRun accumulates per-rule reach for `weir policy test`. It is not safe
// for concurrent use and allocates freely; it is not on the datapath.
type DryRun struct {
	p     *Policy
	reach []Reach // one per rule, then the default
}

// NewDryRun starts an empty tally over p.
func NewDryRun(p *Policy) *DryRun {
	d := &DryRun{p: p, reach: make([]Reach, len(p.rules)+1)}
	for i := range p.rules {
		d.reach[i].Rule = p.rules[i].name
	}
	d.reach[len(p.rules)].Rule = "default"
	return d
}

// Tally evaluates in and counts it against the deciding rule. The host
// recorded is the first non-empty of Host, SNI and DNSQName.
func (d *DryRun) Tally(in *Input) (Verdict, Why) {
	v, why := d.p.Evaluate(in)
	i := why.Rule
	if i < 0 {
		i = len(d.p.rules)
	}
	r := &d.reach[i]
	r.Flows++
	h := in.Host
	if h == "" {
		h = in.SNI
	}
	if h == "" {
		h = in.DNSQName
	}
	if h != "" {
		if r.Hosts == nil {
			r.Hosts = map[string]int{}
		}
		r.Hosts[h]++
	}
	return v, why
}

// Reach returns the tally so far: one entry per rule in order, then the
// default. The maps are the DryRun's own; do not keep tallying while
// reading them.
func (d *DryRun) Reach() []Reach { return d.reach }
