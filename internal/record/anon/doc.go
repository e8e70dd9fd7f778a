// Package anon anonymises client addresses before flow records leave Weir.
//
// Three modes implement [Anonymizer]:
//
//   - [CryptoPAn]: keyed prefix-preserving anonymisation in the style of
//     Crypto-PAn (Xu, Fan, Ammar, Moon 2002), with AES-128 as the
//     pseudo-random function and the key taken from a 32-byte secret (the
//     first 16 bytes are the AES key, the second 16 bytes, encrypted once,
//     are the pad). Two addresses that share exactly a k-bit prefix map to
//     addresses that share exactly a k-bit prefix, so subnet structure stays
//     analysable while the addresses themselves do not; the mapping is a
//     bijection per key and deterministic, so one client stays one
//     (pseudonymous) client across records and restarts with the same
//     secret. IPv4 and IPv6 are handled; an IPv4 address maps to an IPv4
//     address. Keep the secret secret: whoever holds it can invert the map
//     by probing.
//   - [Truncate]: keep the first N bits (/24 for IPv4 and /48 for IPv6 by
//     default) and zero the rest.
//   - [None]: the address unchanged.
//
// Privacy defaults: aggregates (per-app, per-protocol counters and the
// statistics Weir keeps over time) are address-free by default: they are
// keyed by protocol, application and category, never by client address.
// Per-flow records carry a client address only when the operator asks for
// them, and should then go through an Anonymizer. Payload is never stored:
// records hold metadata (addresses, ports, counters, names the flow
// carried), not packet contents.
//
// Allocation and concurrency: Addr allocates nothing and every Anonymizer
// here is safe for concurrent use. CryptoPAn keeps one AES cipher built at
// construction; its per-call scratch blocks come from a sync.Pool, because
// slices passed through the cipher.Block interface escape to the heap.
package anon
