package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxBuckets bounds the points of one time series; a longer range gets a
// wider step.
const MaxBuckets = 1440

// Window is a query's time range [Since, Until) and, for series, its step.
type Window struct {
	Since, Until time.Time
	Step         time.Duration // series only; rounded up to whole minutes
}

// buckets aligns the window to minutes: start is Since's minute, step a
// multiple of 60 s, and n buckets cover up to Until.
func (w Window) buckets() (start, step, n int64) {
	start = minuteOf(w.Since.UnixNano())
	end := w.Until.Unix()
	step = int64((w.Step + time.Minute - 1) / time.Minute * 60)
	if step < 60 {
		step = 60
	}
	if end <= start {
		return start, step, 0
	}
	n = (end - start + step - 1) / step
	if n > MaxBuckets {
		step = ((end-start+MaxBuckets-1)/MaxBuckets + 59) / 60 * 60
		n = (end - start + step - 1) / step
	}
	return start, step, n
}

// TrafficSeries is traffic over time, one series per app.
type TrafficSeries struct {
	Start int64       `json:"start"` // Unix seconds of the first bucket
	Step  int64       `json:"step"`  // seconds per bucket
	Times []int64     `json:"times"` // bucket starts (Unix seconds)
	Apps  []AppSeries `json:"series"`
}

// AppSeries is one app's bytes and flows per bucket.
type AppSeries struct {
	App   string   `json:"app"`
	Bytes []uint64 `json:"bytes"`
	Flows []uint64 `json:"flows"`
	Total uint64   `json:"total_bytes"`
}

// OtherApp names the series that sums apps past the top N.
const OtherApp = "other"

// Traffic returns bytes and flows per app per bucket, apps ordered by total
// bytes (heaviest first); apps past the top `top` are summed into "other".
func (s *Store) Traffic(ctx context.Context, w Window, top int) (*TrafficSeries, error) {
	start, step, n := w.buckets()
	ts := &TrafficSeries{Start: start, Step: step, Times: times(start, step, n), Apps: []AppSeries{}}
	if n == 0 {
		return ts, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT (minute - ?1) / ?2, app, SUM(bytes), SUM(flows)
		FROM traffic_minute WHERE minute >= ?1 AND minute < ?3 GROUP BY 1, 2`, start, step, start+n*step)
	if err != nil {
		return nil, fmt.Errorf("store: traffic: %w", err)
	}
	defer rows.Close()
	byApp := map[string]*AppSeries{}
	for rows.Next() {
		var b int64
		var app string
		var bytes, flows int64
		if err := rows.Scan(&b, &app, &bytes, &flows); err != nil {
			return nil, fmt.Errorf("store: traffic: %w", err)
		}
		if b < 0 || b >= n {
			continue
		}
		a := byApp[app]
		if a == nil {
			a = &AppSeries{App: app, Bytes: make([]uint64, n), Flows: make([]uint64, n)}
			byApp[app] = a
		}
		a.Bytes[b] += uint64(bytes)
		a.Flows[b] += uint64(flows)
		a.Total += uint64(bytes)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: traffic: %w", err)
	}
	all := make([]*AppSeries, 0, len(byApp))
	for _, a := range byApp {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *AppSeries) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.App, b.App))
	})
	var other *AppSeries
	for i, a := range all {
		if top <= 0 || i < top {
			ts.Apps = append(ts.Apps, *a)
			continue
		}
		if other == nil {
			other = &AppSeries{App: OtherApp, Bytes: make([]uint64, n), Flows: make([]uint64, n)}
		}
		for j := range a.Bytes {
			other.Bytes[j] += a.Bytes[j]
			other.Flows[j] += a.Flows[j]
		}
		other.Total += a.Total
	}
	if other != nil {
		// An app literally named "other" in the top N absorbs the rest.
		if i := slices.IndexFunc(ts.Apps, func(a AppSeries) bool { return a.App == OtherApp }); i >= 0 {
			o := &ts.Apps[i]
			for j := range o.Bytes {
				o.Bytes[j] += other.Bytes[j]
				o.Flows[j] += other.Flows[j]
			}
			o.Total += other.Total
		} else {
			ts.Apps = append(ts.Apps, *other)
		}
	}
	return ts, nil
}

func times(start, step, n int64) []int64 {
	t := make([]int64, n)
	for i := range t {
		t[i] = start + int64(i)*step
	}
	return t
}

// EventSeries is enforcement events over time, one series per rule.
type EventSeries struct {
	Start int64        `json:"start"`
	Step  int64        `json:"step"`
	Times []int64      `json:"times"`
	Rules []RuleSeries `json:"series"`
}

// RuleSeries is one rule's events per bucket.
type RuleSeries struct {
	Rule   string   `json:"rule"`
	Events []uint64 `json:"events"`
	Total  uint64   `json:"total"`
}

// Blocked returns enforcement events per rule per bucket, rules ordered by
// total (most first).
func (s *Store) Blocked(ctx context.Context, w Window) (*EventSeries, error) {
	start, step, n := w.buckets()
	es := &EventSeries{Start: start, Step: step, Times: times(start, step, n), Rules: []RuleSeries{}}
	if n == 0 {
		return es, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT (time_ns / 1000000000 - ?1) / ?2, rule, COUNT(*)
		FROM events WHERE time_ns >= ?3 AND time_ns < ?4 GROUP BY 1, 2`,
		start, step, start*1e9, (start+n*step)*1e9)
	if err != nil {
		return nil, fmt.Errorf("store: blocked: %w", err)
	}
	defer rows.Close()
	byRule := map[string]*RuleSeries{}
	for rows.Next() {
		var b, c int64
		var rule string
		if err := rows.Scan(&b, &rule, &c); err != nil {
			return nil, fmt.Errorf("store: blocked: %w", err)
		}
		if b < 0 || b >= n {
			continue
		}
		r := byRule[rule]
		if r == nil {
			r = &RuleSeries{Rule: rule, Events: make([]uint64, n)}
			byRule[rule] = r
		}
		r.Events[b] += uint64(c)
		r.Total += uint64(c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: blocked: %w", err)
	}
	for _, r := range byRule {
		es.Rules = append(es.Rules, *r)
	}
	slices.SortFunc(es.Rules, func(a, b RuleSeries) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Rule, b.Rule))
	})
	return es, nil
}

