package classify

import (
	"math/bits"
	"net/netip"
	"strconv"
	"time"

	"github.com/weirnet/weir/internal/classify/dnscache"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
)

// Confidence says how a flow's protocol/application was decided.
type Confidence uint8

const (
	ConfUnknown Confidence = iota
	ConfPortGuess
	ConfIPMatch
	ConfDNSCache
	ConfDPI
)

func (c Confidence) String() string {
	switch c {
	case ConfDPI:
		return "dpi"
	case ConfDNSCache:
		return "dns-cache"
	case ConfIPMatch:
		return "ip-match"
	case ConfPortGuess:
		return "port-guess"
	}
	return "unknown"
}

// Result is what the classifier decided for one flow.
type Result struct {
	Meta       dissect.Meta
	Confidence Confidence // of the protocol
	// App is the catalog app id ("facebook"), empty when none; AppConf how
	// it was found.
	App      string
	Category string
	AppConf  Confidence
	// Host is Meta.Host, or the name learned from DNS for the server
	// address (HostConf says which).
	Host string
	// Final: classification is complete (dissection finished).
	Final bool

	// What Why explains beyond the dissector's own reason (Meta.Why). The
	// sentence is put together only when it is read: building it for every
	// flow was a tenth of classification's cost.
	appBy     appEvidence
	learned   string // the name DNS gave for the server address, when used
	doh       bool   // TLS/QUIC renamed DoH
	portGuess portGuessed
	// For a flow no dissector named: the payload packets inspected, and
	// whether a dissector was still undecided when inspection stopped.
	inspected uint16
	undecided bool
}

// HostConf is how Host was found: dpi (the flow carried it), dns-cache (a
// DNS answer seen earlier named the server address), unknown (no host).
func (r *Result) HostConf() Confidence {
	switch {
	case r.Meta.Host != "":
		return ConfDPI
	case r.Host != "":
		return ConfDNSCache
	}
	return ConfUnknown
}

// appendPackets appends "1 payload packet" or "N payload packets".
func appendPackets(b []byte, n uint16) []byte {
	b = strconv.AppendUint(b, uint64(n), 10)
	if n == 1 {
		return append(b, " payload packet"...)
	}
	return append(b, " payload packets"...)
}

// portGuessed says which end's port a port guess came from.
type portGuessed uint8

const (
	guessNone        portGuessed = iota
	guessServerPort              // the server's (the usual case)
	guessFirstSender             // the first sender's, in a flow seen without its SYN
)

// appEvidence is how decideApp named the application.
type appEvidence uint8

const (
	appByProtocol  appEvidence = iota // the protocol named it, or no app
	appByHost                         // the flow's own server name
	appByDNS                          // a name DNS answered for the server address
	appByAddress                      // the server address's published owner
	appByCallRelay                    // DTLS to an owner's address: its calling app (callRelays)
)

// Why is a short human reason for the classification, e.g. "TLS
// ClientHello SNI; host www.facebook.com → facebook".
func (r *Result) Why() string {
	var buf [256]byte
	return string(r.AppendWhy(buf[:0]))
}

// AppendWhy appends Why to b.
func (r *Result) AppendWhy(b []byte) []byte {
	start := len(b)
	b = append(b, r.Meta.Why...)
	if len(r.Meta.Why) == 0 && r.Confidence != ConfDPI {
		// Unknown or port-guessed: say how much was looked at.
		switch {
		case r.inspected == 0:
			b = append(b, "no payload"...)
		case r.undecided:
			b = append(b, "undecided after "...)
			b = appendPackets(b, r.inspected)
		default:
			b = append(b, "no dissector matched "...)
			b = appendPackets(b, r.inspected)
		}
	}
	if r.appBy != appByDNS && r.HostConf() == ConfDNSCache {
		// The host, not the app, came from DNS: say so.
		b = append(sep(b, start), "server address answered for "...)
		b = append(b, r.learned...)
		b = append(b, " in DNS"...)
	}
	switch r.appBy {
	case appByHost:
		b = append(sep(b, start), "host "...)
		b = append(b, r.Meta.Host...)
		b = append(b, " → "...)
		b = append(b, r.App...)
	case appByDNS:
		b = append(sep(b, start), "server address answered for "...)
		b = append(b, r.learned...)
		b = append(b, " in DNS → "...)
		b = append(b, r.App...)
	case appByAddress:
		b = append(sep(b, start), "server address in "...)
		b = append(b, r.App...)
		b = append(b, " prefixes"...)
	case appByCallRelay:
		b = append(sep(b, start), "DTLS to a server address in "...)
		b = append(b, relayOwner(r.App)...)
		b = append(b, " prefixes (its call relays) → "...)
		b = append(b, r.App...)
	}
	if r.doh {
		b = append(sep(b, start), "DNS over HTTPS to a public resolver"...)
	}
	switch r.portGuess {
	case guessServerPort:
		b = append(sep(b, start), "port guess"...)
	case guessFirstSender:
		b = append(sep(b, start), "port guess from the first sender's port (no SYN seen)"...)
	}
	return b
}

