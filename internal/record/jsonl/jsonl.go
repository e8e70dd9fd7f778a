package jsonl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/anon"
)

// Config says where and how lines are written.
type Config struct {
	// Path is the output file; "" or "-" writes to Stdout.
	Path string
	// Stdout replaces os.Stdout for Path "" or "-" (tests, or a pipe).
	Stdout io.Writer
	// MaxBytes rotates the file before it would exceed this size; 0 never
	// rotates. Ignored for stdout.
	MaxBytes int64
	// Keep is how many rotated files (Path.1 ... Path.Keep) are kept.
	Keep int
	// FlushInterval bounds how long a line may sit in the buffer; 0 means 1 s.
	FlushInterval time.Duration
	// Anon rewrites record client addresses (Sink only); nil keeps them.
	Anon anon.Anonymizer
}

const bufSize = 64 << 10

var (
	errClosed = errors.New("jsonl: sink closed")
	errConfig = errors.New("jsonl: bad configuration")
)

// out is the buffered, optionally rotating line writer both sinks share.
type out struct {
	cfg  Config
	mu   sync.Mutex
	file *os.File // nil for stdout
	bw   *bufio.Writer
	size int64
	line []byte
	err  error // last flush/rotate error, reported once by the next write
	shut bool
	stop chan struct{}
	done chan struct{}
}

func newOut(cfg Config) (*out, error) {
	if cfg.MaxBytes < 0 || cfg.Keep < 0 || cfg.FlushInterval < 0 {
		return nil, fmt.Errorf("%w: negative MaxBytes, Keep or FlushInterval", errConfig)
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Second
	}
	o := &out{cfg: cfg, line: make([]byte, 0, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.Path == "" || cfg.Path == "-" {
		w := cfg.Stdout
		if w == nil {
			w = os.Stdout
		}
		o.cfg.MaxBytes = 0
		o.bw = bufio.NewWriterSize(w, bufSize)
	} else {
		f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("jsonl: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("jsonl: %w", err)
		}
		o.file, o.size = f, st.Size()
		o.bw = bufio.NewWriterSize(f, bufSize)
	}
	go o.flusher()
	return o, nil
}

func (o *out) flusher() {
	defer close(o.done)
	t := time.NewTicker(o.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.mu.Lock()
			if err := o.bw.Flush(); err != nil && o.err == nil {
				o.err = err
			}
			o.mu.Unlock()
		}
	}
}

// writeLine writes o.line plus a newline; o.mu is held.
func (o *out) writeLine() error {
	if o.shut {
		return errClosed
	}
	if err := o.err; err != nil {
		o.err = nil
		return fmt.Errorf("jsonl: %w", err)
	}
	o.line = append(o.line, '\n')
	n := int64(len(o.line))
	if o.cfg.MaxBytes > 0 && o.size > 0 && o.size+n > o.cfg.MaxBytes {
		if err := o.rotate(); err != nil {
			return fmt.Errorf("jsonl: rotate: %w", err)
		}
	}
	w, err := o.bw.Write(o.line)
	o.size += int64(w)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

// rotate shifts Path.i to Path.i+1, Path to Path.1, and opens a fresh Path.
func (o *out) rotate() error {
	if err := o.bw.Flush(); err != nil {
		return err
	}
	if o.file != nil {
		if err := o.file.Close(); err != nil {
			return err
		}
		o.file = nil
	}
	p := o.cfg.Path
	if o.cfg.Keep == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else {
		for i := o.cfg.Keep - 1; i >= 1; i-- {
			err := os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if err := os.Rename(p, p+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		// Keep writing somewhere harmless until the next rotation attempt
		// rather than into a closed file.
		o.bw.Reset(io.Discard)
		return err
	}
	o.file, o.size = f, 0
	o.bw.Reset(f)
	return nil
}

func (o *out) close() error {
	o.mu.Lock()
	if o.shut {
		o.mu.Unlock()
		return nil
	}
	o.shut = true
	o.mu.Unlock()
	close(o.stop)
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.bw.Flush()
	if o.file != nil {
		if cerr := o.file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

// Sink writes flow records as JSON lines. It implements record.Sink.
type Sink struct{ o *out }

var _ record.Sink = (*Sink)(nil)

// NewSink opens the output cfg names.
func NewSink(cfg Config) (*Sink, error) {
	o, err := newOut(cfg)
	if err != nil {
		return nil, err
	}
	return &Sink{o: o}, nil
}

// Write formats r (client anonymised if configured) and buffers the line.
func (s *Sink) Write(r *record.Record) error {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if a := o.cfg.Anon; a != nil {
		rc := *r
		rc.Client = anon.AddrPort(a, r.Client)
		o.line = rc.AppendJSON(o.line[:0])
	} else {
		o.line = r.AppendJSON(o.line[:0])
	}
	return o.writeLine()
}

// Close flushes and closes the file (stdout is flushed, not closed).
func (s *Sink) Close() error { return s.o.close() }

// EventSink writes enforcement events as JSON lines. It implements
// record.EventSink.
type EventSink struct{ o *out }

var _ record.EventSink = (*EventSink)(nil)

// NewEventSink opens the output cfg names (cfg.Anon is not used: events
// carry client strings the producer already anonymised).
func NewEventSink(cfg Config) (*EventSink, error) {
	o, err := newOut(cfg)
	if err != nil {
		return nil, err
	}
	return &EventSink{o: o}, nil
}

// Event formats e and buffers the line.
func (s *EventSink) Event(e *record.Event) error {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	o.line = AppendEvent(o.line[:0], e)
	return o.writeLine()
}

// Close flushes and closes the file.
func (s *EventSink) Close() error { return s.o.close() }

// AppendEvent appends e as one JSON object (no newline), keys as in the
// package doc.
func AppendEvent(b []byte, e *record.Event) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","l4":"`...)
	b = append(b, record.L4Name(e.L4)...)
	b = append(b, '"')
	b = appendKey(b, "client", e.Client)
	b = appendKey(b, "server", e.Server)
	b = appendKey(b, "rule", e.Rule)
	b = appendKey(b, "action", e.Action)
	b = appendKey(b, "protocol", e.Protocol)
	b = appendKey(b, "app", e.App)
	b = appendKey(b, "host", e.Host)
	b = appendKey(b, "notice", e.Notice)
	return append(b, '}')
}

func appendKey(b []byte, k, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, k...)
	b = append(b, `":`...)
	return record.AppendQuoted(b, v)
}