// AppTotal is one app's traffic in a window.
type AppTotal struct {
	App      string `json:"app"`
	Category string `json:"category"`
	Flows    uint64 `json:"flows"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
}

// TopApps returns the n apps with the most bytes in the window.
func (s *Store) TopApps(ctx context.Context, w Window, n int) ([]AppTotal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app, MAX(category), SUM(flows), SUM(packets), SUM(bytes)
		FROM traffic_minute WHERE minute >= ? AND minute < ? GROUP BY app
		ORDER BY 5 DESC, 3 DESC, 1 LIMIT ?`, minuteOf(w.Since.UnixNano()), w.Until.Unix(), limit(n))
	if err != nil {
		return nil, fmt.Errorf("store: top apps: %w", err)
	}
	defer rows.Close()
	out := []AppTotal{}
	for rows.Next() {
		var a AppTotal
		var f, p, b int64
		if err := rows.Scan(&a.App, &a.Category, &f, &p, &b); err != nil {
			return nil, fmt.Errorf("store: top apps: %w", err)
		}
		a.Flows, a.Packets, a.Bytes = uint64(f), uint64(p), uint64(b)
		out = append(out, a)
	}
	return out, rows.Err()
}

// HostTotal is one host's traffic in a window.
type HostTotal struct {
	Host  string `json:"host"`
	App   string `json:"app"`
	Flows uint64 `json:"flows"`
	Bytes uint64 `json:"bytes"`
}

// TopHosts returns the n (host, app) pairs with the most bytes in the
// window, from the per-minute top hosts.
func (s *Store) TopHosts(ctx context.Context, w Window, n int) ([]HostTotal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT host, app, SUM(flows), SUM(bytes)
		FROM host_minute WHERE minute >= ? AND minute < ? GROUP BY host, app
		ORDER BY 4 DESC, 3 DESC, 1, 2 LIMIT ?`, minuteOf(w.Since.UnixNano()), w.Until.Unix(), limit(n))
	if err != nil {
		return nil, fmt.Errorf("store: top hosts: %w", err)
	}
	defer rows.Close()
	out := []HostTotal{}
	for rows.Next() {
		var h HostTotal
		var f, b int64
		if err := rows.Scan(&h.Host, &h.App, &f, &b); err != nil {
			return nil, fmt.Errorf("store: top hosts: %w", err)
		}
		h.Flows, h.Bytes = uint64(f), uint64(b)
		out = append(out, h)
	}
	return out, rows.Err()
}

// RuleTotal is one rule's enforcement events in a window.
type RuleTotal struct {
	Rule   string    `json:"rule"`
	Action string    `json:"action"`
	Events uint64    `json:"events"`
	Last   time.Time `json:"last"`
}

// TopRules returns the n (rule, action) pairs with the most events.
func (s *Store) TopRules(ctx context.Context, w Window, n int) ([]RuleTotal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rule, action, COUNT(*), MAX(time_ns)
		FROM events WHERE time_ns >= ? AND time_ns < ? GROUP BY rule, action
		ORDER BY 3 DESC, 1, 2 LIMIT ?`, w.Since.UnixNano(), w.Until.UnixNano(), limit(n))
	if err != nil {
		return nil, fmt.Errorf("store: top rules: %w", err)
	}
	defer rows.Close()
	out := []RuleTotal{}
	for rows.Next() {
		var r RuleTotal
		var c, last int64
		if err := rows.Scan(&r.Rule, &r.Action, &c, &last); err != nil {
			return nil, fmt.Errorf("store: top rules: %w", err)
		}
		r.Events, r.Last = uint64(c), time.Unix(0, last).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Event is a stored enforcement event.
type Event struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Action   string    `json:"action"`
	L4       string    `json:"l4"`
	Client   string    `json:"client"`
	Server   string    `json:"server"`
	Protocol string    `json:"protocol"`
	App      string    `json:"app"`
	Host     string    `json:"host"`
	Notice   string    `json:"notice"`
}

