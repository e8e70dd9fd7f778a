package catalog

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/gaissmai/bart"
	"gopkg.in/yaml.v3"

	"github.com/weirnet/weir/internal/domainset"
)

//go:embed apps.yaml
var appsYAML []byte

// AppID is an application's index in its Catalog: 1..Len in file order.
// The zero AppID means "no application".
type AppID uint16

// App is one application record.
type App struct {
	Num      AppID
	ID       string // lower-case key, e.g. "facebook"
	Name     string // display name, e.g. "Facebook"
	Category Category
	Domains  []string // patterns as written (normalised), see package domainset
	Prefixes []netip.Prefix
	NDPI     []string
}

// Catalog is an immutable, compiled application catalog.
type Catalog struct {
	apps  []App // apps[0] is the zero App, so apps[id] needs no arithmetic
	byKey map[string]AppID
	hosts *domainset.Set
	addrs *bart.Table[AppID]
	ndpi  map[string]AppID
}

var loadOnce = sync.OnceValues(func() (*Catalog, error) { return Parse(appsYAML) })

// Load returns the catalog embedded in the binary. It is parsed once; every
// call returns the same immutable *Catalog.
func Load() (*Catalog, error) { return loadOnce() }

// Len reports the number of apps.
func (c *Catalog) Len() int { return len(c.apps) - 1 }

// App returns the app with the given lower-case id.
func (c *Catalog) App(id string) (App, bool) {
	n, ok := c.byKey[id]
	if !ok {
		return App{}, false
	}
	return c.apps[n], true
}

// AppByID returns the app record for id; false for 0 or an id out of range.
func (c *Catalog) AppByID(id AppID) (App, bool) {
	if id == 0 || int(id) >= len(c.apps) {
		return App{}, false
	}
	return c.apps[id], true
}

// Apps returns all apps in file order (a fresh slice; the records share
// their inner slices with the Catalog).
func (c *Catalog) Apps() []App {
	return append([]App(nil), c.apps[1:]...)
}

// Categories returns the names of the closed category set in a fixed order.
func (c *Catalog) Categories() []string { return CategoryNames() }

// ByHost returns the app owning the most specific domain pattern matching
// host (case-insensitive, one trailing dot allowed).
func (c *Catalog) ByHost(host string) (AppID, bool) {
	v, ok := c.hosts.Longest(host)
	return AppID(v), ok
}

// ByAddr returns the app owning the longest prefix containing addr.
// IPv4-mapped IPv6 addresses are looked up as IPv4.
func (c *Catalog) ByAddr(addr netip.Addr) (AppID, bool) {
	if !addr.IsValid() {
		return 0, false
	}
	return c.addrs.Lookup(addr.Unmap())
}

// ByNDPIName returns the app whose ndpi list holds name (exact match).
func (c *Catalog) ByNDPIName(name string) (AppID, bool) {
	id, ok := c.ndpi[name]
	return id, ok
}

var (
	errSyntax      = errors.New("bad YAML")
	errShape       = errors.New("unexpected structure")
	errUnknownKey  = errors.New("unknown key")
	errDupKey      = errors.New("duplicate key")
	errMissing     = errors.New("missing required key")
	errBadID       = errors.New("bad id")
	errDupID       = errors.New("duplicate id")
	errBadName     = errors.New("bad name")
	errCategory    = errors.New("unknown category")
	errBadDomain   = errors.New("bad domain")
	errDupDomain   = errors.New("duplicate domain")
	errBadCIDR     = errors.New("bad CIDR")
	errDupCIDR     = errors.New("duplicate CIDR")
	errBadNDPI     = errors.New("bad ndpi name")
	errDupNDPI     = errors.New("duplicate ndpi name")
	errTooManyApps = errors.New("too many apps")
)

