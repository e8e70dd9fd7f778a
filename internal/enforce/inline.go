package enforce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/florianl/go-nfqueue/v2"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dns"
	"github.com/weirnet/weir/internal/enforce/inject"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/policy"
	"github.com/weirnet/weir/internal/record"
)

// Config configures the inline datapath.
type Config struct {
	Queue      uint16
	FailClosed bool // without Weir listening, queued traffic is dropped instead of passed
	IPv6       bool // also install ip6tables rules
	// ShapeDevs are the devices whose egress is shaped for throttle rules.
	ShapeDevs []string
	// DecideAfter is how many packets (both directions) of a flow go to
	// user space before it is decided with whatever the classifier knows
	// by then; from its decision on, the kernel handles the flow alone.
	DecideAfter uint64
	// SetTimeout is how long a decided flow stays in the kernel's sets
	// without being refreshed (Rules.SetTimeout).
	SetTimeout time.Duration
	// Engine.Flow.ActiveTimeout makes long flows emit interim records;
	// the flow keeps its classification and verdict.
	Engine engine.Config
	Logf   func(format string, args ...any)
	// Now is the clock for schedules (tests inject one).
	Now func() time.Time
}

// DefaultConfig returns the defaults for weir run.
func DefaultConfig() Config {
	ec := engine.DefaultConfig()
	ec.Flow.ActiveTimeout = 5 * time.Minute
	return Config{DecideAfter: 12, SetTimeout: DefaultSetTimeout, Engine: ec, IPv6: true}
}

// Deps are the components the datapath uses.
type Deps struct {
	Policy     *policy.Holder
	Classifier *classify.Classifier
	Records    record.Sink      // ended flows, may be nil
	Events     record.EventSink // enforcement actions, may be nil
	Sender     Sender           // sends injected packets; nil = raw sockets
	// Observe and ObserveDecision, when set, receive each queued packet's
	// verdict and decision latency (Stats.Latency, Stats.Decision).
	Observe, ObserveDecision func(time.Duration)
}

// Sender sends raw IP packets (injected notices and resets).
type Sender interface {
	Send(pkt []byte) error
}

// flowVerdict is what Weir decided for one flow; indexed by flow.ID.
type flowVerdict struct {
	decided   bool
	verdict   policy.Verdict
	mark      uint32
	rule      string
	shapeKey  string // per-flow throttle class to release at the end
	published int64  // when the flow's set elements were last written (ns)
}

// republishAfter: a decided flow whose packets still reach the queue this
// long after its elements were written has outlived them (Rules.SetTimeout)
// and is written again; packets in the first moments are just ahead of
// the writer.
const republishAfter = time.Second

// Stats count the datapath's work.
type Stats struct {
	Queued, Accepted, Decided, Enforced, Injected, InjectErrors, VerdictErrors uint64
	SetsBacklogged                                                             uint64 // flows not published to the sets (writer queue full)
	// Decision is Weir's user-space time per queued packet: from the
	// queue callback's entry to the verdict being ready (decode, flow,
	// classification, policy, notices). Latency runs until the verdict
	// has been sent, which includes the kernel re-injecting the packet and
	// forwarding it inside that send (tens to hundreds of µs here).
	Decision, Latency LatencyHist
}

// Inline is the NFQUEUE datapath. Use New, Start, Stop.
type Inline struct {
	cfg    Config
	deps   Deps
	rules  Rules
	shaper *Shaper
	nfq    *nfqueue.Nfqueue
	cancel context.CancelFunc

	mu       sync.Mutex // guards the engine and verdict state (one callback goroutine; Stats readers)
	eng      *engine.Engine
	verdicts []flowVerdict
	rec      record.Record
	in       policy.Input
	dnsInfo  dissect.DNSInfo
	icmp     *inject.Limiter
	sets     *setWriter
	// counters reads the sets' per-element counters (counters.go).
	countersMu sync.Mutex
	counters   *counterReader
	stopping   atomic.Bool
	stats      Stats
}

