package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/enforce"
	"github.com/weirnet/weir/internal/metrics"
	"github.com/weirnet/weir/internal/policy"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/jsonl"
)

type runFlags struct {
	policyFile   string
	events       string
	records      string
	recordsMax   int64
	recordsKeep  int
	shape        string
	cleanup      bool
	check        bool
	noIPv6       bool
	statsEvery   time.Duration
	listen       string
	out          outputFlags
	pollInterval time.Duration
	clockStart   string
	cfg          enforce.Config
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := runFlags{cfg: enforce.DefaultConfig()}
	fs.StringVar(&f.policyFile, "policy", "", "policy file (required; docs/policy.md)")
	fs.StringVar(&f.events, "events", "-", "where to write one JSON line per enforcement: a file, or - for stdout")
	fs.StringVar(&f.records, "records", "", "write flow records (JSON lines, docs/records.md) to this file (- for stdout)")
	fs.Int64Var(&f.recordsMax, "records-max-bytes", 0, "rotate the --records file before it exceeds this size (0: never)")
	fs.IntVar(&f.recordsKeep, "records-keep", 5, "rotated --records files to keep (FILE.1 ... FILE.N)")
	fs.StringVar(&f.shape, "shape", "", "devices whose egress is shaped for throttle rules, comma-separated")
	fs.BoolVar(&f.cleanup, "cleanup", false, "remove Weir's netfilter rules left by a previous run, then exit")
	fs.BoolVar(&f.check, "check", false, "check the configuration and policy, then exit without touching the network")
	fs.BoolVar(&f.noIPv6, "no-ipv6", false, "do not install ip6tables rules")
	fs.BoolVar(&f.cfg.FailClosed, "fail-closed", false, "drop queued traffic when Weir is not running (default: fail open)")
	qn := fs.Uint("queue", 0, "NFQUEUE number")
	fs.Uint64Var(&f.cfg.DecideAfter, "queue-packets", f.cfg.DecideAfter, "at most this many packets of each connection (both directions) go to Weir; it decides by then and the kernel carries the verdict alone")
	fs.StringVar(&f.listen, "listen", "", "serve the dashboard, /api/ and /metrics live on this address (e.g. 127.0.0.1:8080; needs --store for the dashboard data)")
	f.out.register(fs)
	fs.DurationVar(&f.cfg.SetTimeout, "set-timeout", f.cfg.SetTimeout, "how long a decided connection stays in the kernel's sets without packets reaching Weir; it then comes back briefly and is written again (must be below the UDP idle timeout, 10m)")
	fs.DurationVar(&f.cfg.Engine.Flow.ActiveTimeout, "active-timeout", f.cfg.Engine.Flow.ActiveTimeout, "write an interim record of a long connection at least this often (it keeps its classification and verdict)")
	fs.DurationVar(&f.statsEvery, "stats-every", 0, "print datapath counters to stderr at this interval (0 = at exit only)")
	fs.StringVar(&f.clockStart, "clock-start", "", "testing aid: schedules see a clock that starts at this RFC 3339 time and runs in real time")
	fs.DurationVar(&f.pollInterval, "reload-poll", 2*time.Second, "how often the policy file is checked for changes (0 = only on SIGHUP)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir run --policy FILE [flags]\n\nEnforces the policy inline on this Linux router: installs an nftables table (inet weir)\nwhose forward chain sends the first packets of each forwarded connection to Weir over\nNFQUEUE; Weir classifies them, applies the policy, and writes the connection into the\ntable's allow, drop or shape sets, after which the kernel handles it alone. SIGHUP or a\nchange of the file reloads the policy; a bad file is rejected and the old policy stays\nactive. SIGINT/SIGTERM remove the table and exit (docs/enforcement.md).\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	f.cfg.Queue = uint16(*qn)
	f.cfg.IPv6 = !f.noIPv6
	if f.clockStart != "" {
		t0, err := time.Parse(time.RFC3339, f.clockStart)
		if err != nil {
			fmt.Fprintf(stderr, "weir run: --clock-start: %v\n", err)
			return exitUsage
		}
		wall := time.Now()
		f.cfg.Now = func() time.Time { return t0.Add(time.Since(wall)) }
	}
	if f.shape != "" {
		f.cfg.ShapeDevs = strings.Split(f.shape, ",")
	}
	if f.cleanup {
		r := enforce.Rules{IPv6: f.cfg.IPv6}
		if err := r.Remove(); err != nil {
			fmt.Fprintf(stderr, "weir run --cleanup: %v\n", err)
			return exitError
		}
		fmt.Fprintln(stderr, "weir run: netfilter rules removed")
		return exitOK
	}
	if f.policyFile == "" {
		fmt.Fprintln(stderr, "weir run: --policy is required")
		return exitUsage
	}
	return runInline(&f, stdout, stderr)
}

func runInline(f *runFlags, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "weir run: "+format+"\n", args...) }
	cat, err := catalog.Load()
	if err != nil {
		logf("unable to initialize classify component: %v", err)
		return exitError
	}
	p, err := loadPolicy(f.policyFile, stderr)
	if err != nil {
		return exitUsage
	}
	if f.check {
		h := p.Hash()
		fmt.Fprintf(stdout, "%s: ok, %d rules, sha256 %x\n", f.policyFile, len(p.Rules()), h[:])
		return exitOK
	}
	var holder policy.Holder
	holder.Swap(p)
	cls, err := newClassifier(true)
	if err != nil {
		logf("unable to initialize classify component: %v", err)
		return exitError
	}
	events, err := jsonl.NewEventSink(jsonl.Config{Path: f.events, Stdout: stdout})
	if err != nil {
		logf("unable to initialize events component: %v", err)
		return exitError
	}
	defer events.Close()
	st, err := f.out.openStore(false)
	if err != nil {
		logf("%v", err)
		return exitError
	}
	if st != nil {
		defer st.Close()
	}
	recordPolicy := func() {
		if st == nil {
			return
		}
		if src, err := os.ReadFile(f.policyFile); err == nil {
			st.RecordPolicy(context.Background(), time.Now(), src)
		}
	}
	recordPolicy()
	m := metrics.New(metrics.DefaultConfig())
	sinks, err := f.out.sinks(st, logf)
	if err != nil {
		logf("%v", err)
		return exitUsage
	}
	sinks = append(sinks, m)
	if f.records != "" {
		an, _ := f.out.anonymizer()
		recs, err := jsonl.NewSink(jsonl.Config{Path: f.records, Stdout: stdout, Anon: an, MaxBytes: f.recordsMax, Keep: f.recordsKeep})
		if err != nil {
			logf("unable to initialize records component: %v", err)
			return exitError
		}
		sinks = append(sinks, recs)
	}
	defer func() {
		for _, s := range sinks {
			s.Close()
		}
	}()
	evSinks := multiEvents{events, m}
	if st != nil {
		evSinks = append(evSinks, st.EventSink())
		m.DropSource("store_queue_full", func() uint64 { s := st.Stats(); return s.DroppedRecords + s.DroppedEvents })
		m.QueueSource("store", func() int { return st.Stats().QueueDepth })
	}
	deps := enforce.Deps{Policy: &holder, Classifier: cls, Events: evSinks, Records: multiSink(sinks),
		Observe: m.ObserveVerdictLatency, ObserveDecision: m.ObserveDecisionLatency}
	if f.listen != "" {
		stopWeb, err := serveLive(f.listen, st, m, logf)
		if err != nil {
			logf("unable to initialize web component: %v", err)
			return exitError
		}
		defer stopWeb()
	}
	f.cfg.Logf = logf
	x, err := enforce.New(f.cfg, deps)
	if err != nil {
		logf("unable to initialize enforce component: %v", err)
		return exitError
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := x.Start(ctx); err != nil {
		logf("%v", err)
		if errors.Is(err, enforce.ErrStale) {
			return exitUsage
		}
		return exitError
	}
	go exportDatapathMetrics(ctx, x, m, f.cfg.Queue)
	h := p.Hash()
	logf("enforcing %s (%d rules, sha256 %x) on NFQUEUE %d, fail-%s", f.policyFile, len(p.Rules()), h[:8], f.cfg.Queue, map[bool]string{true: "closed", false: "open"}[f.cfg.FailClosed])

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var poll, stats <-chan time.Time
	if f.pollInterval > 0 {
		t := time.NewTicker(f.pollInterval)
		defer t.Stop()
		poll = t.C
	}
	if f.statsEvery > 0 {
		t := time.NewTicker(f.statsEvery)
		defer t.Stop()
		stats = t.C
	}
	lastMod := modTime(f.policyFile)
	reload := func(why string) {
		np, err := policy.Load(f.policyFile, cat)
		if err != nil {
			logf("reload (%s) rejected, the active policy stays: %v", why, err)
			return
		}
		holder.Swap(np)
		recordPolicy()
		h := np.Hash()
		logf("reloaded %s (%s): %d rules, sha256 %x", f.policyFile, why, len(np.Rules()), h[:8])
	}
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGHUP {
				reload("SIGHUP")
				lastMod = modTime(f.policyFile)
				continue
			}
			err := x.Stop()
			printRunStats(stderr, x)
			if err != nil {
				logf("stop: %v", err)
				return exitError
			}
			logf("stopped (%s); netfilter rules removed", s)
			return exitOK
		case <-poll:
			if m := modTime(f.policyFile); !m.Equal(lastMod) {
				lastMod = m
				reload("file changed")
			}
		case <-stats:
			printRunStats(stderr, x)
		}
	}
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

