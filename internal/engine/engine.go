package engine

import (
	"fmt"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/flow"
)

// Config configures an Engine.
type Config struct {
	Flow     flow.Config
	Decode   decode.Config
	Classify bool // run dissectors and the application classifier
	// ExpireEvery is how often (in packet time) idle flows are swept.
	ExpireEvery time.Duration
}

// DefaultConfig returns the configuration weir inspect uses.
func DefaultConfig() Config {
	return Config{
		Flow:        flow.DefaultConfig(),
		Decode:      decode.DefaultConfig(),
		Classify:    true,
		ExpireEvery: time.Second,
	}
}

// Stats counts what the engine saw.
type Stats struct {
	Packets uint64 // frames read
	Bytes   uint64 // wire bytes of frames read
	IP      uint64 // frames accounted to flows (fragment frames count when reassembled)
	Decode  decode.Stats
	Flow    flow.Stats
}

// FlowEnd is a flow leaving the table, or with Reason flow.EndActive an
// interim record of a flow that goes on: its core state and what the
// classifier made of it. Both pointers are valid only during the callback.
type FlowEnd struct {
	ID     flow.ID
	Flow   *flow.Flow
	Class  *classify.Result
	Reason flow.EndReason
}

// Engine is one datapath instance.
type Engine struct {
	cfg    Config
	dec    *decode.Decoder
	table  *flow.Table
	cls    *classify.Classifier
	parsed decode.Parsed
	stats  Stats

	lastSweep int64
	onEnd     func(*FlowEnd)
	end       FlowEnd
	seen      Seen
}

// New builds an engine. onEnd receives every flow as it ends (idle, active
// timeout, eviction, or Flush at the end of input).
func New(cfg Config, cls *classify.Classifier, onEnd func(*FlowEnd)) (*Engine, error) {
	e := &Engine{cfg: cfg, onEnd: onEnd}
	var err error
	if e.dec, err = decode.New(cfg.Decode); err != nil {
		return nil, fmt.Errorf("unable to initialize decode component: %w", err)
	}
	e.table = flow.New(cfg.Flow)
	if cfg.Classify {
		e.cls = cls
	}
	e.table.OnEnd = e.flowEnded
	return e, nil
}

func (e *Engine) flowEnded(id flow.ID, f *flow.Flow, why flow.EndReason) {
	e.end = FlowEnd{ID: id, Flow: f, Reason: why}
	if e.cls != nil {
		e.end.Class = e.cls.End(id, f)
	}
	if e.onEnd != nil {
		e.onEnd(&e.end)
	}
	if e.cls != nil && why != flow.EndActive { // an interim record: the flow goes on
		e.cls.Release(id)
	}
}

// Seen describes the packet Process just handled. Its pointers are valid
// until the next call into the engine.
type Seen struct {
	ID      flow.ID
	Flow    *flow.Flow
	Dir     flow.Dir
	Created bool
	Parsed  *decode.Parsed
	Class   *classify.Result // nil when classification is off
}

// Packet processes one captured frame.
func (e *Engine) Packet(pkt *capture.Packet) { e.Process(pkt) }

// Process processes one frame and describes it, or returns nil when the
// frame was not accounted to a flow (not IP, malformed, a held fragment).
func (e *Engine) Process(pkt *capture.Packet) *Seen {
	e.stats.Packets++
	e.stats.Bytes += uint64(pkt.WireLen)
	ts := pkt.TS
	if every := int64(e.cfg.ExpireEvery); every > 0 && (ts-e.lastSweep >= every || e.lastSweep-ts > e.table.ClockJump()) {
		// Also when packet time jumped back: a sweep then ends the flows
		// of the earlier time base (flow.EndTimeJump).
		e.Expire(ts)
	}
	p := &e.parsed
	if e.dec.Decode(pkt.LinkType, pkt.Data, pkt.WireLen, ts, p) != decode.OK {
		return nil
	}
	e.stats.IP++
	id, dir, created := e.table.Update(p, ts)
	f := e.table.Flow(id)
	e.seen = Seen{ID: id, Flow: f, Dir: dir, Created: created, Parsed: p}
	if e.cls != nil {
		if !f.Settled {
			e.cls.Packet(id, f, created, dir, p, ts)
		}
		e.seen.Class = e.cls.Result(id)
	}
	return &e.seen
}

// Expire ends flows idle at now (ns); inline callers use it on a timer
// because live traffic may pause.
func (e *Engine) Expire(now int64) {
	e.table.Expire(now)
	if e.cls != nil {
		e.cls.Sweep(now, e.table.Flow)
	}
	e.lastSweep = now
}

// Flush ends every live flow, as at the end of input.
func (e *Engine) Flush() { e.table.Flush() }

// Stats returns the counters so far.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Decode = e.dec.Stats()
	s.Flow = e.table.Stats()
	return s
}

// Table exposes the flow table (for live views).
func (e *Engine) Table() *flow.Table { return e.table }