// New builds the datapath; nothing is installed until Start.
func New(cfg Config, deps Deps) (*Inline, error) {
	if deps.Policy == nil || deps.Policy.Load() == nil {
		return nil, errors.New("enforce: no policy")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DecideAfter == 0 {
		cfg.DecideAfter = 12
	}
	if cfg.SetTimeout <= 0 {
		cfg.SetTimeout = DefaultSetTimeout
	}
	fc, fd := cfg.Engine.Flow, flow.DefaultConfig() // zero timeouts take the table's defaults
	if idle := min(cmp.Or(fc.TCPIdle, fd.TCPIdle), cmp.Or(fc.UDPIdle, fd.UDPIdle)); cfg.SetTimeout >= idle {
		return nil, fmt.Errorf("enforce: set timeout %v must be shorter than the flow idle timeouts (%v): Weir must still know a flow when its set element expires", cfg.SetTimeout, idle)
	}
	x := &Inline{cfg: cfg, deps: deps, icmp: inject.NewLimiter(10, 20, 4096)}
	x.rules = Rules{Queue: cfg.Queue, FailClosed: cfg.FailClosed, IPv6: cfg.IPv6, SetTimeout: cfg.SetTimeout}
	x.sets = newSetWriter(cfg.Logf)
	var err error
	x.eng, err = engine.New(cfg.Engine, deps.Classifier, x.flowEnded)
	if err != nil {
		return nil, err
	}
	if x.deps.Sender == nil {
		s, err := inject.NewSender(markAllow)
		if err != nil {
			return nil, fmt.Errorf("enforce: unable to open raw sockets for notices: %w", err)
		}
		x.deps.Sender = s
	}
	return x, nil
}

// Start installs the netfilter rules and starts answering the queue.
func (x *Inline) Start(ctx context.Context) error {
	if hasThrottle(x.deps.Policy.Load()) {
		if len(x.cfg.ShapeDevs) == 0 {
			return errors.New("enforce: the policy throttles but no device to shape was given (use --shape DEV,...)")
		}
		s, err := NewShaper(x.cfg.ShapeDevs, x.cfg.IPv6)
		if err != nil {
			return err
		}
		x.shaper = s
	}
	var flags uint32
	if !x.cfg.FailClosed {
		// A full queue accepts instead of dropping: a burst must not cost
		// packets (fail-open, as when Weir is not there at all).
		flags = nfqueue.NfQaCfgFlagFailOpen
	}
	nfq, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      x.cfg.Queue,
		MaxPacketLen: 0xffff,
		MaxQueueLen:  8192,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        flags,
		WriteTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		x.closeShaper()
		return fmt.Errorf("enforce: open NFQUEUE %d: %w", x.cfg.Queue, err)
	}
	x.nfq = nfq
	// Packets of a just-decided flow keep arriving until its set element
	// is published; a large socket buffer absorbs that burst.
	if err := nfq.Con.SetReadBuffer(16 << 20); err != nil {
		x.cfg.Logf("enforce: NFQUEUE socket buffer: %v", err)
	}
	ctx, x.cancel = context.WithCancel(ctx)
	if err := nfq.RegisterWithErrorFunc(ctx, x.handle, x.handleErr); err != nil {
		nfq.Close()
		x.closeShaper()
		return fmt.Errorf("enforce: register on NFQUEUE %d: %w", x.cfg.Queue, err)
	}
	// The queue listens before the rules send anything to it.
	if err := x.rules.Install(); err != nil {
		x.cancel()
		nfq.Close()
		x.closeShaper()
		return err
	}
	go x.expireLoop(ctx)
	go x.sets.run(ctx)
	if x.counters, err = newCounterReader(x.cfg.SetTimeout); err != nil {
		x.cfg.Logf("enforce: nftables netlink: %v; records will count only the packets Weir sees", err)
	} else {
		go x.countersLoop(ctx)
	}
	return nil
}

// countersLoop credits what the kernel forwarded from the sets to Weir's
// flows every countersEvery, or less often when a read is slow: a read
// costs ~0.9 µs per element (BenchmarkCounterRead: 18 ms for 20,000), and
// waiting 40 reads' time keeps it near 2% of a CPU, up to a quarter of the
// set timeout, the longest wait that still renews busy elements in time.
func (x *Inline) countersLoop(ctx context.Context) {
	base := x.countersEvery()
	wait := base
	var logged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		err := x.creditCounters(2 * wait) // renew what would expire before the read after next
		took := time.Since(start)
		wait = max(base, min(40*took, x.cfg.SetTimeout/4))
		// A table removed from outside fails every read: say so once a
		// minute, not every few seconds.
		if err != nil && ctx.Err() == nil && start.Sub(logged) >= time.Minute {
			x.cfg.Logf("enforce: read set counters: %v", err)
			logged = start
		}
	}
}

func (x *Inline) countersEvery() time.Duration { return min(countersEvery, x.cfg.SetTimeout/4) }