func printRunStats(w io.Writer, x *enforce.Inline) {
	s, es := x.Stats()
	fmt.Fprintf(w, "weir run: queued %d, decided %d, enforced %d, injected %d (errors %d), flows %d live %d, decision latency p50 ≤%v p99 ≤%v, verdict latency p50 ≤%v p99 ≤%v\n",
		s.Queued, s.Decided, s.Enforced, s.Injected, s.InjectErrors, es.Flow.Created, es.Flow.Live,
		s.Decision.Quantile(0.5), s.Decision.Quantile(0.99), s.Latency.Quantile(0.5), s.Latency.Quantile(0.99))
}

// multiSink fans records out to several sinks.
type multiSink []record.Sink

func (m multiSink) Write(r *record.Record) error {
	var first error
	for _, s := range m {
		if err := s.Write(r); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m multiSink) Close() error { return nil } // the sinks are closed by their owner

// multiEvents fans enforcement events out to several sinks.
type multiEvents []record.EventSink

func (m multiEvents) Event(e *record.Event) error {
	var first error
	for _, s := range m {
		if err := s.Event(e); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// exportDatapathMetrics copies the datapath's counters into the metrics
// every second: malformed packets by reason, and what the datapath dropped
// or failed to do.
func exportDatapathMetrics(ctx context.Context, x *enforce.Inline, m *metrics.Metrics, queue uint16) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastReasons [decode.NumReasons]uint64
	var lastInject, lastVerdict, lastEvicted, lastQDrop, lastUDrop, lastBacklog uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, es := x.Stats()
		for r := 1; r < decode.NumReasons; r++ {
			if d := es.Decode.Reasons[r] - lastReasons[r]; d > 0 {
				m.MalformedCounter(decode.Reason(r).String()).Add(float64(d))
			}
			lastReasons[r] = es.Decode.Reasons[r]
		}
		if depth, qDrop, uDrop, ok := nfqueueStats(queue); ok {
			m.SetQueueDepth("nfqueue", int(depth))
			m.Dropped("nfqueue_full", qDrop-lastQDrop)
			m.Dropped("nfqueue_user", uDrop-lastUDrop)
			lastQDrop, lastUDrop = qDrop, uDrop
		}
		m.Dropped("sets_backlog", s.SetsBacklogged-lastBacklog)
		lastBacklog = s.SetsBacklogged
		m.Dropped("inject_error", s.InjectErrors-lastInject)
		m.Dropped("verdict_error", s.VerdictErrors-lastVerdict)
		m.Dropped("flow_evicted", es.Flow.Evicted()-lastEvicted)
		lastInject, lastVerdict, lastEvicted = s.InjectErrors, s.VerdictErrors, es.Flow.Evicted()
	}
}

// nfqueueStats reads the kernel's view of one NFQUEUE: packets waiting for
// Weir, packets dropped because the queue was full, and packets the
// netlink socket could not take (/proc/net/netfilter/nfnetlink_queue).
func nfqueueStats(queue uint16) (depth, queueDropped, userDropped uint64, ok bool) {
	b, err := os.ReadFile("/proc/net/netfilter/nfnetlink_queue")
	if err != nil {
		return 0, 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != strconv.Itoa(int(queue)) {
			continue
		}
		depth, _ = strconv.ParseUint(f[2], 10, 64)
		queueDropped, _ = strconv.ParseUint(f[5], 10, 64)
		userDropped, _ = strconv.ParseUint(f[6], 10, 64)
		return depth, queueDropped, userDropped, true
	}
	return 0, 0, 0, false
}
