// Package jsonl writes flow records and enforcement events as JSON lines:
// one object per line, to stdout, to a file, or to a size-rotated log.
//
// [Sink] writes [record.Record.AppendJSON] objects (keys in docs/records.md),
// optionally with the client address passed through an anon.Anonymizer.
// [EventSink] writes [record.Event] objects with these keys, always all
// present, in this order:
//
//	time      string  RFC 3339 with nanoseconds, UTC
//	l4        string  tcp, udp, icmp, ... (record.L4Name)
//	client    string  ip:port as given (the producer anonymises)
//	server    string  ip:port
//	rule      string  the policy rule that acted
//	action    string  block, drop, reset, throttle
//	protocol  string  master protocol ("" when unknown)
//	app       string  catalog application id ("" when none)
//	host      string  server name ("" when none)
//	notice    string  how Weir announced it: http-451, dns-ede, tcp-reset, icmp-prohibited, none
//
// Rotation: with Config.MaxBytes > 0 the file is rotated before a line
// would make it exceed MaxBytes: flows.jsonl becomes flows.jsonl.1, .1
// becomes .2, and so on; Config.Keep rotated files are kept and the oldest
// is deleted (Keep 0 keeps none: the file is simply truncated). A single
// line longer than MaxBytes is still written whole, to a fresh file. An
// existing file is appended to and counts towards MaxBytes.
//
// Buffering: lines go through a 64 KiB buffer that is flushed when full,
// at least every Config.FlushInterval (1 s by default) by a background
// goroutine, on rotation, and on Close. A crash may lose up to one interval.
//
// Concurrency and allocation: Write and Event may be called from several
// goroutines (a mutex serialises them); the record or event is formatted
// into a reused buffer, so a call allocates nothing in steady state. Names
// in the output are escaped (they are attacker-controlled bytes). Payload is
// never written: records carry metadata only.
package jsonl
