package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

func TestAggregation(t *testing.T) {
	s := openTest(t, testConfig())
	k := s.Sink()
	m1 := t0.Add(10 * time.Second)
	m2 := t0.Add(70 * time.Second)
	for range 3 {
		k.Write(rec(m1, dissect.TLS, "facebook", "social", "www.facebook.com", "block", 1000))
	}
	k.Write(rec(m1, dissect.QUIC, "youtube", "video", "r1.googlevideo.com", "allow", 50000))
	k.Write(rec(m2, dissect.QUIC, "youtube", "video", "r1.googlevideo.com", "allow", 70000))
	// A record without classification counts as app "unknown".
	k.Write(&record.Record{L4: 17, Last: m2.UnixNano(), C2SPackets: 1, C2SBytes: 60})
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	// A second flush adds to the first (UPSERT), it does not replace it.
	k.Write(rec(m1, dissect.TLS, "facebook", "social", "www.facebook.com", "block", 1000))
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}

	type row struct {
		Minute                   int64
		App, Cat, Proto, Verdict string
		Flows, Packets, Bytes    int64
	}
	rows, err := s.DB().Query(`SELECT minute, app, category, protocol, verdict, flows, packets, bytes FROM traffic_minute ORDER BY minute, app`)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Minute, &r.App, &r.Cat, &r.Proto, &r.Verdict, &r.Flows, &r.Packets, &r.Bytes); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	m := t0.Unix()
	want := []row{
		{m, "facebook", "social", "TLS", "block", 4, 8, 4000},
		{m, "youtube", "video", "QUIC", "allow", 1, 2 + 2*(50000/4000), 50000},
		{m + 60, "unknown", "", "Unknown", "none", 1, 1, 60},
		{m + 60, "youtube", "video", "QUIC", "allow", 1, 2 + 2*(70000/4000), 70000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("traffic_minute:\n got %+v\nwant %+v", got, want)
	}
	var hosts int
	s.DB().QueryRow(`SELECT COUNT(*) FROM host_minute`).Scan(&hosts)
	if hosts != 3 {
		t.Errorf("host rows = %d, want 3", hosts)
	}
}

