package store

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the store. The zero value is not useful; start from
// [DefaultConfig].
type Config struct {
	// FlushInterval is how often pending aggregates are written (one
	// transaction each time).
	FlushInterval time.Duration
	// QueueLen bounds the hand-off channels between the sinks and the writer
	// goroutine; items offered to a full queue are dropped and counted.
	QueueLen int
	// TopHosts is how many hosts per minute are kept once the minute is over.
	TopHosts int
	// MaxPendingHosts bounds distinct (minute, host, app) keys summed in
	// memory between two flushes.
	MaxPendingHosts int
	// Retention: rows older than this are deleted every RetentionEvery.
	// Zero keeps everything (and `weir serve` uses it so that only the
	// writing process prunes).
	Retention      time.Duration
	RetentionEvery time.Duration
	// Lossless makes Sink.Write wait for the writer instead of dropping when
	// the queue is full. Only for offline replay (`weir inspect --store`),
	// where a capture file is read faster than real time and nothing is
	// lost by waiting; never on a live datapath.
	Lossless bool
	// ReadOnly opens the file read-only: no migrations, no writer goroutine;
	// the sinks and RecordPolicy return errors.
	ReadOnly bool
	// Now is the clock used for retention and for events without a time
	// (nil means time.Now). Tests inject it.
	Now func() time.Time
}

// DefaultConfig returns the defaults: flush every second, keep 7 days, top
// 20 hosts per minute.
func DefaultConfig() Config {
	return Config{
		FlushInterval:   time.Second,
		QueueLen:        8192,
		TopHosts:        20,
		MaxPendingHosts: 20000,
		Retention:       7 * 24 * time.Hour,
		RetentionEvery:  10 * time.Minute,
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.ReadOnly {
		return nil
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush interval %v must be positive", c.FlushInterval))
	}
	if c.QueueLen <= 0 {
		errs = append(errs, fmt.Errorf("queue length %d must be positive", c.QueueLen))
	}
	if c.TopHosts <= 0 {
		errs = append(errs, fmt.Errorf("top hosts %d must be positive", c.TopHosts))
	}
	if c.MaxPendingHosts <= 0 {
		errs = append(errs, fmt.Errorf("max pending hosts %d must be positive", c.MaxPendingHosts))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention %v must not be negative", c.Retention))
	}
	if c.Retention > 0 && c.RetentionEvery <= 0 {
		errs = append(errs, fmt.Errorf("retention interval %v must be positive", c.RetentionEvery))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}
