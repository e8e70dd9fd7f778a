package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirnet/weir/internal/record"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is an open store file. All methods are safe for concurrent use.
type Store struct {
	cfg  Config
	db   *sql.DB
	path string

	full     chan *batch // filled batches, to the writer
	free     chan *batch // empty batches, back to the sink
	evQ      chan record.Event
	flushReq chan chan error
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.Mutex
	closed   bool

	dropRec, dropEv, dropHost, flushErrs, flushes, accepted atomic.Uint64

	sink   *Sink
	evSink *EventSink
}

// Stats are the store's counters, for metrics and `weir run` progress.
type Stats struct {
	QueueDepth     int    // items waiting for the writer now
	QueueCap       int    // capacity of the two queues together
	Accepted       uint64 // records and events handed to the writer
	DroppedRecords uint64 // records offered to a full queue
	DroppedEvents  uint64 // events offered to a full queue
	DroppedHosts   uint64 // host keys past MaxPendingHosts in one flush
	Flushes        uint64 // committed flush transactions
	FlushErrors    uint64 // failed flushes (their data is dropped)
}

// Open opens (creating it if needed) the store at path and, unless
// cfg.ReadOnly, starts its writer goroutine. Close releases both.
func Open(path string, cfg Config) (*Store, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrConfig)
	}
	// busy_timeout first (the driver orders it so): a reader or another
	// process holding the write lock makes us wait, not fail.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)"
	if cfg.ReadOnly {
		dsn += "&mode=ro"
	} else {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One writer connection plus readers; WAL lets them run side by side.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ctx := context.Background()
	if cfg.ReadOnly {
		var v int
		v, err = readVersion(ctx, db)
		if err == nil && v > len(migrations) {
			err = fmt.Errorf("%w (file has version %d, this build knows %d)", ErrNewerSchema, v, len(migrations))
		}
		if err == nil && v < len(migrations) {
			err = fmt.Errorf("store: %s has schema version %d, want %d (open it once read-write to migrate)", path, v, len(migrations))
		}
	} else {
		err = migrate(ctx, db)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{cfg: cfg, db: db, path: path}
	s.sink = &Sink{s: s}
	s.evSink = &EventSink{s: s}
	if !cfg.ReadOnly {
		nb := max(2, (cfg.QueueLen+batchLen-1)/batchLen)
		s.full = make(chan *batch, nb)
		s.free = make(chan *batch, nb)
		for range nb {
			s.free <- new(batch)
		}
		s.evQ = make(chan record.Event, cfg.QueueLen)
		s.flushReq = make(chan chan error)
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		w := newWriter(s)
		go w.run()
	}
	return s, nil
}

// DB exposes the underlying database for tests and maintenance tools.
func (s *Store) DB() *sql.DB { return s.db }

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close stops the writer after writing everything already queued, then
// closes the database. Further sink writes are dropped.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	return s.db.Close()
}

// Flush writes everything queued so far and returns when it is committed.
func (s *Store) Flush() error {
	if s.cfg.ReadOnly {
		return ErrReadOnly
	}
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
		return <-reply
	case <-s.done:
		return ErrClosed
	}
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	return Stats{
		QueueDepth:     len(s.full)*batchLen + len(s.evQ),
		QueueCap:       cap(s.full)*batchLen + cap(s.evQ),
		Accepted:       s.accepted.Load(),
		DroppedRecords: s.dropRec.Load(),
		DroppedEvents:  s.dropEv.Load(),
		DroppedHosts:   s.dropHost.Load(),
		Flushes:        s.flushes.Load(),
		FlushErrors:    s.flushErrs.Load(),
	}
}

// Sink returns the record sink feeding this store (the same one each call).
func (s *Store) Sink() *Sink { return s.sink }

// EventSink returns the enforcement-event sink feeding this store.
func (s *Store) EventSink() *EventSink { return s.evSink }

// recItem is what the store keeps of a record: pointer-free apart from the
// strings, copied by value through the channel.
type recItem struct {
	minute                              int64
	app, category, proto, verdict, host string
	packets, bytes                      uint64
}

// batchLen is how many records travel to the writer in one hand-off: one
// channel operation per batch keeps Write cheap, and the writer is woken
// per batch instead of per record.
const batchLen = 256

type batch struct {
	n     int
	items [batchLen]recItem
}

// Sink is a [record.Sink] that hands records to the store's writer.
// Records are copied into the current batch; a full batch is sent to the
// writer and a fresh one taken from a bounded free list. When none is free
// (the writer is behind), records are dropped and counted. The writer also
// takes a partial batch at each flush so quiet links are written too.
type Sink struct {
	s   *Store
	mu  sync.Mutex // Write may be called from several datapath goroutines
	cur *batch
}

var _ record.Sink = (*Sink)(nil)

