package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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

const (
	// maxPendingEvents and maxPendingKeys bound what one pending set holds
	// while the flusher is busy; past them items are dropped and counted.
	maxPendingEvents = 1 << 16
	maxPendingKeys   = 1 << 18
)

// pending is one flush worth of sums. Two exist: the aggregator fills one
// while the flusher writes the other.
type pending struct {
	agg       map[aggKey]aggVal
	hosts     map[hostKey]hostVal
	events    []record.Event
	maxMinute int64
	err       error // set by the flusher
}

func newPending() *pending {
	return &pending{agg: make(map[aggKey]aggVal), hosts: make(map[hostKey]hostVal)}
}

func (p *pending) empty() bool { return len(p.agg) == 0 && len(p.hosts) == 0 && len(p.events) == 0 }

func (p *pending) reset() {
	clear(p.agg)
	clear(p.hosts)
	clear(p.events) // drop string references
	p.events = p.events[:0]
	p.maxMinute = 0
	p.err = nil
}

// writer is two goroutines: the aggregator drains the sinks' queues into
// the in-memory sums and never touches SQLite, and the flusher writes a
// swapped-out pending set in one transaction. So a slow disk or a long
// transaction delays nothing but the next flush, and the queues keep
// draining meanwhile.
type writer struct {
	s *Store
	// aggregator state
	cur, spare *pending
	// flusher state
	toFlush   chan *pending // cap 1; sent only when spare was returned
	flushed   chan *pending // cap 1
	open      map[int64]int // minute → host rows this writer put there (an upper bound)
	maxMinute int64
}

func newWriter(s *Store) *writer {
	return &writer{
		s:       s,
		cur:     newPending(),
		spare:   newPending(),
		toFlush: make(chan *pending, 1),
		flushed: make(chan *pending, 1),
		open:    make(map[int64]int),
	}
}

func (w *writer) run() {
	s := w.s
	flusherDone := make(chan struct{})
	go w.flusher(flusherDone)
	defer func() {
		close(w.toFlush)
		<-flusherDone
		close(s.done)
	}()
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case b := <-s.full:
			w.addBatch(b)
			// Reading a capture makes minutes of records in milliseconds:
			// flush by size too, so the writes overlap the reading instead
			// of all waiting for Close.
			if len(w.cur.agg)+len(w.cur.hosts) >= flushKeys {
				w.startFlush(false)
			}
		case e := <-s.evQ:
			w.addEvent(&e)
		case <-t.C:
			w.takePartial()
			w.startFlush(false)
		case reply := <-s.flushReq:
			w.drain()
			reply <- w.startFlush(true)
		case <-s.stop:
			w.drain()
			w.startFlush(true)
			return
		}
	}
}

// startFlush hands the current sums to the flusher if it is idle. With
// wait it waits for the flusher to be idle and for this flush to commit,
// and returns its error.
func (w *writer) startFlush(wait bool) error {
	if w.spare == nil {
		if wait {
			w.spare = <-w.flushed
		} else {
			select {
			case w.spare = <-w.flushed:
			default:
				return nil // flusher busy: keep summing into cur
			}
		}
	}
	if w.cur.empty() {
		return nil
	}
	w.toFlush <- w.cur
	w.cur, w.spare = w.spare, nil
	if !wait {
		return nil
	}
	w.spare = <-w.flushed
	return w.spare.err
}