// creditCounters reads the sets' counters and adds what they carried since
// the last read to the flows. The dump runs without the datapath lock.
func (x *Inline) creditCounters(renew time.Duration) error {
	x.countersMu.Lock()
	defer x.countersMu.Unlock()
	if x.counters == nil {
		return nil
	}
	deltas, err := x.counters.read(renew)
	now := time.Now().UnixNano()
	x.mu.Lock()
	t := x.eng.Table()
	for i := range deltas {
		d := &deltas[i]
		t.Credit(&d.p, d.packets, d.bytes, now)
	}
	x.mu.Unlock()
	return err
}

func hasThrottle(p *policy.Policy) bool {
	for _, r := range p.Rules() {
		if r.Action == policy.Throttle {
			return true
		}
	}
	return false
}

// Stop removes the rules, stops the queue and flushes the remaining flows.
func (x *Inline) Stop() error {
	x.stopping.Store(true)
	if err := x.creditCounters(0); err != nil { // the last counts, before the sets go
		x.cfg.Logf("enforce: read set counters: %v", err)
	}
	err := x.rules.Remove()
	if x.cancel != nil {
		x.cancel()
	}
	if x.nfq != nil {
		x.nfq.Close()
	}
	x.mu.Lock()
	x.eng.Flush()
	x.mu.Unlock()
	x.closeShaper()
	x.countersMu.Lock()
	if x.counters != nil {
		x.counters.close()
		x.counters = nil
	}
	x.countersMu.Unlock()
	return err
}

func (x *Inline) closeShaper() {
	if x.shaper != nil {
		x.shaper.Close()
		x.shaper = nil
	}
}

// Stats returns a snapshot of the counters.
func (x *Inline) Stats() (Stats, engine.Stats) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.stats
	s.SetsBacklogged = x.sets.dropped
	return s, x.eng.Stats()
}

func (x *Inline) expireLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			x.mu.Lock()
			x.eng.Expire(now.UnixNano())
			x.mu.Unlock()
		}
	}
}

func (x *Inline) handleErr(err error) int {
	if ctx := x.cancel; ctx == nil || x.stopping.Load() {
		return 1 // the socket closing under the reader at Stop is no error
	}
	x.cfg.Logf("enforce: nfqueue: %v", err)
	return 0 // keep reading: a burst that overflowed the socket is not fatal
}

// handle answers one queued packet.
func (x *Inline) handle(a nfqueue.Attribute) int {
	start := time.Now()
	if a.PacketID == nil || a.Payload == nil {
		return 0
	}
	id := *a.PacketID
	x.mu.Lock()
	verdict, mark := x.decidePacket(*a.Payload, start)
	decision := time.Since(start)
	x.stats.Decision.Add(decision)
	x.mu.Unlock()
	var err error
	if mark != 0 {
		err = x.nfq.SetVerdictWithOption(id, verdict, nfqueue.WithMark(mark))
	} else {
		err = x.nfq.SetVerdict(id, verdict)
	}
	lat := time.Since(start)
	x.mu.Lock()
	if err != nil {
		x.stats.VerdictErrors++
	}
	x.stats.Latency.Add(lat)
	x.mu.Unlock()
	if x.deps.Observe != nil {
		x.deps.Observe(lat)
	}
	if x.deps.ObserveDecision != nil {
		x.deps.ObserveDecision(decision)
	}
	return 0
}

// decidePacket runs the engine on one packet and returns the NFQUEUE
// verdict and the mark to set (0: none).
func (x *Inline) decidePacket(payload []byte, now time.Time) (int, uint32) {
	x.stats.Queued++
	pkt := capture.Packet{Data: payload, WireLen: len(payload), TS: now.UnixNano(), LinkType: capture.LinkRaw}
	seen := x.eng.Process(&pkt)
	if seen == nil {
		x.stats.Accepted++
		return nfqueue.NfAccept, 0
	}
	v := x.verdictState(seen.ID)
	if seen.Class != nil && isDNS(seen) {
		// DNS is decided per query: one socket may ask for many names.
		return x.dnsQuery(seen, payload, now)
	}
	if !v.decided {
		if !x.ready(seen) {
			x.stats.Accepted++
			return nfqueue.NfAccept, 0
		}
		x.decide(seen, v, payload, now)
	}
	if t := now.UnixNano(); t-v.published >= int64(republishAfter) {
		x.sets.add(seen.Flow, v.mark)
		v.published = t
	}
	// Later packets meet the flow in the nftables sets; until the set
	// writer has published it, they come here and get the same answer.
	if v.mark == markDrop {
		return nfqueue.NfDrop, 0
	}
	return nfqueue.NfAccept, v.mark
}

