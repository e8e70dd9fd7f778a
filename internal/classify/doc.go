// Package classify names what each flow carries. It drives the protocol
// dissectors (internal/dissect/*) over a flow's first payload packets, in the
// fixed order of the table in table.go, and then maps what they found (a
// server name, an application hint, the server address) to an application
// from the embedded catalog (internal/classify/catalog), with a confidence
// and a short reason.
//
// Confidence, strongest first:
//   - dpi: a dissector parsed the protocol and, for the app, a name it
//     carried (SNI, Host, query name) or an app-specific protocol.
//   - dns-cache: the server address was learned from a DNS answer seen
//     earlier on the link (no name in the flow itself: ECH, plain IP, QUIC
//     without a visible Initial).
//   - ip-match: the server address is in an app's published prefixes. DTLS
//     to an owner that runs call relays is named after its calling app
//     (callRelays in app.go: Google's relays → googlemeet).
//   - port-guess: no dissector matched; the protocol is guessed from the
//     server's well-known port, or, for a flow seen without its SYN (the
//     capture began mid-connection), from the first sender's. Never
//     reported as DPI.
//   - unknown.
//
// The host has a confidence too (Result.HostConf): dpi when the flow
// carried the name, dns-cache when a DNS answer named the server address.
//
// The application is decided when dissection ends; with Config.EarlyApp
// (inline enforcement) also as soon as a dissector identifies the flow, so
// policy can act on its first packets. Result.Why is put together when it
// is read.
//
// State: per flow, indexed by flow.ID in a slab that grows with the flow
// table. Dissector state comes from a bounded free list at the flow's first
// payload packet (when its DissectTimeout starts) and goes back as soon as
// the flow is classified or its packet budget is spent, so a long-lived flow
// costs only its Result and a flow without payload never holds any. When it
// is done with a flow it sets flow.Flow.Settled, and the engine stops
// offering it that flow's packets. Not safe for concurrent use.
package classify