// ParseError is a bad catalog entry with its position in the YAML text.
type ParseError struct {
	Line, Col int // 1-based; 0 when unknown
	Err       error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("catalog: %d:%d: %v", e.Line, e.Col, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

var _ error = (*ParseError)(nil)

func errAt(n *yaml.Node, base error, format string, args ...any) error {
	err := base
	if format != "" {
		err = fmt.Errorf("%w: "+format, append([]any{base}, args...)...)
	}
	return &ParseError{Line: n.Line, Col: n.Column, Err: err}
}

// Parse compiles a catalog from YAML text (see the package doc for the shape).
func Parse(text []byte) (*Catalog, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		return nil, &ParseError{Line: yamlErrLine(err), Err: fmt.Errorf("%w: %v", errSyntax, err)}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &ParseError{Line: 1, Col: 1, Err: fmt.Errorf("%w: empty document", errShape)}
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errAt(top, errShape, "want a mapping with key apps")
	}
	var appsNode *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value != "apps" {
			return nil, errAt(k, errUnknownKey, "%q (want apps)", k.Value)
		}
		if appsNode != nil {
			return nil, errAt(k, errDupKey, "apps")
		}
		appsNode = v
	}
	if appsNode == nil {
		return nil, errAt(top, errMissing, "apps")
	}
	if appsNode.Kind != yaml.SequenceNode {
		return nil, errAt(appsNode, errShape, "apps must be a list")
	}
	if len(appsNode.Content) > 0xfffe {
		return nil, errAt(appsNode, errTooManyApps, "%d", len(appsNode.Content))
	}
	p := parser{
		c: &Catalog{
			apps:  make([]App, 1, len(appsNode.Content)+1),
			byKey: make(map[string]AppID),
			ndpi:  make(map[string]AppID),
			addrs: new(bart.Table[AppID]),
		},
		domains:  make(map[string]int),
		prefixes: make(map[netip.Prefix]int),
	}
	for _, n := range appsNode.Content {
		if err := p.app(n); err != nil {
			return nil, err
		}
	}
	p.c.hosts = p.hb.Build()
	return p.c, nil
}

type parser struct {
	c        *Catalog
	hb       domainset.Builder
	domains  map[string]int // normalised pattern -> app index, for duplicates
	prefixes map[netip.Prefix]int
}