func (w *writer) flusher(done chan<- struct{}) {
	defer close(done)
	s := w.s
	var prune <-chan time.Time
	if s.cfg.Retention > 0 {
		t := time.NewTicker(s.cfg.RetentionEvery)
		defer t.Stop()
		prune = t.C
	}
	for {
		select {
		case p, ok := <-w.toFlush:
			if !ok {
				return
			}
			err := w.write(p)
			if err != nil {
				s.flushErrs.Add(1)
			} else {
				s.flushes.Add(1)
			}
			// On failure the data is dropped (and counted) so memory stays
			// bounded while the disk is full or locked.
			p.reset()
			p.err = err
			w.flushed <- p
		case <-prune:
			if _, err := s.Prune(context.Background(), s.cfg.Now()); err != nil {
				s.flushErrs.Add(1)
			}
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
// holds no strings alive. The free list has room for every batch, so the
// send never blocks.
func (w *writer) addBatch(b *batch) {
	for i := range b.items[:b.n] {
		w.add(&b.items[i])
	}
	clear(b.items[:b.n])
	b.n = 0
	w.s.free <- b
}

func (w *writer) add(it *recItem) {
	p := w.cur
	k := aggKey{it.minute, it.app, it.category, it.proto, it.verdict}
	v, ok := p.agg[k]
	if !ok && len(p.agg) >= maxPendingKeys {
		w.s.dropRec.Add(1)
		return
	}
	v.flows++
	v.packets += it.packets
	v.bytes += it.bytes
	p.agg[k] = v
	p.maxMinute = max(p.maxMinute, it.minute)
	if it.host == "" {
		return
	}
	hk := hostKey{it.minute, it.host, it.app}
	hv, ok := p.hosts[hk]
	if !ok && len(p.hosts) >= w.s.cfg.MaxPendingHosts {
		w.s.dropHost.Add(1)
		return
	}
	hv.flows++
	hv.bytes += it.bytes
	p.hosts[hk] = hv
}

func (w *writer) addEvent(e *record.Event) {
	p := w.cur
	if len(p.events) >= maxPendingEvents {
		w.s.dropEv.Add(1)
		return
	}
	if e.Time.IsZero() {
		e.Time = w.s.cfg.Now()
	}
	p.events = append(p.events, *e)
}

func (w *writer) write(p *pending) error {
	ctx := context.Background()
	tx, err := w.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	defer tx.Rollback()
	aggs := make([]any, 0, chunkRows*8)
	err = execChunked(ctx, tx, `INSERT INTO traffic_minute
		(minute, app, category, protocol, verdict, flows, packets, bytes) VALUES `, `
		ON CONFLICT (minute, app, category, protocol, verdict) DO UPDATE SET
		flows = flows + excluded.flows, packets = packets + excluded.packets, bytes = bytes + excluded.bytes`,
		8, len(p.agg), func(yield func([]any) error) error {
			for k, v := range p.agg {
				aggs = append(aggs[:0], k.minute, k.app, k.category, k.proto, k.verdict,
					clampInt(v.flows), clampInt(v.packets), clampInt(v.bytes))
				if err := yield(aggs); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("store: flush traffic: %w", err)
	}
	w.maxMinute = max(w.maxMinute, p.maxMinute)
	err = execChunked(ctx, tx, `INSERT INTO host_minute (minute, host, app, flows, bytes) VALUES `, `
		ON CONFLICT (minute, host, app) DO UPDATE SET
		flows = flows + excluded.flows, bytes = bytes + excluded.bytes`,
		5, len(p.hosts), func(yield func([]any) error) error {
			for k, v := range p.hosts {
				w.open[k.minute]++
				if err := yield([]any{k.minute, k.host, k.app, clampInt(v.flows), clampInt(v.bytes)}); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("store: flush hosts: %w", err)
	}
	if err := w.trimHosts(ctx, tx); err != nil {
		return err
	}
	if len(p.events) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events
			(time_ns, rule, action, l4, client, server, protocol, app, host, notice)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("store: flush: %w", err)
		}
		for i := range p.events {
			e := &p.events[i]
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
// it is over, after which it leaves the open set. A minute this writer
// gave no more rows than it may keep needs no DELETE (rows an earlier
// session left in the same minute then stay until it is trimmed again):
// that skips almost every trim of a capture, whose minutes are many and
// small.
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
	for m, rows := range w.open {
		keep := n
		current := m >= w.maxMinute-60
		if current {
			keep = 10 * n
		}
		if rows > keep {
			if _, err := st.ExecContext(ctx, m, keep); err != nil {
				return fmt.Errorf("store: trim hosts: %w", err)
			}
			w.open[m] = keep
		}
		if !current {
			delete(w.open, m)
		}
	}
	return nil
}

// flushKeys is how many pending rows start a flush before FlushInterval.
const flushKeys = 2048

// chunkRows is how many rows one multi-row INSERT carries: the per-statement
// overhead of database/sql and the driver then amortises over many rows
// (SQLite allows 32766 parameters; 128*8 stays far below).
const chunkRows = 128

// execChunked runs head + "(?,..),(?,..)" + tail over n rows of cols
// values each, chunkRows at a time. rows calls yield once per row; the
// values are copied before yield returns.
func execChunked(ctx context.Context, tx *sql.Tx, head, tail string, cols, n int,
	rows func(yield func([]any) error) error) error {
	if n == 0 {
		return nil
	}
	stmts := map[int]*sql.Stmt{}
	stmt := func(k int) (*sql.Stmt, error) {
		if st := stmts[k]; st != nil {
			return st, nil
		}
		var b strings.Builder
		b.WriteString(head)
		for i := range k {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('?')
			}
			b.WriteByte(')')
		}
		b.WriteString(tail)
		st, err := tx.PrepareContext(ctx, b.String())
		if err != nil {
			return nil, err
		}
		stmts[k] = st
		return st, nil
	}
	args := make([]any, 0, chunkRows*cols)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		st, err := stmt(len(args) / cols)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, args...)
		args = args[:0]
		return err
	}
	err := rows(func(row []any) error {
		args = append(args, row...)
		if len(args) == chunkRows*cols {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

func clampInt(v uint64) int64 {
	if v > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(v)
}
