package metrics

import (
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

func flowRec(proto dissect.Proto, app, verdict string, pkts, bytes uint64) *record.Record {
	r := &record.Record{C2SPackets: pkts, S2CPackets: pkts, C2SBytes: bytes, S2CBytes: bytes, Verdict: verdict}
	r.Class = &classify.Result{App: app}
	r.Class.Meta.Proto = proto
	return r
}

func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// series renders a family as "label=value,... value" lines, sorted.
func series(f *dto.MetricFamily) []string {
	var out []string
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out = append(out, fmt.Sprintf("%s %g", strings.Join(ls, ","), v))
	}
	sort.Strings(out)
	return out
}

func TestScrape(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Apps = []string{"facebook", "youtube"}
	cfg.ProcessCollectors = false
	m := New(cfg)
	m.Write(flowRec(dissect.TLS, "facebook", "block", 3, 100))
	m.Write(flowRec(dissect.TLS, "facebook", "block", 1, 50))
	m.Write(flowRec(dissect.QUIC, "youtube", "", 10, 1000))
	m.Write(flowRec(dissect.TLS, "evil-unlisted-app", "allow", 1, 1)) // → other
	m.Write(&record.Record{C2SPackets: 1, C2SBytes: 60})              // unclassified
	m.Event(&record.Event{Rule: "block-social", Action: "block"})
	m.Event(&record.Event{Rule: "block-social", Action: "block"})
	m.Enforcement("keyword", "drop")
	m.Malformed("ipv4-truncated")
	m.MalformedCounter("ipv4-truncated").Inc()
	m.Dropped("flow-table-full", 3)
	var storeDrops uint64 = 7
	m.DropSource("store-queue-full", func() uint64 { return storeDrops })
	m.DropSource("flow-table-full", func() uint64 { return 2 }) // merges with the direct counter
	m.QueueSource("store", func() int { return 42 })
	m.SetQueueDepth("capture", 5)
	m.ObserveVerdictLatency(3 * time.Microsecond)
	m.ObserveVerdictLatency(20 * time.Millisecond)
	m.ObserveDecisionLatency(2 * time.Microsecond)

	fams := scrape(t, m)
	want := map[string][]string{
		"weir_flows_total": {
			"app=youtube,protocol=QUIC,verdict=none 1",
			"app=facebook,protocol=TLS,verdict=block 2",
			"app=other,protocol=TLS,verdict=allow 1",
			"app=unknown,protocol=Unknown,verdict=none 1",
		},
		"weir_packets_total": {
			"app=youtube,protocol=QUIC,verdict=none 20",
			"app=facebook,protocol=TLS,verdict=block 8",
			"app=other,protocol=TLS,verdict=allow 2",
			"app=unknown,protocol=Unknown,verdict=none 1",
		},
		"weir_bytes_total": {
			"app=youtube,protocol=QUIC,verdict=none 2000",
			"app=facebook,protocol=TLS,verdict=block 300",
			"app=other,protocol=TLS,verdict=allow 2",
			"app=unknown,protocol=Unknown,verdict=none 60",
		},
		"weir_enforcement_actions_total": {"action=block,rule=block-social 2", "action=drop,rule=keyword 1"},
		"weir_malformed_packets_total":   {"reason=ipv4-truncated 2"},
		"weir_dropped_total":             {"reason=flow-table-full 5", "reason=store-queue-full 7"},
		"weir_queue_depth":               {"queue=capture 5", "queue=store 42"},
		"weir_verdict_latency_seconds":   {" 2"},
		"weir_decision_latency_seconds":  {" 1"},
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			f := fams[name]
			if f == nil {
				t.Fatalf("%s missing from the exposition", name)
			}
			got := series(f)
			sort.Strings(w)
			if strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Errorf("(-got, +want)\n-%s\n+%s", strings.Join(got, "\n-"), strings.Join(w, "\n+"))
			}
		})
	}
	t.Run("types and conventions", func(t *testing.T) {
		for name, f := range fams {
			if !strings.HasPrefix(name, "weir_") && !strings.HasPrefix(name, "promhttp_") {
				t.Errorf("%s: not in the weir_ namespace", name)
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				if !strings.HasSuffix(name, "_total") {
					t.Errorf("counter %s does not end in _total", name)
				}
			case dto.MetricType_HISTOGRAM:
				if !strings.HasSuffix(name, "_seconds") {
					t.Errorf("histogram %s is not in seconds", name)
				}
			}
			if f.GetHelp() == "" {
				t.Errorf("%s has no help", name)
			}
		}
		if fams["weir_queue_depth"].GetType() != dto.MetricType_GAUGE {
			t.Error("weir_queue_depth is not a gauge")
		}
	})
	t.Run("latency buckets", func(t *testing.T) {
		h := fams["weir_verdict_latency_seconds"].GetMetric()[0].GetHistogram()
		bs := h.GetBucket()
		if len(bs) > 0 && bs[len(bs)-1].GetUpperBound() > 1 { // the parser keeps +Inf
			bs = bs[:len(bs)-1]
		}
		if lo, hi := bs[0].GetUpperBound(), bs[len(bs)-1].GetUpperBound(); lo != 1e-6 || hi < 9.99e-3 || hi > 10.01e-3 {
			t.Errorf("buckets %g..%g, want 1e-06..0.01", lo, hi)
		}
		if bs[len(bs)-1].GetCumulativeCount() != 1 || h.GetSampleCount() != 2 {
			t.Errorf("counts: last bucket %d, total %d", bs[len(bs)-1].GetCumulativeCount(), h.GetSampleCount())
		}
	})
}

func TestLabelCardinalityBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLabelValues = 4
	cfg.ProcessCollectors = false
	m := New(cfg)
	for i := range 100 {
		m.Write(flowRec(dissect.TLS, fmt.Sprintf("app%d", i), "allow", 1, 1))
		m.Enforcement(fmt.Sprintf("rule%d", i), "block")
	}
	fams := scrape(t, m)
	if n := len(fams["weir_flows_total"].GetMetric()); n != 5 {
		t.Errorf("flows series = %d, want 4 apps + other", n)
	}
	if n := len(fams["weir_enforcement_actions_total"].GetMetric()); n != 5 {
		t.Errorf("action series = %d, want 4 rules + other", n)
	}
}

func TestProcessCollectors(t *testing.T) {
	m := New(DefaultConfig())
	fams := scrape(t, m)
	if fams["go_goroutines"] == nil {
		t.Error("go collector missing")
	}
}

func TestNoAllocs(t *testing.T) {
	m := New(DefaultConfig())
	r := flowRec(dissect.TLS, "facebook", "block", 3, 100)
	e := &record.Event{Rule: "r", Action: "block"}
	c := m.MalformedCounter("x")
	// Warm the caches: the first use of a label set allocates its child.
	m.Write(r)
	m.Event(e)
	if n := testing.AllocsPerRun(1000, func() {
		m.Write(r)
		m.Event(e)
		c.Inc()
		m.ObserveVerdictLatency(time.Microsecond)
	}); n != 0 {
		t.Errorf("hot path allocates %v per run", n)
	}
}

func BenchmarkWrite(b *testing.B) {
	m := New(DefaultConfig())
	r := flowRec(dissect.TLS, "facebook", "block", 3, 100)
	b.ReportAllocs()
	for b.Loop() {
		m.Write(r)
	}
}