// Write never blocks on SQLite: when no batch is free the record is dropped
// and counted (Stats.DroppedRecords). It does not allocate.
func (k *Sink) Write(r *record.Record) error {
	s := k.s
	if s.full == nil {
		return ErrReadOnly
	}
	ts := r.Last
	if ts == 0 {
		ts = r.First
	}
	k.mu.Lock()
	b := k.cur
	if b == nil {
		select {
		case b = <-s.free:
			k.cur = b
		default:
			if !s.cfg.Lossless {
				k.mu.Unlock()
				s.dropRec.Add(1)
				return nil
			}
			// Offline replay: wait for the writer rather than drop.
			b = <-s.free
			k.cur = b
		}
	}
	it := &b.items[b.n]
	*it = recItem{
		minute:  minuteOf(ts),
		packets: r.C2SPackets + r.S2CPackets,
		bytes:   r.C2SBytes + r.S2CBytes,
		verdict: r.Verdict,
		app:     "unknown",
		proto:   "Unknown",
	}
	if c := r.Class; c != nil {
		it.proto = c.Meta.Proto.String()
		if c.App != "" {
			it.app = c.App
		}
		it.category = c.Category
		it.host = c.Host
	}
	if it.verdict == "" {
		it.verdict = "none"
	}
	b.n++
	if b.n == batchLen {
		// Cannot block: full has room for every batch there is.
		s.full <- b
		k.cur = nil
	}
	k.mu.Unlock()
	s.accepted.Add(1)
	return nil
}

// takePartial hands the writer the batch being filled, if any.
func (k *Sink) takePartial() *batch {
	k.mu.Lock()
	b := k.cur
	if b != nil && b.n > 0 {
		k.cur = nil
	} else {
		b = nil
	}
	k.mu.Unlock()
	return b
}

// Close writes what is queued (the store stays open; Store.Close closes it).
func (k *Sink) Close() error {
	if k.s.full == nil {
		return nil
	}
	if err := k.s.Flush(); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// EventSink is a [record.EventSink] that hands events to the store's writer.
type EventSink struct{ s *Store }

var _ record.EventSink = (*EventSink)(nil)

// Event never blocks: when the queue is full the event is dropped and
// counted (Stats.DroppedEvents). It does not allocate.
func (k *EventSink) Event(e *record.Event) error {
	s := k.s
	if s.full == nil {
		return ErrReadOnly
	}
	select {
	case s.evQ <- *e:
		s.accepted.Add(1)
	default:
		s.dropEv.Add(1)
	}
	return nil
}

// minuteOf returns the Unix second starting ts's minute (floor, also for
// times before 1970).
func minuteOf(ns int64) int64 {
	sec := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		sec--
	}
	m := sec - sec%60
	if sec < 0 && sec%60 != 0 {
		m -= 60
	}
	return m
}

// Policy is one loaded policy.
type Policy struct {
	Loaded time.Time
	SHA256 string // hex
	Source string
}

// RecordPolicy stores src as the active policy loaded at t. Loading the same
// text as the latest entry again is not stored twice (reloads are frequent);
// it reports whether a row was added.
func (s *Store) RecordPolicy(ctx context.Context, t time.Time, src []byte) (bool, error) {
	if s.cfg.ReadOnly {
		return false, ErrReadOnly
	}
	sum := sha256.Sum256(src)
	h := hex.EncodeToString(sum[:])
	cur, ok, err := s.ActivePolicy(ctx)
	if err != nil {
		return false, err
	}
	if ok && cur.SHA256 == h {
		return false, nil
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO policies (loaded_ns, sha256, source) VALUES (?, ?, ?)`,
		t.UnixNano(), h, string(src))
	if err != nil {
		return false, fmt.Errorf("store: record policy: %w", err)
	}
	return true, nil
}

// Prune deletes rows older than now-Retention (policies: all but the latest
// one older than that). It runs every RetentionEvery in the writer and is
// exported for tests and maintenance. It returns the rows deleted.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	if s.cfg.ReadOnly {
		return 0, ErrReadOnly
	}
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	cut := now.Add(-s.cfg.Retention)
	cutMin, cutNs := cut.Unix(), cut.UnixNano()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	defer tx.Rollback()
	var n int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM traffic_minute WHERE minute < ?`, cutMin},
		{`DELETE FROM host_minute WHERE minute < ?`, cutMin},
		{`DELETE FROM events WHERE time_ns < ?`, cutNs},
		{`DELETE FROM policies WHERE loaded_ns < ? AND id < (SELECT MAX(id) FROM policies)`, cutNs},
	} {
		res, err := tx.ExecContext(ctx, q.sql, q.arg)
		if err != nil {
			return 0, fmt.Errorf("store: prune: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	return n, nil
}