func (x *Inline) verdictState(id flow.ID) *flowVerdict {
	for int(id) >= len(x.verdicts) {
		x.verdicts = append(x.verdicts, flowVerdict{})
		x.verdicts = x.verdicts[:cap(x.verdicts)]
	}
	return &x.verdicts[id]
}

// ready: the classifier knows enough to apply the policy.
func (x *Inline) ready(s *engine.Seen) bool {
	r := s.Class
	if r == nil || r.Final {
		return true
	}
	// Identified, with a name or an app from the flow itself. A name
	// learned from DNS for the server address is not enough yet: the
	// flow's own SNI (a QUIC ClientHello spanning two Initials, a TLS
	// hello in several segments) may still come and must win.
	if r.Confidence == classify.ConfDPI && (r.Meta.Host != "" || r.AppConf == classify.ConfDPI) {
		return true
	}
	f := s.Flow
	return f.Side[0].Packets+f.Side[1].Packets >= x.cfg.DecideAfter
}

func isDNS(s *engine.Seen) bool {
	p := s.Class.Meta.Proto
	return (p == dissect.DNS) && s.Dir == flow.FromClient && len(s.Parsed.Payload) > 0
}

// decide evaluates the policy for the flow and carries out the action on
// the deciding packet.
func (x *Inline) decide(s *engine.Seen, v *flowVerdict, payload []byte, now time.Time) {
	pol := x.deps.Policy.Load()
	x.in.Time = x.cfg.Now()
	policy.FlowInput(&x.in, s.Flow, s.Class)
	verdict, why := pol.Evaluate(&x.in)
	x.stats.Decided++
	v.decided, v.verdict, v.rule = true, verdict, why.Name
	switch verdict {
	case policy.Allow:
		v.mark = markAllow
		return
	case policy.Throttle:
		v.mark = x.throttleMark(pol, why, s)
		x.event(s, v, "none", now)
		return
	}
	v.mark = markDrop
	notice := "none"
	if verdict != policy.Drop {
		notice = x.announce(s, verdict, why.Name, pol.Notice(), payload)
	}
	x.event(s, v, notice, now)
}

// announce sends the notice for a block or reset and names it.
func (x *Inline) announce(s *engine.Seen, verdict policy.Verdict, rule, notice string, payload []byte) string {
	p := s.Parsed
	host := ""
	if s.Class != nil {
		host = s.Class.Host
	}
	switch {
	case verdict == policy.Block && p.Proto == 6 && s.Class != nil && isHTTP(s.Class.Meta.Proto) &&
		s.Dir == flow.FromClient && len(p.Payload) > 0:
		toClient, _ := inject.HTTPBlock(payload, p, rule, notice, host)
		if toClient != nil {
			for _, seg := range toClient {
				x.send(seg)
			}
			// The request is dropped, so the server still expects its
			// first byte: reset it at that sequence number.
			_, toServer := x.resetUndelivered(payload, p, rule, notice)
			x.send(toServer)
			return "http-451"
		}
		fallthrough
	case p.Proto == 6:
		toA, toB := x.resetUndelivered(payload, p, rule, notice)
		if toA == nil {
			return "none"
		}
		x.send(toA)
		x.send(toB)
		return "tcp-reset"
	default:
		if !x.icmp.Allow(s.Flow.Key.Addr(s.Flow.ClientIsLo), time.Now()) {
			return "icmp-rate-limited"
		}
		if pkt := inject.ICMPProhibited(payload, p, netip.Addr{}); pkt != nil {
			x.send(pkt)
			return "icmp-prohibited"
		}
		return "none"
	}
}

// resetUndelivered builds the two resets for a segment Weir drops: the
// receiver never saw its payload, so its RST must carry the segment's own
// sequence number (RFC 5961 3.2 would otherwise answer a challenge ACK).
func (x *Inline) resetUndelivered(payload []byte, p *decode.Parsed, rule, notice string) (toSender, toReceiver []byte) {
	q := *p
	q.Payload = nil
	if q.TCPFlags&0x03 != 0 { // SYN or FIN occupy a sequence number
		q.TCPFlags &^= 0x03
	}
	return inject.TCPReset(payload, &q, rule, notice)
}

func isHTTP(p dissect.Proto) bool {
	return p == dissect.HTTP || p == dissect.HTTPProxy || p == dissect.HTTPConnect
}