func (p *parser) app(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, errShape, "each app must be a mapping")
	}
	num := AppID(len(p.c.apps))
	a := App{Num: num}
	seen := map[string]bool{}
	var domains, ips, ndpi *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return errAt(k, errDupKey, "%q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "id":
			s, err := scalar(v)
			if err != nil {
				return err
			}
			if !validID(s) {
				return errAt(v, errBadID, "%q (want [a-z0-9][a-z0-9_-]*, at most 32 bytes)", s)
			}
			if _, dup := p.c.byKey[s]; dup {
				return errAt(v, errDupID, "%q", s)
			}
			a.ID = s
		case "name":
			s, err := scalar(v)
			if err != nil {
				return err
			}
			if s == "" || len(s) > 64 {
				return errAt(v, errBadName, "%q (want 1..64 bytes)", s)
			}
			a.Name = s
		case "category":
			s, err := scalar(v)
			if err != nil {
				return err
			}
			cat, ok := ParseCategory(s)
			if !ok {
				return errAt(v, errCategory, "%q", s)
			}
			a.Category = cat
		case "domains":
			domains = v
		case "ips":
			ips = v
		case "ndpi":
			ndpi = v
		default:
			return errAt(k, errUnknownKey, "%q (want id, name, category, domains, ips, ndpi)", k.Value)
		}
	}
	for _, req := range []string{"id", "name", "category"} {
		if !seen[req] {
			return errAt(n, errMissing, "%s", req)
		}
	}
	// Validate lists before mutating shared state so a failed app leaves
	// nothing half-added (Parse fails as a whole anyway; this keeps errors
	// about the app's own key order predictable).
	ds, err := list(domains)
	if err != nil {
		return err
	}
	for _, d := range ds {
		var b domainset.Builder
		if err := b.Add(d.Value, 0); err != nil {
			return errAt(d, errBadDomain, "%v", errors.Unwrap(err))
		}
		norm := normPattern(d.Value)
		if prev, dup := p.domains[norm]; dup {
			return errAt(d, errDupDomain, "%q already belongs to %q", d.Value, p.owner(prev, &a))
		}
		p.domains[norm] = int(num)
		_ = p.hb.Add(d.Value, int32(num))
		a.Domains = append(a.Domains, norm)
	}
	is, err := list(ips)
	if err != nil {
		return err
	}
	for _, in := range is {
		pfx, err := netip.ParsePrefix(in.Value)
		if err != nil {
			return errAt(in, errBadCIDR, "%q", in.Value)
		}
		if pfx.Masked() != pfx {
			return errAt(in, errBadCIDR, "%q has host bits set (want %v)", in.Value, pfx.Masked())
		}
		if prev, dup := p.prefixes[pfx]; dup {
			return errAt(in, errDupCIDR, "%v already belongs to %q", pfx, p.owner(prev, &a))
		}
		p.prefixes[pfx] = int(num)
		p.c.addrs.Insert(pfx, num)
		a.Prefixes = append(a.Prefixes, pfx)
	}
	ns, err := list(ndpi)
	if err != nil {
		return err
	}
	for _, nn := range ns {
		if !validNDPI(nn.Value) {
			return errAt(nn, errBadNDPI, "%q", nn.Value)
		}
		if prev, dup := p.c.ndpi[nn.Value]; dup {
			return errAt(nn, errDupNDPI, "%q already belongs to %q", nn.Value, p.owner(int(prev), &a))
		}
		p.c.ndpi[nn.Value] = num
		a.NDPI = append(a.NDPI, nn.Value)
	}
	p.c.byKey[a.ID] = num
	p.c.apps = append(p.c.apps, a)
	return nil
}

// owner names the app holding a duplicated entry; prev may be the app being
// parsed (a repeat within one app), which is not in p.c.apps yet.
func (p *parser) owner(prev int, cur *App) string {
	if prev == int(cur.Num) {
		return cur.ID
	}
	return p.c.apps[prev].ID
}

// yamlErrLine digs the line number out of a yaml.v3 syntax error
// ("yaml: line 4: did not find expected key"); 0 when it has none.
func yamlErrLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range msg[i+5:] {
		if c < '0' || c > '9' || n > 1e8 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", errAt(v, errShape, "want a single value")
	}
	return v.Value, nil
}

// list returns the scalar items of a YAML list (nil node: empty).
func list(v *yaml.Node) ([]*yaml.Node, error) {
	if v == nil {
		return nil, nil
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v, errShape, "want a list")
	}
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, errAt(it, errShape, "list items must be single values")
		}
	}
	return v.Content, nil
}

// normPattern returns the pattern's canonical spelling; it is called only
// after domainset accepted the pattern.
func normPattern(p string) string {
	prefix := ""
	switch {
	case len(p) > 0 && p[0] == '=':
		prefix, p = "=", p[1:]
	case len(p) > 1 && p[:2] == "*.":
		prefix, p = "*.", p[2:]
	}
	n, _ := domainset.Normalize(p)
	return prefix + n
}

func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validNDPI accepts nDPI's protocol names: letters, digits, '_', '-', '.'.
func validNDPI(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// HasApp reports whether id is a catalog application (policy validation).
func (c *Catalog) HasApp(id string) bool { _, ok := c.byKey[id]; return ok }

// HasCategory reports whether name is one of the catalog's categories.
func (c *Catalog) HasCategory(name string) bool { _, ok := ParseCategory(name); return ok }

// AppNames returns every application id in file order.
func (c *Catalog) AppNames() []string {
	out := make([]string, 0, len(c.apps)-1)
	for _, a := range c.apps[1:] {
		out = append(out, a.ID)
	}
	return out
}