// sep appends "; " when b already holds a reason after start.
func sep(b []byte, start int) []byte {
	if len(b) > start {
		return append(b, "; "...)
	}
	return b
}

// Config bounds the classifier.
type Config struct {
	// MaxPayloadPackets is how many payload-carrying packets of a flow are
	// fed to the dissectors before giving up.
	MaxPayloadPackets int
	// MaxDissecting bounds how many flows may hold dissector state at once;
	// flows past it are classified without DPI (counted).
	MaxDissecting int
	// DNSCacheEntries bounds the DNS-learned name table.
	DNSCacheEntries int
	// DissectTimeout ends dissection of a flow this long (packet time)
	// after its first payload packet even if its packet budget is not
	// spent, so a flow that stalls mid-handshake does not hold dissector
	// state until it idles out.
	DissectTimeout time.Duration
	// ClockJump is how far packet time may go back before Sweep takes it
	// for a new time base (as flow.Config.ClockJump): flows whose
	// dissection deadline lies further ahead than DissectTimeout plus
	// this started in the earlier time base, and their dissection ends.
	ClockJump time.Duration
	// EarlyApp decides the application as soon as a dissector identifies
	// the flow, so inline policy can act on the first packets; the
	// decision is made again when dissection ends. Offline inspection
	// reads results only when flows end and leaves it off.
	EarlyApp bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxPayloadPackets: 24, MaxDissecting: 1 << 16, DNSCacheEntries: 1 << 16, DissectTimeout: 10 * time.Second,
		ClockJump: 10 * time.Minute, EarlyApp: true}
}

// Stats counts the classifier's work.
type Stats struct {
	Dissected     uint64 // flows that went through dissection
	ByDPI         uint64
	NoDissector   uint64 // flows that hit MaxDissecting
	DissectorRuns uint64 // Feed calls
}

type phase uint8

const (
	phaseNew phase = iota
	phaseDissecting
	phaseIdentified // a winner is still adding metadata
	phaseDone
)

type state struct {
	gen    uint32 // distinguishes successive flows on one ID
	res    Result
	probes *probes
	cand   uint64 // remaining candidate dissectors, bit i = table[i]
	fed    uint64 // the dissectors the flow was fed to: the ones to reset
	winner int8
	npay   uint16
	npkt   uint16
	phase  phase
	// upgrading: a STUN flow whose DTLS may still follow.
	upgrading bool
}

// Classifier holds per-flow classification state.
type Classifier struct {
	cfg    Config
	states []*[statePage]state
	pool   []*probes
	out    int // probes handed out
	stats  Stats
	pkt    dissect.Packet
	// scratch receives the DTLS dissector's findings while a STUN flow
	// may still turn into DTLS (kept here: on the stack it escapes).
	scratch dissect.Meta
	gen     uint32
	// dissecting lists flows holding dissector state, oldest first, so
	// Sweep can end dissection at DissectTimeout; head is the first live
	// entry.
	dissecting []pendingFlow
	head       int
	apps       Apps
	dns        *dnscache.Cache
}

// Apps maps names and addresses to catalog applications; *catalog.Catalog
// satisfies it through CatalogApps. Both lookups must not allocate.
type Apps interface {
	ByHostName(host string) (app, category string, ok bool)
	ByAddress(a netip.Addr) (app, category string, ok bool)
	ByID(app string) (category string, ok bool)
}

// New returns a classifier.
func New(cfg Config, apps Apps) *Classifier {
	d := DefaultConfig()
	if cfg.MaxPayloadPackets <= 0 {
		cfg.MaxPayloadPackets = d.MaxPayloadPackets
	}
	if cfg.MaxDissecting <= 0 {
		cfg.MaxDissecting = d.MaxDissecting
	}
	if cfg.DNSCacheEntries <= 0 {
		cfg.DNSCacheEntries = d.DNSCacheEntries
	}
	if cfg.DissectTimeout <= 0 {
		cfg.DissectTimeout = d.DissectTimeout
	}
	if cfg.ClockJump <= 0 {
		cfg.ClockJump = d.ClockJump
	}
	return &Classifier{cfg: cfg, apps: apps, dns: dnscache.New(cfg.DNSCacheEntries)}
}

