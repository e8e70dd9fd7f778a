package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirnet/weir/internal/record"
)

// Other replaces label values outside the allowed set.
const Other = "other"

// Config bounds label cardinality.
type Config struct {
	// Apps are the app ids reported by name (the catalog's ids); any other
	// app is "other". Nil allows any app up to MaxLabelValues.
	Apps []string
	// MaxLabelValues bounds distinct values per label (app, rule, reason);
	// values past it become "other".
	MaxLabelValues int
	// ProcessCollectors adds the Go runtime and process collectors.
	ProcessCollectors bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{MaxLabelValues: 256, ProcessCollectors: true} }

// Metrics is the component. The zero value is not usable; call New.
type Metrics struct {
	reg *prometheus.Registry

	packets, bytes, flows *prometheus.CounterVec
	actions               *prometheus.CounterVec
	malformed, dropped    *prometheus.CounterVec
	queue                 *prometheus.GaugeVec
	latency               prometheus.Histogram
	decision              prometheus.Histogram

	apps, rules, reasons, verdicts *limiter

	mu       sync.RWMutex
	flowSets map[flowKey]*flowCounters
	actSets  map[[2]string]prometheus.Counter

	srcMu   sync.Mutex
	sources []source
}

type flowKey struct{ proto, app, verdict string }

type flowCounters struct{ packets, bytes, flows prometheus.Counter }

// New builds the metrics on a fresh registry.
func New(cfg Config) *Metrics {
	if cfg.MaxLabelValues <= 0 {
		cfg.MaxLabelValues = 256
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_packets_total",
			Help: "Packets of ended flows, by master protocol, app and verdict."}, []string{"protocol", "app", "verdict"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_bytes_total",
			Help: "Bytes (IP layer) of ended flows, by master protocol, app and verdict."}, []string{"protocol", "app", "verdict"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_flows_total",
			Help: "Ended flows, by master protocol, app and verdict."}, []string{"protocol", "app", "verdict"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_enforcement_actions_total",
			Help: "Enforcement actions taken, by policy rule and action."}, []string{"rule", "action"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_malformed_packets_total",
			Help: "Packets that failed to decode or dissect, by reason."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_dropped_total",
			Help: "Items dropped because a bounded queue or table was full, by reason."}, []string{"reason"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "weir_queue_depth",
			Help: "Items waiting in an internal queue, by queue."}, []string{"queue"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "weir_verdict_latency_seconds",
			Help: "Time from a packet's arrival to its verdict.",
			// 1µs to ~10ms, doubling: inline enforcement lives in this range.
			Buckets: prometheus.ExponentialBucketsRange(1e-6, 10e-3, 14)}),
		decision: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "weir_decision_latency_seconds",
			Help:    "Weir's own time per queued packet, from its arrival in user space to the verdict being ready (before it is sent back to the kernel).",
			Buckets: prometheus.ExponentialBucketsRange(1e-6, 10e-3, 14)}),
		verdicts: newLimiter(nil, 32),
		rules:    newLimiter(nil, cfg.MaxLabelValues),
		reasons:  newLimiter(nil, cfg.MaxLabelValues),
		flowSets: make(map[flowKey]*flowCounters),
		actSets:  make(map[[2]string]prometheus.Counter),
	}
	m.apps = newLimiter(cfg.Apps, cfg.MaxLabelValues)
	m.reg.MustRegister(m.packets, m.bytes, m.flows, m.actions, m.malformed, m.latency, m.decision,
		&funcCollector{m: m})
	if cfg.ProcessCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is the component's registry, for callers that add their own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the exposition format (for /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	_ record.Sink      = (*Metrics)(nil)
	_ record.EventSink = (*Metrics)(nil)
)

// Write counts an ended flow (the record.Sink).
func (m *Metrics) Write(r *record.Record) error {
	proto, app := "Unknown", "unknown"
	if c := r.Class; c != nil {
		proto = c.Meta.Proto.String()
		if c.App != "" {
			app = c.App
		}
	}
	verdict := r.Verdict
	if verdict == "" {
		verdict = "none"
	}
	c := m.flowCounters(flowKey{proto, m.apps.value(app), m.verdicts.value(verdict)})
	c.flows.Inc()
	c.packets.Add(float64(r.C2SPackets + r.S2CPackets))
	c.bytes.Add(float64(r.C2SBytes + r.S2CBytes))
	return nil
}

// Close implements record.Sink; there is nothing to flush.
func (m *Metrics) Close() error { return nil }