func TestQueries(t *testing.T) {
	s := openTest(t, testConfig())
	ctx := context.Background()
	k, ek := s.Sink(), s.EventSink()
	for i := range 5 { // minutes 0..4
		at := t0.Add(time.Duration(i)*time.Minute + 5*time.Second)
		k.Write(rec(at, dissect.TLS, "facebook", "social", "www.facebook.com", "block", 1000))
		k.Write(rec(at, dissect.QUIC, "youtube", "video", "youtube.com", "allow", uint64(10000*(i+1))))
		if i%2 == 0 {
			k.Write(rec(at, dissect.DNS, "dns", "network", "", "allow", 100))
		}
		ek.Event(&record.Event{Time: at, L4: 6, Client: "10.0.0.1:1000", Server: "157.240.0.1:443",
			Rule: "block-social", Action: "block", Protocol: "TLS", App: "facebook", Host: "www.facebook.com", Notice: "tcp-reset"})
		if i >= 3 {
			ek.Event(&record.Event{Time: at.Add(time.Second), L4: 17, Rule: "keyword", Action: "drop", Notice: "none"})
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	w := Window{Since: t0, Until: t0.Add(5 * time.Minute), Step: 2 * time.Minute}

	t.Run("traffic", func(t *testing.T) {
		ts, err := s.Traffic(ctx, w, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := &TrafficSeries{Start: t0.Unix(), Step: 120, Times: []int64{t0.Unix(), t0.Unix() + 120, t0.Unix() + 240},
			Apps: []AppSeries{
				{App: "youtube", Bytes: []uint64{30000, 70000, 50000}, Flows: []uint64{2, 2, 1}, Total: 150000},
				{App: "facebook", Bytes: []uint64{2000, 2000, 1000}, Flows: []uint64{2, 2, 1}, Total: 5000},
				{App: "other", Bytes: []uint64{100, 100, 100}, Flows: []uint64{1, 1, 1}, Total: 300},
			}}
		if !reflect.DeepEqual(ts, want) {
			t.Errorf("\n got %+v\nwant %+v", ts, want)
		}
	})
	t.Run("blocked", func(t *testing.T) {
		es, err := s.Blocked(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		want := []RuleSeries{
			{Rule: "block-social", Events: []uint64{2, 2, 1}, Total: 5},
			{Rule: "keyword", Events: []uint64{0, 1, 1}, Total: 2},
		}
		if !reflect.DeepEqual(es.Rules, want) || len(es.Times) != 3 {
			t.Errorf("\n got %+v\nwant %+v", es.Rules, want)
		}
	})
	t.Run("top apps", func(t *testing.T) {
		got, err := s.TopApps(ctx, w, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []AppTotal{
			{App: "youtube", Category: "video", Flows: 5, Packets: 10 + 2*(2+5+7+10+12), Bytes: 150000},
			{App: "facebook", Category: "social", Flows: 5, Packets: 10, Bytes: 5000},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("top hosts", func(t *testing.T) {
		got, err := s.TopHosts(ctx, w, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []HostTotal{{"youtube.com", "youtube", 5, 150000}, {"www.facebook.com", "facebook", 5, 5000}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("top rules", func(t *testing.T) {
		got, err := s.TopRules(ctx, w, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Rule != "block-social" || got[0].Events != 5 || got[1].Rule != "keyword" ||
			got[1].Action != "drop" || got[1].Events != 2 || !got[1].Last.Equal(t0.Add(4*time.Minute+6*time.Second)) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("events", func(t *testing.T) {
		got, err := s.Events(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("got %d events", len(got))
		}
		if got[0].Rule != "keyword" || got[0].L4 != "udp" || !got[0].Time.Equal(t0.Add(4*time.Minute+6*time.Second)) {
			t.Errorf("newest = %+v", got[0])
		}
		e := got[1]
		want := Event{ID: e.ID, Time: t0.Add(4*time.Minute + 5*time.Second), Rule: "block-social", Action: "block", L4: "tcp",
			Client: "10.0.0.1:1000", Server: "157.240.0.1:443", Protocol: "TLS", App: "facebook", Host: "www.facebook.com", Notice: "tcp-reset"}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("\n got %+v\nwant %+v", e, want)
		}
	})
	t.Run("totals", func(t *testing.T) {
		got, err := s.Totals(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if got.Flows != 13 || got.Bytes != 150000+5000+300 || got.Events != 7 || !got.LastMinute.Equal(t0.Add(4*time.Minute)) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("empty window", func(t *testing.T) {
		e := Window{Since: t0.Add(-time.Hour), Until: t0.Add(-30 * time.Minute), Step: time.Minute}
		ts, err := s.Traffic(ctx, e, 5)
		if err != nil || len(ts.Apps) != 0 || len(ts.Times) != 30 {
			t.Errorf("traffic = %+v, %v", ts, err)
		}
		apps, err := s.TopApps(ctx, e, 5)
		if err != nil || apps == nil || len(apps) != 0 {
			t.Errorf("apps = %#v, %v", apps, err)
		}
	})
}

func TestWindowBuckets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w       Window
		step, n int64
	}{
		{"hour by minute", Window{t0, t0.Add(time.Hour), time.Minute}, 60, 60},
		{"sub-minute step rounds up", Window{t0, t0.Add(10 * time.Minute), time.Second}, 60, 10},
		{"unaligned since", Window{t0.Add(30 * time.Second), t0.Add(2 * time.Minute), time.Minute}, 60, 2},
		{"too many buckets widen the step", Window{t0, t0.Add(30 * 24 * time.Hour), time.Minute}, 1800, 1440},
		{"empty", Window{t0, t0, time.Minute}, 60, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, step, n := tc.w.buckets()
			if step != tc.step || n != tc.n {
				t.Errorf("step, n = %d, %d; want %d, %d", step, n, tc.step, tc.n)
			}
		})
	}
}

func TestTopHostsBounded(t *testing.T) {
	cfg := testConfig()
	cfg.TopHosts = 3
	s := openTest(t, cfg)
	k := s.Sink()
	// Minute 0 gets 50 hosts; host i has i*100 bytes.
	for i := 1; i <= 50; i++ {
		k.Write(rec(t0.Add(time.Second), dissect.TLS, "web", "", fmt.Sprintf("h%02d.example", i), "allow", uint64(i*100)))
	}
	s.Flush()
	count := func(min time.Time) (n int) {
		s.DB().QueryRow(`SELECT COUNT(*) FROM host_minute WHERE minute = ?`, min.Unix()).Scan(&n)
		return n
	}
	// Still the current minute: kept to 10*TopHosts.
	if n := count(t0); n != 30 {
		t.Errorf("current minute keeps %d hosts, want 30", n)
	}
	// Two minutes later minute 0 is over and trimmed to TopHosts.
	k.Write(rec(t0.Add(2*time.Minute+time.Second), dissect.TLS, "web", "", "late.example", "allow", 1))
	s.Flush()
	if n := count(t0); n != 3 {
		t.Errorf("closed minute keeps %d hosts, want 3", n)
	}
	got, err := s.TopHosts(context.Background(), Window{Since: t0, Until: t0.Add(time.Minute)}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []HostTotal{{"h50.example", "web", 1, 5000}, {"h49.example", "web", 1, 4900}, {"h48.example", "web", 1, 4800}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestPendingHostsBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPendingHosts = 10
	cfg.FlushInterval = time.Hour // only explicit flushes
	s := openTest(t, cfg)
	for i := range 25 {
		s.Sink().Write(rec(t0, dissect.TLS, "web", "", fmt.Sprintf("h%d", i), "allow", 10))
	}
	s.Flush()
	if st := s.Stats(); st.DroppedHosts != 15 {
		t.Errorf("dropped hosts = %d, want 15", st.DroppedHosts)
	}
	var flows int
	s.DB().QueryRow(`SELECT SUM(flows) FROM traffic_minute`).Scan(&flows)
	if flows != 25 {
		t.Errorf("traffic keeps every flow: got %d, want 25", flows)
	}
}

func TestRetention(t *testing.T) {
	cfg := testConfig()
	cfg.Retention = 24 * time.Hour
	s := openTest(t, cfg)
	ctx := context.Background()
	old, recent := t0.Add(-48*time.Hour), t0
	for _, at := range []time.Time{old, recent} {
		s.Sink().Write(rec(at, dissect.TLS, "web", "", "h.example", "allow", 10))
		s.EventSink().Event(&record.Event{Time: at, Rule: "r", Action: "block"})
		if _, err := s.RecordPolicy(ctx, at, []byte("default: allow # "+at.String())); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	n, err := s.Prune(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("pruned %d rows, want 4 (one of each table)", n)
	}
	for _, tbl := range []string{"traffic_minute", "host_minute", "events", "policies"} {
		var c int
		s.DB().QueryRow(`SELECT COUNT(*) FROM ` + tbl).Scan(&c)
		if c != 1 {
			t.Errorf("%s has %d rows, want 1", tbl, c)
		}
	}
	// The active policy survives even when older than the retention.
	if _, err := s.Prune(ctx, t0.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ActivePolicy(ctx); !ok {
		t.Error("active policy was pruned")
	}
}

func TestRetentionRunsPeriodically(t *testing.T) {
	cfg := testConfig()
	cfg.Retention = time.Hour
	cfg.RetentionEvery = time.Nanosecond
	var mu sync.Mutex
	now := t0
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openTest(t, cfg)
	s.Sink().Write(rec(t0, dissect.TLS, "web", "", "", "allow", 10))
	s.Flush()
	mu.Lock()
	now = t0.Add(3 * time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var c int
		s.DB().QueryRow(`SELECT COUNT(*) FROM traffic_minute`).Scan(&c)
		if c == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("old rows were not pruned by the writer")
}

func TestPolicy(t *testing.T) {
	s := openTest(t, testConfig())
	ctx := context.Background()
	if _, ok, err := s.ActivePolicy(ctx); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	src := []byte("rules: []\ndefault: allow\n")
	for i, want := range []bool{true, false} {
		added, err := s.RecordPolicy(ctx, t0.Add(time.Duration(i)*time.Minute), src)
		if err != nil || added != want {
			t.Fatalf("RecordPolicy #%d = %v, %v; want %v", i, added, err, want)
		}
	}
	s.RecordPolicy(ctx, t0.Add(time.Hour), []byte("default: block\n"))
	p, ok, err := s.ActivePolicy(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	sum := sha256.Sum256([]byte("default: block\n"))
	want := Policy{Loaded: t0.Add(time.Hour), Source: "default: block\n", SHA256: hex.EncodeToString(sum[:])}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("\n got %+v\nwant %+v", p, want)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	var v int
	s.DB().QueryRow(`SELECT version FROM schema_version`).Scan(&v)
	if v != SchemaVersion {
		t.Errorf("version %d, want %d", v, SchemaVersion)
	}
	// A file from the future is refused, read-write and read-only.
	s.DB().Exec(`UPDATE schema_version SET version = 99`)
	s.Close()
	if _, err := Open(path, testConfig()); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("open newer: %v, want ErrNewerSchema", err)
	}
	ro := testConfig()
	ro.ReadOnly = true
	if _, err := Open(path, ro); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("open newer read-only: %v, want ErrNewerSchema", err)
	}
	// Reopening a current file is a no-op.
	path2 := filepath.Join(t.TempDir(), "m2.db")
	for range 2 {
		s, err := Open(path2, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	ro := testConfig()
	ro.ReadOnly = true
	if _, err := Open(path, ro); err == nil {
		t.Error("read-only open of a missing file succeeded")
	}
	w, err := Open(path, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	w.Sink().Write(rec(t0, dissect.TLS, "web", "", "", "allow", 10))
	w.Close()
	r, err := Open(path, ro)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Sink().Write(rec(t0, dissect.TLS, "web", "", "", "allow", 10)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write to read-only store: %v", err)
	}
	apps, err := r.TopApps(context.Background(), Window{Since: t0, Until: t0.Add(time.Hour)}, 5)
	if err != nil || len(apps) != 1 || apps[0].Flows != 1 {
		t.Errorf("apps %+v, %v", apps, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"flush", func(c *Config) { c.FlushInterval = 0 }},
		{"queue", func(c *Config) { c.QueueLen = 0 }},
		{"top", func(c *Config) { c.TopHosts = -1 }},
		{"pending", func(c *Config) { c.MaxPendingHosts = 0 }},
		{"retention", func(c *Config) { c.Retention = -time.Hour }},
		{"retention every", func(c *Config) { c.Retention = time.Hour; c.RetentionEvery = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if _, err := Open(filepath.Join(t.TempDir(), "x.db"), c); !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want ErrConfig", err)
			}
		})
	}
}

// TestConcurrentReaders reads while the writer flushes continuously: no
// SQLITE_BUSY errors reach readers (WAL), and totals only grow.
func TestConcurrentReaders(t *testing.T) {
	cfg := testConfig()
	cfg.FlushInterval = time.Millisecond
	s := openTest(t, cfg)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		k := s.Sink()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k.Write(rec(t0.Add(time.Duration(i%600)*time.Second), dissect.TLS, fmt.Sprintf("app%d", i%7), "", fmt.Sprintf("h%d", i%50), "allow", 100))
			s.EventSink().Event(&record.Event{Time: t0.Add(time.Duration(i%600) * time.Second), Rule: "r", Action: "block"})
			if i%64 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	w := Window{Since: t0, Until: t0.Add(10 * time.Minute), Step: time.Minute}
	var last uint64
	errc := make(chan error, 4)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var err error
				switch r {
				case 0:
					var tt Totals
					tt, err = s.Totals(ctx, w)
					if err == nil && r == 0 {
						if tt.Flows < last {
							err = fmt.Errorf("flows went down: %d < %d", tt.Flows, last)
						}
						last = tt.Flows
					}
				case 1:
					_, err = s.Traffic(ctx, w, 5)
				case 2:
					_, err = s.TopHosts(ctx, w, 5)
				}
				if err != nil {
					errc <- err
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if st := s.Stats(); st.FlushErrors != 0 || st.Flushes == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSinkDropsWhenFull(t *testing.T) {
	cfg := testConfig()
	cfg.QueueLen = 4
	cfg.FlushInterval = time.Hour
	s := openTest(t, cfg)
	// Stall the writer on SQLite's write lock (held by another connection)
	// so the queue fills.
	conn, err := s.DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`)
	if err != nil {
		t.Fatal(err)
	}
	// The writer is idle, so first make it busy: a flush blocks on the lock.
	s.Sink().Write(rec(t0, dissect.TLS, "web", "", "", "allow", 10))
	done := make(chan error)
	go func() { done <- s.Flush() }()
	time.Sleep(50 * time.Millisecond)
	r := rec(t0, dissect.TLS, "web", "", "", "allow", 10)
	// QueueLen 4 rounds up to the minimum of two batches.
	for range 2*batchLen + 88 {
		if err := s.Sink().Write(r); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.DroppedRecords != 88 || st.QueueDepth != 2*batchLen {
		t.Errorf("stats %+v, want 88 dropped and %d queued", st, 2*batchLen)
	}
	conn.ExecContext(context.Background(), `ROLLBACK`)
	conn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.Flush()
	var flows int
	s.DB().QueryRow(`SELECT SUM(flows) FROM traffic_minute`).Scan(&flows)
	if flows != 1+2*batchLen {
		t.Errorf("flows %d, want %d", flows, 1+2*batchLen)
	}
}

func TestSinkNoAllocs(t *testing.T) {
	cfg := testConfig()
	cfg.QueueLen = 1 << 16
	cfg.FlushInterval = time.Hour
	s := openTest(t, cfg)
	r := rec(t0, dissect.TLS, "facebook", "social", "www.facebook.com", "block", 1000)
	e := &record.Event{Time: t0, Rule: "r", Action: "block", Host: "x"}
	k, ek := s.Sink(), s.EventSink()
	if n := testing.AllocsPerRun(1000, func() { k.Write(r); ek.Event(e) }); n != 0 {
		t.Errorf("Write+Event allocate %v per run", n)
	}
}

func TestMinuteOf(t *testing.T) {
	for _, tc := range []struct{ ns, want int64 }{
		{0, 0}, {59_999_999_999, 0}, {60e9, 60}, {-1, -60}, {-60e9, -60}, {-60e9 - 1, -120},
		{t0.Add(59 * time.Second).UnixNano(), t0.Unix()},
	} {
		if got := minuteOf(tc.ns); got != tc.want {
			t.Errorf("minuteOf(%d) = %d, want %d", tc.ns, got, tc.want)
		}
	}
}
