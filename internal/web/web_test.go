package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/metrics"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/store"
)

const testPolicy = `notice: https://notices.example/weir
rules:
  - name: block-social
    match: { app: [facebook, twitter] }
    action: block
  - name: night-video
    match: { category: video, group: campus }
    when: { days: [mon, tue], from: "18:00", to: "06:00" }
    action: throttle
    rate: 1mbit
  - name: keyword
    match: { host_contains: ["<script>casino"] }
    action: drop
default: allow
`

// fixture is the known data every test fills the store with: 30 minutes
// ending at now's minute; per minute i, youtube 10000*(i+1) bytes, facebook
// 2000 bytes (blocked), and an evil hostname that must be escaped.
type fixture struct {
	st  *store.Store
	now time.Time
	m   *metrics.Metrics
}

const fixtureMinutes = 30

func newFixture(t testing.TB, now time.Time) *fixture {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Retention = 0
	cfg.Now = func() time.Time { return now }
	st, err := store.Open(filepath.Join(t.TempDir(), "web.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	first := now.Truncate(time.Minute).Add(-(fixtureMinutes - 1) * time.Minute)
	k, ek := st.Sink(), st.EventSink()
	mk := func(at time.Time, proto dissect.Proto, app, cat, host, verdict string, bytes uint64) *record.Record {
		r := &record.Record{L4: 6, First: at.UnixNano(), Last: at.UnixNano(), C2SPackets: 2, S2CPackets: 2,
			C2SBytes: bytes / 2, S2CBytes: bytes - bytes/2, Verdict: verdict}
		r.Class = &classify.Result{App: app, Category: cat, Host: host}
		r.Class.Meta.Proto = proto
		return r
	}
	for i := range fixtureMinutes {
		at := first.Add(time.Duration(i)*time.Minute + 10*time.Second)
		k.Write(mk(at, dissect.QUIC, "youtube", "video", "rr1.googlevideo.com", "allow", uint64(10000*(i+1))))
		k.Write(mk(at, dissect.TLS, "facebook", "social", "www.facebook.com", "block", 2000))
		if i%3 == 0 {
			k.Write(mk(at, dissect.HTTP, "web", "web", `<img src=x onerror=alert(1)>.evil.example`, "allow", 500))
		}
		ek.Event(&record.Event{Time: at, L4: 6, Client: "10.0.0.9:40000", Server: "157.240.1.35:443", Rule: "block-social",
			Action: "block", Protocol: "TLS", App: "facebook", Host: "www.facebook.com", Notice: "tcp-reset"})
		if i%5 == 0 {
			ek.Event(&record.Event{Time: at.Add(time.Second), L4: 17, Client: "10.0.0.9:5353", Server: "192.0.2.1:53",
				Rule: "keyword", Action: "drop", Protocol: "DNS", Host: `"><script>alert(1)</script>`, Notice: "none"})
		}
	}
	if _, err := st.RecordPolicy(context.Background(), now.Add(-time.Hour), []byte(testPolicy)); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	mcfg := metrics.DefaultConfig()
	mcfg.ProcessCollectors = false
	return &fixture{st: st, now: now, m: metrics.New(mcfg)}
}

func (f *fixture) handler(t testing.TB) http.Handler {
	h, err := New(DefaultConfig(), Dependencies{Store: f.st, Metrics: f.m.Handler(), Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func getJSON(t *testing.T, h http.Handler, url string, wantStatus int, v any) http.Header {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", url, nil))
	if rr.Code != wantStatus {
		t.Fatalf("GET %s: status %d, want %d; body %s", url, rr.Code, wantStatus, rr.Body)
	}
	if ct := rr.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", url, ct)
	}
	if err := json.Unmarshal(rr.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, rr.Body)
	}
	return rr.Header()
}

var testNow = time.Date(2025, 3, 1, 12, 30, 30, 0, time.UTC)

func TestAPI(t *testing.T) {
	f := newFixture(t, testNow)
	h := f.handler(t)
	ctx := context.Background()
	w := store.Window{Since: testNow.Add(-time.Hour), Until: testNow, Step: time.Minute}

	t.Run("traffic", func(t *testing.T) {
		var got store.TrafficSeries
		getJSON(t, h, "/api/traffic?since=1h&step=60", 200, &got)
		want, _ := f.st.Traffic(ctx, w, DefaultConfig().TopApps)
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
		if len(got.Apps) != 3 || got.Apps[0].App != "youtube" || got.Apps[0].Total != 10000*30*31/2 {
			t.Errorf("series %+v", got.Apps)
		}
		// 61 one-minute buckets: the hour before 12:30:30 starts at 11:30.
		if len(got.Times) != 61 || got.Step != 60 {
			t.Errorf("%d buckets of %d s", len(got.Times), got.Step)
		}
	})
	t.Run("traffic top", func(t *testing.T) {
		var got store.TrafficSeries
		getJSON(t, h, "/api/traffic?since=30m&top=1", 200, &got)
		if len(got.Apps) != 2 || got.Apps[1].App != "other" || got.Apps[1].Total != 2000*30+500*10 {
			t.Errorf("series %+v", got.Apps)
		}
	})
	t.Run("blocked", func(t *testing.T) {
		var got store.EventSeries
		getJSON(t, h, "/api/blocked?since=1h&step=5m", 200, &got)
		want, _ := f.st.Blocked(ctx, store.Window{Since: w.Since, Until: w.Until, Step: 5 * time.Minute})
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
		if len(got.Rules) != 2 || got.Rules[0].Total != 30 || got.Rules[1].Total != 6 || got.Step != 300 {
			t.Errorf("rules %+v", got.Rules)
		}
	})
	t.Run("top apps", func(t *testing.T) {
		var got struct{ Apps []store.AppTotal }
		getJSON(t, h, "/api/top/apps?since=1h&limit=2", 200, &got)
		want, _ := f.st.TopApps(ctx, w, 2)
		if !reflect.DeepEqual(got.Apps, want) || len(want) != 2 {
			t.Errorf("\n got %+v\nwant %+v", got.Apps, want)
		}
	})
	t.Run("top hosts", func(t *testing.T) {
		var got struct{ Hosts []store.HostTotal }
		getJSON(t, h, "/api/top/hosts?since=1h", 200, &got)
		want, _ := f.st.TopHosts(ctx, w, 10)
		if !reflect.DeepEqual(got.Hosts, want) || len(want) != 3 {
			t.Errorf("\n got %+v\nwant %+v", got.Hosts, want)
		}
	})
	t.Run("top rules", func(t *testing.T) {
		var got struct{ Rules []store.RuleTotal }
		getJSON(t, h, "/api/top/rules?since=1h", 200, &got)
		want, _ := f.st.TopRules(ctx, w, 10)
		if !reflect.DeepEqual(got.Rules, want) || len(want) != 2 {
			t.Errorf("\n got %+v\nwant %+v", got.Rules, want)
		}
	})
	t.Run("events", func(t *testing.T) {
		var got struct{ Events []store.Event }
		getJSON(t, h, "/api/events?limit=7", 200, &got)
		want, _ := f.st.Events(ctx, 7)
		if !reflect.DeepEqual(got.Events, want) || len(want) != 7 {
			t.Errorf("\n got %+v\nwant %+v", got.Events, want)
		}
	})
	t.Run("summary", func(t *testing.T) {
		var got struct {
			Flows, Bytes, Packets, Events uint64
			LastMinute                    *time.Time `json:"last_minute"`
		}
		getJSON(t, h, "/api/summary?since=1h", 200, &got)
		if got.Flows != 70 || got.Events != 36 || got.LastMinute == nil || !got.LastMinute.Equal(testNow.Truncate(time.Minute)) {
			t.Errorf("summary %+v", got)
		}
	})
	t.Run("policy", func(t *testing.T) {
		var got policyJSON
		getJSON(t, h, "/api/policy", 200, &got)
		p, _, _ := f.st.ActivePolicy(ctx)
		if !got.Active || got.SHA256 != p.SHA256 || got.Source != testPolicy || !got.Loaded.Equal(p.Loaded) {
			t.Errorf("policy %+v", got)
		}
		want := []RuleView{
			{"block-social", "app: facebook, twitter", "always", "block"},
			{"night-video", "category: video; group: campus", "days: mon, tue; from: 18:00; to: 06:00", "throttle 1mbit"},
			{"keyword", "host_contains: <script>casino", "always", "drop"},
		}
		if !reflect.DeepEqual(got.Rules, want) || got.Default != "allow" || got.Notice != "https://notices.example/weir" {
			t.Errorf("\n got %+v\nwant %+v", got.Rules, want)
		}
	})
	t.Run("health", func(t *testing.T) {
		var got struct{ Status string }
		getJSON(t, h, "/api/health", 200, &got)
		if got.Status != "ok" {
			t.Errorf("health %+v", got)
		}
	})
	t.Run("bad params", func(t *testing.T) {
		for _, u := range []string{"/api/traffic?since=yesterday", "/api/traffic?step=-5", "/api/top/apps?limit=x",
			"/api/events?limit=0", "/api/blocked?since=2099-01-01T00:00:00Z"} {
			var e apiError
			getJSON(t, h, u, 400, &e)
			if e.Error == "" {
				t.Errorf("%s: no error message", u)
			}
		}
		var e apiError
		getJSON(t, h, "/api/nope", 404, &e)
	})
	t.Run("since forms", func(t *testing.T) {
		var a, b struct{ Apps []store.AppTotal }
		getJSON(t, h, "/api/top/apps?since="+testNow.Add(-time.Hour).Format(time.RFC3339), 200, &a)
		getJSON(t, h, "/api/top/apps?since="+itoa(testNow.Add(-time.Hour).Unix()), 200, &b)
		if !reflect.DeepEqual(a, b) || len(a.Apps) != 3 {
			t.Errorf("rfc3339 %+v vs unix %+v", a, b)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEmptyStore(t *testing.T) {
	cfg := store.DefaultConfig()
	st, err := store.Open(filepath.Join(t.TempDir(), "empty.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := New(DefaultConfig(), Dependencies{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var ts store.TrafficSeries
	getJSON(t, h, "/api/traffic", 200, &ts)
	if ts.Apps == nil || len(ts.Apps) != 0 || len(ts.Times) == 0 {
		t.Errorf("traffic %+v", ts)
	}
	var p policyJSON
	getJSON(t, h, "/api/policy", 200, &p)
	if p.Active || p.Rules == nil {
		t.Errorf("policy %+v", p)
	}
	var ev struct{ Events []store.Event }
	getJSON(t, h, "/api/events", 200, &ev)
	if ev.Events == nil {
		t.Error("events is null, want []")
	}
	// No metrics handler configured.
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	if rr.Code != 404 {
		t.Errorf("/metrics without metrics: %d", rr.Code)
	}
}

func TestStaticAndHeaders(t *testing.T) {
	f := newFixture(t, testNow)
	h := f.handler(t)
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<div id="errors"`},
		{"/app.js", "javascript", "textContent"},
		{"/style.css", "text/css", "--accent"},
		{"/metrics", "text/plain", "weir_flows_total"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f.m.Write(&record.Record{C2SPackets: 1})
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, httptest.NewRequest("GET", tc.path, nil))
			if rr.Code != 200 || !strings.Contains(rr.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(rr.Body.String(), tc.contains) {
				t.Errorf("status %d type %q body %.200s", rr.Code, rr.Header().Get("Content-Type"), rr.Body)
			}
			if csp := rr.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
	// The UI never writes data into the DOM as HTML.
	js, _ := assets.ReadFile("assets/app.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("POST", "/api/events", nil))
	if rr.Code != http.StatusMethodNotAllowed && rr.Code != http.StatusNotFound {
		t.Errorf("POST: %d", rr.Code)
	}
}

func TestRenderPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"valid", testPolicy, true},
		{"not yaml", "rules: [", false},
		{"scalar", "just text", false},
		{"empty rules", "default: block\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := RenderPolicy([]byte(tc.src))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if tc.ok && v.Rules == nil {
				t.Error("nil rules")
			}
		})
	}
}

func FuzzRenderPolicy(f *testing.F) {
	f.Add([]byte(testPolicy))
	f.Add([]byte("rules:\n  - *a\n"))
	f.Add([]byte("rules: {a: b}\ndefault: [x]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		RenderPolicy(src)
	})
}

// A store made from an old capture: relative windows count back from its
// last minute of data, so the dashboard of `weir inspect --store` shows it.
func TestWindowAnchorsOnOldStore(t *testing.T) {
	dataNow := time.Date(2016, 8, 28, 14, 5, 0, 0, time.UTC)
	f := newFixture(t, dataNow)
	f.now = dataNow.AddDate(10, 0, 0) // the dashboard opens ten years later
	h := f.handler(t)
	var sum struct {
		Flows uint64 `json:"flows"`
	}
	getJSON(t, h, "/api/summary", http.StatusOK, &sum)
	if sum.Flows == 0 {
		t.Errorf("summary of an old store is empty; want the last hour of its data")
	}
}
