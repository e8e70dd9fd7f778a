// Package dissect is the contract between the flow engine and the protocol
// dissectors under internal/dissect/*.
//
// A dissector sees the L4 payloads of one flow, one packet at a time, in
// capture order, and fills a [Meta] that belongs to that flow. It reports a
// [Status] after every packet so the engine can stop feeding it as soon as it
// has decided. The engine (internal/classify) owns the ordered table of
// dissectors; there is no registry and no init() registration.
//
// Ownership: [Packet].Payload aliases the capture buffer and is valid only for
// the duration of Feed. A dissector that needs bytes later (TLS or QUIC
// CRYPTO reassembly) copies them into its own bounded buffer. Strings stored
// in Meta must not alias Payload: a name or header value goes through
// intern.Bytes, which copies it once and shares that copy with later flows
// carrying the same bytes; anything else is copied with string(b).
//
// Allocation: Feed may allocate only when it records a result in Meta (once
// per flow) or when it grows a reassembly buffer up to its documented bound;
// rejecting a payload (NotMine) or waiting (Continue) allocates nothing.
//
// Concurrency: a dissector value serves one flow and is used by one goroutine.
//
// Malformed payloads are data, not errors: Feed never panics, whatever the
// input; it answers NotMine (or Continue while a bounded buffer fills).
package dissect