// Events returns the latest n events, newest first.
func (s *Store) Events(ctx context.Context, n int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time_ns, rule, action, l4, client, server, protocol, app, host, notice
		FROM events ORDER BY time_ns DESC, id DESC LIMIT ?`, limit(n))
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var ns int64
		if err := rows.Scan(&e.ID, &ns, &e.Rule, &e.Action, &e.L4, &e.Client, &e.Server,
			&e.Protocol, &e.App, &e.Host, &e.Notice); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		e.Time = time.Unix(0, ns).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Totals sums a window: flows, packets, bytes and events.
type Totals struct {
	Flows   uint64 `json:"flows"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Events  uint64 `json:"events"`
	// LastMinute is the latest minute with traffic in the whole store (zero
	// when empty), so a UI can tell "no traffic now" from "no data at all".
	LastMinute time.Time `json:"last_minute"`
}

// Totals returns the window's sums.
func (s *Store) Totals(ctx context.Context, w Window) (Totals, error) {
	var t Totals
	var f, p, b, e, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT SUM(flows) FROM traffic_minute WHERE minute >= ?1 AND minute < ?2),
		(SELECT SUM(packets) FROM traffic_minute WHERE minute >= ?1 AND minute < ?2),
		(SELECT SUM(bytes) FROM traffic_minute WHERE minute >= ?1 AND minute < ?2),
		(SELECT COUNT(*) FROM events WHERE time_ns >= ?3 AND time_ns < ?4),
		(SELECT MAX(minute) FROM traffic_minute)`,
		minuteOf(w.Since.UnixNano()), w.Until.Unix(), w.Since.UnixNano(), w.Until.UnixNano()).Scan(&f, &p, &b, &e, &last)
	if err != nil {
		return t, fmt.Errorf("store: totals: %w", err)
	}
	t.Flows, t.Packets, t.Bytes, t.Events = uint64(f.Int64), uint64(p.Int64), uint64(b.Int64), uint64(e.Int64)
	if last.Valid {
		t.LastMinute = time.Unix(last.Int64, 0).UTC()
	}
	return t, nil
}

// ActivePolicy returns the latest recorded policy; ok is false when none
// was recorded.
func (s *Store) ActivePolicy(ctx context.Context) (p Policy, ok bool, err error) {
	var ns int64
	err = s.db.QueryRowContext(ctx, `SELECT loaded_ns, sha256, source FROM policies ORDER BY id DESC LIMIT 1`).
		Scan(&ns, &p.SHA256, &p.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, false, nil
	}
	if err != nil {
		return Policy{}, false, fmt.Errorf("store: policy: %w", err)
	}
	p.Loaded = time.Unix(0, ns).UTC()
	return p, true, nil
}

// Ping checks the database answers (for /api/health).
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&v); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// limit turns n <= 0 into "no limit" and bounds the rest.
func limit(n int) int {
	if n <= 0 || n > 10000 {
		return 10000
	}
	return n
}

// LastMinute returns the latest minute with traffic in the store (zero
// when it holds none). Readers anchor relative windows there when the
// store was made from an old capture rather than live traffic.
func (s *Store) LastMinute(ctx context.Context) (time.Time, error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(minute) FROM traffic_minute`).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("store: last minute: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return time.Unix(last.Int64, 0).UTC(), nil
}
