package probe

import (
	"context"
	"crypto/x509"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config configures a Prober. DefaultConfig has the defaults.
type Config struct {
	// Resolver is the DNS server (ip:port) asked directly; "" uses the
	// first nameserver of /etc/resolv.conf, or Go's resolver without one.
	Resolver string
	// ControlURL is the base URL of a `weir probe-control`; "" = none.
	ControlURL string
	Timeout    time.Duration // per step
	Parallel   int           // targets measured at once
	// DuplicateWait is how long DNS keeps listening after the first
	// answers, to catch a second (racing) answer.
	DuplicateWait time.Duration
	RootCAs       *x509.CertPool // nil = system roots
	QUIC          bool           // try a QUIC handshake for https targets
	// SamplePath, when set, is fetched (same scheme and host) for the
	// throughput sample, e.g. "/big?bytes=4000000"; "" samples the URL.
	SamplePath  string
	SampleBytes int64
	SampleTime  time.Duration
	Thresholds  Thresholds
	MaxAddrs    int  // addresses tried per target
	NoSniffer   bool // do not open an AF_PACKET socket even if allowed
	// Progress is called after each target (from several goroutines).
	Progress func(done, total int, m *Measurement)
}

// DefaultConfig returns the defaults `weir probe` uses.
func DefaultConfig() Config {
	return Config{
		Timeout:       10 * time.Second,
		Parallel:      4,
		DuplicateWait: 500 * time.Millisecond,
		QUIC:          true,
		SampleBytes:   4 << 20,
		SampleTime:    2 * time.Second,
		Thresholds:    Thresholds{ThrottleRatio: 0.2},
		MaxAddrs:      4,
	}
}

// Prober measures targets. Build with New; Close releases the sniffer.
type Prober struct {
	cfg      Config
	steps    *steps
	res      *resolver
	info     ProbeInfo
	sniffErr string
}

// New builds a Prober (and its sniffer when the process may sniff).
func New(cfg Config) *Prober {
	d := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = d.Parallel
	}
	if cfg.SampleBytes <= 0 {
		cfg.SampleBytes = d.SampleBytes
	}
	if cfg.SampleTime <= 0 {
		cfg.SampleTime = d.SampleTime
	}
	if cfg.MaxAddrs <= 0 {
		cfg.MaxAddrs = d.MaxAddrs
	}
	if cfg.DuplicateWait < 0 {
		cfg.DuplicateWait = 0
	}
	p := &Prober{cfg: cfg, steps: &steps{timeout: cfg.Timeout, roots: cfg.RootCAs}}
	src := "flag"
	if cfg.Resolver == "" {
		cfg.Resolver, src = SystemResolver(), "resolv.conf"
		if cfg.Resolver == "" {
			src = "go"
		}
	}
	p.res = &resolver{addr: cfg.Resolver, dupWait: cfg.DuplicateWait}
	p.info = ProbeInfo{
		Resolver: cfg.Resolver, ResolverSource: src, Timeout: cfg.Timeout.Seconds(), Parallel: cfg.Parallel,
		DuplicateWait: cfg.DuplicateWait.Seconds(), MinRate: cfg.Thresholds.MinRate, ThrottleRatio: cfg.Thresholds.ThrottleRatio,
		SampleBytes: cfg.SampleBytes, SampleTime: cfg.SampleTime.Seconds(),
	}
	if cfg.NoSniffer {
		p.info.Sniffer = "off (disabled)"
	} else if s, err := startSniffer(); err != nil {
		p.info.Sniffer = "none (" + err.Error() + "): resets carry no TTL/IP ID/payload evidence"
	} else {
		p.steps.sniff = s
		p.info.Sniffer = "af_packet"
	}
	return p
}

// Close stops the sniffer.
func (p *Prober) Close() { p.steps.sniff.close() }

// Info describes the probe's setup (for the report).
func (p *Prober) Info() ProbeInfo { return p.info }

// HardLimit is the most one target can take: every step's timeout plus
// the sample, with a margin. Run enforces it.
func (p *Prober) HardLimit() time.Duration {
	c := p.cfg
	return 6*c.Timeout + c.DuplicateWait + c.SampleTime + 2*time.Second
}

// Run measures targets, at most cfg.Parallel at once, and returns them
// in input order.
func (p *Prober) Run(ctx context.Context, targets []Target) []*Measurement {
	out := make([]*Measurement, len(targets))
	sem := make(chan struct{}, p.cfg.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			out[i] = interrupted(t)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m := p.Measure(ctx, t)
			out[i] = m
			if p.cfg.Progress != nil {
				mu.Lock()
				done++
				d := done
				mu.Unlock()
				p.cfg.Progress(d, len(targets), m)
			}
		}()
	}
	wg.Wait()
	return out
}