// dnsQuery evaluates one DNS query on its own and answers blocked ones.
func (x *Inline) dnsQuery(s *engine.Seen, payload []byte, now time.Time) (int, uint32) {
	msg := s.Parsed.Payload
	if s.Parsed.Proto == 6 {
		if len(msg) < 2 {
			return nfqueue.NfAccept, 0
		}
		msg = msg[2:]
	}
	x.dnsInfo = dissect.DNSInfo{}
	qname, err := dns.Parse(msg, &x.dnsInfo)
	if err != nil || qname == "" {
		x.stats.Accepted++
		return nfqueue.NfAccept, 0
	}
	pol := x.deps.Policy.Load()
	x.in.Time = x.cfg.Now()
	policy.FlowInput(&x.in, s.Flow, s.Class)
	x.in.Host, x.in.DNSQName, x.in.SNI = qname, qname, ""
	verdict, why := pol.Evaluate(&x.in)
	x.stats.Decided++
	if verdict == policy.Allow || verdict == policy.Throttle {
		x.stats.Accepted++
		return nfqueue.NfAccept, 0
	}
	v := flowVerdict{decided: true, verdict: verdict, rule: why.Name}
	notice := "none"
	if verdict != policy.Drop {
		d := pol.DNS()
		ans := inject.DNSAnswer{TTL: d.TTL}
		if d.BlockAnswer == policy.AnswerSinkhole {
			ans.A, ans.AAAA = d.SinkholeA, d.SinkholeAAAA
		}
		ede := d.EDE
		if ede == 0 {
			ede = 15
		}
		if resp, err := inject.DNSBlock(payload, s.Parsed, why.Name, pol.Notice(), ede, ans); err == nil {
			x.send(resp)
			notice = "dns-ede"
		}
	}
	r := *s.Class
	r.Host = qname
	sc := *s
	sc.Class = &r
	x.event(&sc, &v, notice, now)
	// Drop this query only; the next one on this socket is decided anew.
	return nfqueue.NfDrop, 0
}

func (x *Inline) throttleMark(pol *policy.Policy, why policy.Why, s *engine.Seen) uint32 {
	if x.shaper == nil || why.Rule < 0 {
		return markAllow
	}
	rules := pol.Rules()
	if why.Rule >= len(rules) {
		return markAllow
	}
	r := rules[why.Rule]
	key := "rule:" + r.Name
	if r.Per == policy.PerFlow {
		key = "flow:" + strconv.Itoa(int(s.ID))
		x.verdictState(s.ID).shapeKey = key
	}
	m, err := x.shaper.Class(key, r.Rate)
	if err != nil {
		x.cfg.Logf("enforce: throttle %s: %v", key, err)
		return markAllow
	}
	return m
}

func (x *Inline) send(pkt []byte) {
	if pkt == nil {
		return
	}
	if err := x.deps.Sender.Send(pkt); err != nil {
		x.stats.InjectErrors++
		x.cfg.Logf("enforce: inject: %v", err)
		return
	}
	x.stats.Injected++
}

func (x *Inline) event(s *engine.Seen, v *flowVerdict, notice string, now time.Time) {
	x.stats.Enforced++
	if x.deps.Events == nil {
		return
	}
	f := s.Flow
	c := netip.AddrPortFrom(f.Key.Addr(f.ClientIsLo), f.ClientPort())
	sv := netip.AddrPortFrom(f.Key.Addr(!f.ClientIsLo), f.ServerPort())
	e := record.Event{Time: now, L4: f.Key.Proto, Client: c.String(), Server: sv.String(),
		Rule: v.rule, Action: v.verdict.String(), Notice: notice}
	if r := s.Class; r != nil {
		e.Protocol, e.App, e.Host = r.Meta.Proto.String(), r.App, r.Host
	}
	if err := x.deps.Events.Event(&e); err != nil {
		x.cfg.Logf("enforce: event: %v", err)
	}
}

// flowEnded writes the flow's record and forgets its verdict, unless the
// record is an interim one (active timeout): the flow goes on as it was.
func (x *Inline) flowEnded(e *engine.FlowEnd) {
	v := x.verdictState(e.ID)
	if x.deps.Records != nil {
		x.rec.FromFlow(e.Flow, e.Class, e.Reason)
		if v.decided {
			x.rec.Verdict, x.rec.Rule = v.verdict.String(), v.rule
			if x.rec.Rule == "" {
				x.rec.Rule = "default"
			}
		}
		x.deps.Records.Write(&x.rec)
	}
	if e.Reason == flow.EndActive {
		return
	}
	if v.shapeKey != "" && x.shaper != nil {
		x.shaper.Release(v.shapeKey)
	}
	*v = flowVerdict{}
}