// Stats returns the counters.
func (c *Classifier) Stats() Stats { return c.stats }

// Dissecting is how many flows hold dissector state now (at most
// MaxDissecting).
func (c *Classifier) Dissecting() int { return c.out }

type pendingFlow struct {
	id       flow.ID
	gen      uint32
	deadline int64
}

// statePage is how many flow states one page holds. States live in
// fixed pages so growing never copies them: they are large and hold
// pointers, and copying them under the GC's write barriers was the
// classifier's biggest cost.
const statePage = 1024

func (c *Classifier) state(id flow.ID) *state {
	for int(id)/statePage >= len(c.states) {
		c.states = append(c.states, new([statePage]state))
	}
	return &c.states[int(id)/statePage][int(id)%statePage]
}

// Sweep ends dissection for flows that started more than DissectTimeout
// before now (packet time, ns), or in an earlier time base (ClockJump).
// flowOf returns a live flow by ID.
func (c *Classifier) Sweep(now int64, flowOf func(flow.ID) *flow.Flow) {
	ahead := int64(c.cfg.DissectTimeout + c.cfg.ClockJump)
	for c.head < len(c.dissecting) && (c.dissecting[c.head].deadline <= now || c.dissecting[c.head].deadline-now > ahead) {
		p := c.dissecting[c.head]
		c.head++
		if s := c.state(p.id); s.gen == p.gen && s.probes != nil {
			c.finish(s, flowOf(p.id))
		}
	}
	if c.head > 0 && c.head >= len(c.dissecting)/2 {
		n := copy(c.dissecting, c.dissecting[c.head:])
		c.dissecting = c.dissecting[:n]
		c.head = 0
	}
}

// Result returns the current result for a live flow.
func (c *Classifier) Result(id flow.ID) *Result { return &c.state(id).res }

// Packet feeds one packet of flow f to the classifier.
func (c *Classifier) Packet(id flow.ID, f *flow.Flow, created bool, dir flow.Dir, p *decode.Parsed, ts int64) {
	s := c.state(id)
	if created {
		c.gen++
		*s = state{winner: -1, gen: c.gen}
		c.start(s, f, p)
	}
	if s.phase == phaseDone {
		return
	}
	s.npkt++
	if len(p.Payload) == 0 {
		return
	}
	if s.probes == nil && !c.take(s, f, id, ts) {
		return
	}
	s.npay++
	c.pkt = dissect.Packet{
		Dir:        dissect.Dir(dir),
		L4:         p.Proto,
		ClientPort: f.ClientPort(),
		ServerPort: f.ServerPort(),
		TCPFlags:   p.TCPFlags,
		Seq:        p.TCPSeq,
		Index:      int(s.npkt),
		TS:         ts,
		Payload:    p.Payload,
	}
	c.feed(s, f)
	if s.phase != phaseDone && int(s.npay) >= c.cfg.MaxPayloadPackets {
		c.finish(s, f)
	}
}

// start picks the candidate dissectors for a new flow, or decides it at
// once for protocols named by the IP header alone.
func (c *Classifier) start(s *state, f *flow.Flow, p *decode.Parsed) {
	if proto, why, ok := l3Proto(p.Proto); ok {
		s.res.Meta.Proto = proto
		s.res.Confidence = ConfDPI
		s.res.Meta.Why = why
		s.phase = phaseDone
		c.finish(s, f)
		return
	}
	s.cand = candidates(p.Proto)
	if s.cand == 0 {
		s.phase = phaseDone
		c.finish(s, f)
		return
	}
	s.phase = phaseDissecting
}

// take gives a dissecting flow its dissectors at its first payload packet,
// and starts its DissectTimeout then: a handshake that took longer than
// that (SYN retries over a lossy path) must still be dissected, and flows
// that never carry payload (scans, refused connections) hold nothing. It
// reports false when MaxDissecting flows already hold dissectors; the flow
// is then decided without them.
func (c *Classifier) take(s *state, f *flow.Flow, id flow.ID, ts int64) bool {
	if c.out >= c.cfg.MaxDissecting {
		c.stats.NoDissector++
		c.finish(s, f)
		return false
	}
	s.probes = c.getProbes()
	c.stats.Dissected++
	c.dissecting = append(c.dissecting, pendingFlow{id, s.gen, ts + int64(c.cfg.DissectTimeout)})
	return true
}

