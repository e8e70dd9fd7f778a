package record

import "time"

// Sink consumes flow records as flows end. Write is called from the
// datapath goroutine: a sink must not block for long (buffer, or drop and
// count). The *Record and what it points to are valid only during Write.
type Sink interface {
	Write(r *Record) error
	Close() error
}

// Event is one enforcement action: Weir acted on a flow because of a rule.
// Events are written to the event log (JSON lines), the store and metrics.
type Event struct {
	Time     time.Time
	L4       uint8
	Client   string // "ip:port" (possibly anonymised)
	Server   string
	Rule     string
	Action   string // block, drop, reset, throttle
	Protocol string
	App      string
	Host     string
	// How Weir announced it: "http-451", "dns-ede", "tcp-reset", "icmp-prohibited", "none" (drop).
	Notice string
}

// EventSink consumes enforcement events.
type EventSink interface {
	Event(e *Event) error
}
