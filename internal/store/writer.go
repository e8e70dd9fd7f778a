package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weirnet/weir/internal/record"
)

type aggKey struct {
	minute                        int64
	app, category, proto, verdict string
}

type aggVal struct{ flows, packets, bytes uint64 }

type hostKey struct {
	minute    int64
	host, app string
}

type hostVal struct{ flows, bytes uint64 }

// maxPendingEvents bounds events held between flushes; reaching it flushes
// early.
const maxPendingEvents = 4096

// writer is the single goroutine that owns the pending aggregates and the
// write transactions.
type writer struct {
	s         *Store
	agg       map[aggKey]aggVal
	hosts     map[hostKey]hostVal
	events    []record.Event
	open      map[int64]bool // minutes with host rows trimmed only loosely
	maxMinute int64
	lastPrune time.Time
}

func newWriter(s *Store) *writer {
	return &writer{
		s:     s,
		agg:   make(map[aggKey]aggVal),
		hosts: make(map[hostKey]hostVal),
		open:  make(map[int64]bool),
	}
}

func (w *writer) run() {
	s := w.s
	defer close(s.done)
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	w.lastPrune = s.cfg.Now()
	for {
		select {
		case b := <-s.full:
			w.addBatch(b)
		case e := <-s.evQ:
			w.addEvent(&e)
		case <-t.C:
			w.takePartial()
			w.flush()
			w.maybePrune()
		case reply := <-s.flushReq:
			w.drain()
			reply <- w.flush()
		case <-s.stop:
			w.drain()
			w.flush()
			return
		}
	}
}

func (w *writer) drain() {
	for {
		select {
		case b := <-w.s.full:
			w.addBatch(b)
		case e := <-w.s.evQ:
			w.addEvent(&e)
		default:
			w.takePartial()
			return
		}
	}
}

func (w *writer) takePartial() {
	if b := w.s.sink.takePartial(); b != nil {
		w.addBatch(b)
	}
}

// addBatch sums a batch and returns it to the free list, cleared so it
// holds no strings alive.
func (w *writer) addBatch(b *batch) {
	for i := range b.items[:b.n] {
		w.add(&b.items[i])
	}
	clear(b.items[:b.n])
	b.n = 0
	w.s.free <- b
}

func (w *writer) add(it *recItem) {
	k := aggKey{it.minute, it.app, it.category, it.proto, it.verdict}
	v := w.agg[k]
	v.flows++
	v.packets += it.packets
	v.bytes += it.bytes
	w.agg[k] = v
	w.maxMinute = max(w.maxMinute, it.minute)
	if it.host == "" {
		return
	}
	hk := hostKey{it.minute, it.host, it.app}
	hv, ok := w.hosts[hk]
	if !ok && len(w.hosts) >= w.s.cfg.MaxPendingHosts {
		w.s.dropHost.Add(1)
		return
	}
	hv.flows++
	hv.bytes += it.bytes
	w.hosts[hk] = hv
}

func (w *writer) addEvent(e *record.Event) {
	if e.Time.IsZero() {
		e.Time = w.s.cfg.Now()
	}
	w.events = append(w.events, *e)
	if len(w.events) >= maxPendingEvents {
		w.flush()
	}
}

func (w *writer) maybePrune() {
	s := w.s
	if s.cfg.Retention <= 0 {
		return
	}
	now := s.cfg.Now()
	if now.Sub(w.lastPrune) < s.cfg.RetentionEvery {
		return
	}
	w.lastPrune = now
	if _, err := s.Prune(context.Background(), now); err != nil {
		s.flushErrs.Add(1)
	}
}

// flush writes the pending sums in one transaction. On failure the pending
// data is dropped (and counted) so memory stays bounded while the disk is
// full or locked.
func (w *writer) flush() error {
	if len(w.agg) == 0 && len(w.hosts) == 0 && len(w.events) == 0 {
		return nil
	}
	err := w.write()
	if err != nil {
		w.s.flushErrs.Add(1)
	} else {
		w.s.flushes.Add(1)
	}
	clear(w.agg)
	clear(w.hosts)
	clear(w.events)
	w.events = w.events[:0]
	return err
}

func (w *writer) write() error {
	ctx := context.Background()
	tx, err := w.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	defer tx.Rollback()
	if len(w.agg) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO traffic_minute
			(minute, app, category, protocol, verdict, flows, packets, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (minute, app, category, protocol, verdict) DO UPDATE SET
			flows = flows + excluded.flows, packets = packets + excluded.packets, bytes = bytes + excluded.bytes`)
		if err != nil {
			return fmt.Errorf("store: flush: %w", err)
		}
		for k, v := range w.agg {
			if _, err := st.ExecContext(ctx, k.minute, k.app, k.category, k.proto, k.verdict,
				clampInt(v.flows), clampInt(v.packets), clampInt(v.bytes)); err != nil {
				return fmt.Errorf("store: flush traffic: %w", err)
			}
		}
	}
	if len(w.hosts) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO host_minute (minute, host, app, flows, bytes)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (minute, host, app) DO UPDATE SET
			flows = flows + excluded.flows, bytes = bytes + excluded.bytes`)
		if err != nil {
			return fmt.Errorf("store: flush: %w", err)
		}
		for k, v := range w.hosts {
			if _, err := st.ExecContext(ctx, k.minute, k.host, k.app, clampInt(v.flows), clampInt(v.bytes)); err != nil {
				return fmt.Errorf("store: flush hosts: %w", err)
			}
			w.open[k.minute] = true
		}
	}
	if err := w.trimHosts(ctx, tx); err != nil {
		return err
	}
	if len(w.events) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events
			(time_ns, rule, action, l4, client, server, protocol, app, host, notice)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("store: flush: %w", err)
		}
		for i := range w.events {
			e := &w.events[i]
			if _, err := st.ExecContext(ctx, e.Time.UnixNano(), e.Rule, e.Action, record.L4Name(e.L4),
				e.Client, e.Server, e.Protocol, e.App, e.Host, e.Notice); err != nil {
				return fmt.Errorf("store: flush events: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: flush commit: %w", err)
	}
	return nil
}

// trimHosts bounds host rows of every minute touched since it was last
// closed: 10*TopHosts while the minute is current (the latest one seen or
// the one before it, since flows ending late still add to it), TopHosts once
// it is over, after which it leaves the open set.
func (w *writer) trimHosts(ctx context.Context, tx *sql.Tx) error {
	if len(w.open) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `DELETE FROM host_minute WHERE minute = ?1 AND (host, app) NOT IN
		(SELECT host, app FROM host_minute WHERE minute = ?1 ORDER BY bytes DESC, flows DESC, host LIMIT ?2)`)
	if err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	n := w.s.cfg.TopHosts
	for m := range w.open {
		keep := n
		current := m >= w.maxMinute-60
		if current {
			keep = 10 * n
		}
		if _, err := st.ExecContext(ctx, m, keep); err != nil {
			return fmt.Errorf("store: trim hosts: %w", err)
		}
		if !current {
			delete(w.open, m)
		}
	}
	return nil
}

func clampInt(v uint64) int64 {
	if v > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(v)
}