func (c *Classifier) feed(s *state, f *flow.Flow) {
	m := &s.res.Meta
	if s.phase == phaseIdentified {
		if s.upgrading && c.upgrade(s) {
			return
		}
		d := table[s.winner].get(s.probes)
		c.stats.DissectorRuns++
		switch d.Feed(&c.pkt, m) {
		case dissect.Done, dissect.NotMine:
			if !s.upgrading {
				c.finish(s, f)
			}
		}
		return
	}
	for rows := s.cand; rows != 0; rows &= rows - 1 {
		i := bits.TrailingZeros64(rows)
		bit := uint64(1) << i
		d := table[i].get(s.probes)
		c.stats.DissectorRuns++
		s.fed |= bit
		switch d.Feed(&c.pkt, m) {
		case dissect.Continue:
			continue
		case dissect.NotMine:
			s.cand &^= bit
			// A dissector that gave up must not leave half-filled fields.
			*m = dissect.Meta{}
			continue
		case dissect.Identified:
			s.winner = int8(i)
			s.cand = bit
			if i == stunRow {
				// WebRTC multiplexes STUN and DTLS on one flow (RFC
				// 7983); the DTLS that follows names the flow.
				s.upgrading = true
				s.fed |= 1 << dtlsRow // upgrade feeds it: it must be reset too
			}
			s.phase = phaseIdentified
			s.res.Confidence = ConfDPI
			c.stats.ByDPI++
			if c.cfg.EarlyApp {
				c.decideApp(s, f)
			}
			return
		case dissect.Done:
			s.winner = int8(i)
			s.cand = bit
			s.res.Confidence = ConfDPI
			c.stats.ByDPI++
			c.finish(s, f)
			return
		}
	}
	if s.cand == 0 {
		c.finish(s, f)
	}
}

// upgrade feeds the DTLS dissector of a STUN-identified flow; when it
// recognises DTLS, the flow becomes DTLS. It reports whether it did.
func (c *Classifier) upgrade(s *state) bool {
	scratch := &c.scratch
	*scratch = dissect.Meta{}
	switch table[dtlsRow].get(s.probes).Feed(&c.pkt, scratch) {
	case dissect.Identified, dissect.Done:
		m := &s.res.Meta
		scratch.AppHint = m.AppHint
		if scratch.Host == "" {
			scratch.Host = m.Host
		}
		scratch.Why = "DTLS after STUN (RFC 7983 multiplexing)"
		*m = *scratch
		s.winner = dtlsRow
		s.cand = 1 << dtlsRow
		s.upgrading = false
		return true
	case dissect.NotMine:
		s.upgrading = false
	}
	return false
}

// finish stops dissection and decides the application.
func (c *Classifier) finish(s *state, f *flow.Flow) {
	s.phase = phaseDone
	if f != nil {
		f.Settled = true
	}
	c.putProbes(s)
	if s.res.Final {
		return
	}
	s.res.Final = true
	s.res.inspected, s.res.undecided = s.npay, s.winner < 0 && s.cand != 0
	c.decideApp(s, f)
}

// End finalises the flow's result as the flow leaves the table.
func (c *Classifier) End(id flow.ID, f *flow.Flow) *Result {
	s := c.state(id)
	c.finish(s, f)
	return &s.res
}

// Release forgets a flow's state so its ID can be reused.
func (c *Classifier) Release(id flow.ID) {
	s := c.state(id)
	c.putProbes(s)
	*s = state{}
}

func (c *Classifier) getProbes() *probes {
	c.out++
	if n := len(c.pool); n > 0 {
		p := c.pool[n-1]
		c.pool = c.pool[:n-1]
		return p
	}
	// Allocate in chunks: one small object per flow with ~3 KB of
	// pointer-bearing dissectors cost more to set up than to dissect.
	chunk := make([]probes, probesChunk)
	for i := range chunk[1:] {
		c.pool = append(c.pool, &chunk[1+i])
	}
	return &chunk[0]
}

// probesChunk is how many probes one allocation provides.
const probesChunk = 64

func (c *Classifier) putProbes(s *state) {
	if s.probes == nil {
		return
	}
	s.probes.reset(s.fed)
	c.pool = append(c.pool, s.probes)
	s.probes = nil
	c.out--
}

// l3Proto names flows decided by the IP protocol number alone.
func l3Proto(proto uint8) (dissect.Proto, string, bool) {
	switch proto {
	case 1:
		return dissect.ICMP, "IP protocol ICMP", true
	case 58:
		return dissect.ICMPv6, "IP protocol ICMPv6", true
	case 2:
		return dissect.IGMP, "IP protocol IGMP", true
	case 50, 51:
		return dissect.IPSec, "IP protocol IPSec", true
	}
	return dissect.Unknown, "", false
}