func interrupted(t Target) *Measurement {
	return &Measurement{Input: t.Input, URL: t.URL, Category: t.Category, Verdict: Inconclusive, Attribution: ByNone,
		Evidence: []string{}, Notes: []string{"not measured: interrupted"}, MeasurementStartTime: nowString(time.Now())}
}

func nowString(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// Measure runs every step for one target under the hard limit.
func (p *Prober) Measure(ctx context.Context, t Target) *Measurement {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.HardLimit())
	defer cancel()
	m := &Measurement{Input: t.Input, URL: t.URL, Category: t.Category, MeasurementStartTime: nowString(start)}
	tk := &m.TestKeys
	tk.Queries, tk.Addrs = []DNSQuery{}, []string{}
	tk.TCPConnect, tk.TLSHandshakes, tk.Requests, tk.QUICHandshakes = []TCPConnect{}, []TLSHandshake{}, []HTTPRequest{}, []QUICHandshake{}
	defer func() { m.TestRuntime = seconds(time.Since(start)) }()

	u, err := url.Parse(t.URL)
	if err != nil {
		m.Verdict, m.Attribution, m.Evidence = Inconclusive, ByNone, []string{"bad url"}
		return m
	}
	host, port := u.Hostname(), portOf(u)
	sampleURL := t.URL
	if p.cfg.SamplePath != "" {
		su := *u
		if path, q, ok := strings.Cut(p.cfg.SamplePath, "?"); ok {
			su.Path, su.RawQuery = path, q
		} else {
			su.Path, su.RawQuery = path, ""
		}
		sampleURL = su.String()
	}

	// 1. DNS.
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		tk.Queries, addrs, tk.DNSFailure = p.res.lookup(ctx, host, p.cfg.Timeout)
	}
	for _, a := range addrs {
		tk.Addrs = append(tk.Addrs, a.String())
	}

	// 2. The control, in parallel with our own steps.
	var ctlDone chan struct{}
	if p.cfg.ControlURL != "" {
		ctlDone = make(chan struct{})
		go func() {
			defer close(ctlDone)
			req := ControlRequest{URL: t.URL, Addrs: tk.Addrs, QUIC: p.cfg.QUIC, SampleURL: sampleURL,
				SampleBytes: p.cfg.SampleBytes, SampleTime: p.cfg.SampleTime.Seconds()}
			cr, err := askControl(ctx, strings.TrimRight(p.cfg.ControlURL, "/"), req)
			if err != nil {
				tk.ControlFailure = controlFailure(err)
				return
			}
			tk.Control = cr
		}()
	}

	// 3. TCP connect (+ TLS for https) to every address, in parallel.
	if len(addrs) > p.cfg.MaxAddrs {
		addrs = addrs[:p.cfg.MaxAddrs]
	}
	tcp := make([]TCPConnect, len(addrs))
	tlsr := make([]*TLSHandshake, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ap := addrPort(a, port)
			r, conn, local := p.steps.connect(ctx, ap)
			tcp[i] = r
			if conn == nil {
				return
			}
			if u.Scheme != "https" {
				conn.Close()
				return
			}
			h := p.steps.handshake(ctx, conn, local, ap, host)
			tlsr[i] = &h
		}()
	}
	wg.Wait()
	tk.TCPConnect = tcp
	for _, h := range tlsr {
		if h != nil {
			tk.TLSHandshakes = append(tk.TLSHandshakes, *h)
		}
	}

	// 4. HTTP GET through the first address that got through TCP (and
	// TLS); if none did, through the first connected one so the failure is
	// recorded at the HTTP layer too.
	var via netip.AddrPort
	for i, a := range addrs {
		if tcp[i].Failure == "" && (u.Scheme != "https" || (tlsr[i] != nil && tlsr[i].Failure == "")) {
			via = addrPort(a, port)
			break
		}
	}
	if !via.IsValid() {
		for i, a := range addrs {
			if tcp[i].Failure == "" {
				via = addrPort(a, port)
				break
			}
		}
	}
	if via.IsValid() {
		r := p.steps.get(ctx, t.URL, via, host)
		tk.Requests = append(tk.Requests, r)
		// 5. Throughput, only when the page came.
		if r.Failure == "" && r.StatusCode < 400 {
			tk.Throughput = p.steps.sample(ctx, sampleURL, via, host, p.cfg.SampleBytes, p.cfg.SampleTime)
		}
	}

	// 6. QUIC.
	if p.cfg.QUIC && u.Scheme == "https" && len(addrs) > 0 {
		tk.QUICHandshakes = append(tk.QUICHandshakes, p.steps.quicHandshake(ctx, addrPort(addrs[0], port), host))
	}

	if ctlDone != nil {
		<-ctlDone
	}
	Decide(m, p.cfg.Thresholds)
	return m
}

func controlFailure(err error) string {
	if f := classify(err); f != FailUnknown {
		return f
	}
	if strings.Contains(err.Error(), errControlStatus.Error()) {
		return "control_error"
	}
	return FailUnknown
}
