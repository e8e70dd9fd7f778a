// Package marker is the single source of truth for how Weir announces
// itself: the text in its TCP resets, the HTTP 451 notice, the Extended DNS
// Error text, and the IPv4 identification of every packet it injects.
// internal/enforce writes these markers; internal/probe recognises them, so
// the two can never drift apart. docs/markers.md documents them for
// researchers and for other probes.
//
// Everything here is pure formatting and parsing of small values; nothing
// keeps state.
package marker