func (m *Metrics) flowCounters(k flowKey) *flowCounters {
	m.mu.RLock()
	c := m.flowSets[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.flowSets[k]; c == nil {
		c = &flowCounters{
			packets: m.packets.WithLabelValues(k.proto, k.app, k.verdict),
			bytes:   m.bytes.WithLabelValues(k.proto, k.app, k.verdict),
			flows:   m.flows.WithLabelValues(k.proto, k.app, k.verdict),
		}
		m.flowSets[k] = c
	}
	return c
}

// Event counts an enforcement action (the record.EventSink).
func (m *Metrics) Event(e *record.Event) error {
	m.Enforcement(e.Rule, e.Action)
	return nil
}

// Enforcement counts one action of rule.
func (m *Metrics) Enforcement(rule, action string) {
	k := [2]string{m.rules.value(rule), m.verdicts.value(action)}
	m.mu.RLock()
	c := m.actSets[k]
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if c = m.actSets[k]; c == nil {
			c = m.actions.WithLabelValues(k[0], k[1])
			m.actSets[k] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// MalformedCounter returns the counter for a malformed-packet reason, for
// callers that keep the handle (reasons are a closed set in code).
func (m *Metrics) MalformedCounter(reason string) prometheus.Counter {
	return m.malformed.WithLabelValues(m.reasons.value(reason))
}

// Malformed counts one malformed packet.
func (m *Metrics) Malformed(reason string) { m.MalformedCounter(reason).Inc() }

// DroppedCounter returns the counter for a drop reason.
func (m *Metrics) DroppedCounter(reason string) prometheus.Counter {
	return m.dropped.WithLabelValues(m.reasons.value(reason))
}

// Dropped counts n dropped items.
func (m *Metrics) Dropped(reason string, n uint64) { m.DroppedCounter(reason).Add(float64(n)) }

// SetQueueDepth sets a queue's depth gauge.
func (m *Metrics) SetQueueDepth(queue string, n int) {
	m.queue.WithLabelValues(m.reasons.value(queue)).Set(float64(n))
}

// ObserveVerdictLatency records the time one verdict took.
func (m *Metrics) ObserveVerdictLatency(d time.Duration) { m.latency.Observe(d.Seconds()) }

// ObserveDecisionLatency records Weir's user-space decision time for one
// queued packet (weir_decision_latency_seconds).
func (m *Metrics) ObserveDecisionLatency(d time.Duration) { m.decision.Observe(d.Seconds()) }

// source is a value read at scrape time from another component (for
// example the store's drop counter), so that component needs no import of
// this package.
type source struct {
	gauge bool // weir_queue_depth when true, else weir_dropped_total
	label string
	fn    func() float64
}

// DropSource adds fn, read at scrape time, to weir_dropped_total{reason}.
// fn must be monotonic and safe for concurrent use.
func (m *Metrics) DropSource(reason string, fn func() uint64) {
	m.srcMu.Lock()
	m.sources = append(m.sources, source{label: reason, fn: func() float64 { return float64(fn()) }})
	m.srcMu.Unlock()
}

// QueueSource reports fn, read at scrape time, as weir_queue_depth{queue}.
func (m *Metrics) QueueSource(queue string, fn func() int) {
	m.srcMu.Lock()
	m.sources = append(m.sources, source{gauge: true, label: queue, fn: func() float64 { return float64(fn()) }})
	m.srcMu.Unlock()
}

// funcCollector merges the directly counted drops and queue depths with the
// scrape-time sources under one metric name each.
type funcCollector struct{ m *Metrics }

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	c.m.dropped.Describe(ch)
	c.m.queue.Describe(ch)
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.srcMu.Lock()
	srcs := append([]source(nil), m.sources...)
	m.srcMu.Unlock()
	// A source's value is added to the direct counter of the same label so
	// each label set is exported once.
	drops := map[string]float64{}
	depths := map[string]float64{}
	for _, s := range srcs {
		if s.gauge {
			depths[s.label] += s.fn()
		} else {
			drops[s.label] += s.fn()
		}
	}
	collectMerged(ch, m.dropped, drops, prometheus.CounterValue, "weir_dropped_total",
		"Items dropped because a bounded queue or table was full, by reason.", "reason")
	collectMerged(ch, m.queue, depths, prometheus.GaugeValue, "weir_queue_depth",
		"Items waiting in an internal queue, by queue.", "queue")
}

type collectorVec interface {
	prometheus.Collector
}

func collectMerged(ch chan<- prometheus.Metric, vec collectorVec, extra map[string]float64,
	vt prometheus.ValueType, name, help, label string) {
	inner := make(chan prometheus.Metric, 64)
	go func() { vec.Collect(inner); close(inner) }()
	desc := prometheus.NewDesc(name, help, []string{label}, nil)
	for pm := range inner {
		var d dtoMetric
		if err := pm.Write(&d.m); err != nil {
			continue
		}
		lv := d.label(label)
		v := d.value()
		if x, ok := extra[lv]; ok {
			v += x
			delete(extra, lv)
		}
		ch <- prometheus.MustNewConstMetric(desc, vt, v, lv)
	}
	for lv, v := range extra {
		ch <- prometheus.MustNewConstMetric(desc, vt, v, lv)
	}
}

// limiter maps label values into a bounded set.
type limiter struct {
	allow map[string]bool // nil: any value, first come, up to max
	mu    sync.RWMutex
	seen  map[string]struct{}
	max   int
}

func newLimiter(allow []string, max int) *limiter {
	l := &limiter{seen: make(map[string]struct{}), max: max}
	if allow != nil {
		l.allow = make(map[string]bool, len(allow))
		for _, a := range allow {
			l.allow[a] = true
		}
	}
	return l
}

func (l *limiter) value(v string) string {
	if l.allow != nil && !l.allow[v] && v != "unknown" {
		return Other
	}
	l.mu.RLock()
	_, ok := l.seen[v]
	l.mu.RUnlock()
	if ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.max {
		return Other
	}
	// Copy: the caller's string may be a view the datapath reuses.
	v = string([]byte(v))
	l.seen[v] = struct{}{}
	return v
}
