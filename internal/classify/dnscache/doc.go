// Package dnscache remembers which host name a client resolved to which
// address, so that a later flow to that address can be named even when it
// carries no SNI or Host (encrypted ClientHello, plain TCP, QUIC without a
// readable Initial).
//
// Contract:
//
//   - Learn(addr, name, ttl, now) records that name resolved to addr. The
//     caller passes the name the client asked for (the DNS question name):
//     when an answer is a CNAME chain (www.example.com -> x.cdn.net -> A), the
//     caller walks the chain and calls Learn with www.example.com for the final
//     addresses, because that is what policies name. The cache does not parse
//     DNS.
//   - One name per address: the latest Learn wins. A CDN address serves many
//     names; the most recent answer is the best guess for the connection that
//     follows it.
//   - Time is packet time, ns since the Unix epoch (capture.Packet.TS), never
//     the wall clock, so that replaying a capture gives the same answers. An
//     entry lives for clamp(ttl, MinTTL, MaxTTL) seconds after Learn. The floor
//     (300 s) is there because clients and OS resolvers keep using an address
//     well past short CDN TTLs (20-60 s); the ceiling (1 day) bounds how long a
//     stale mapping can mislabel traffic.
//   - Bounded: at most maxEntries entries, fixed at New. The table starts
//     small and doubles as entries arrive, up to that bound; beyond it memory
//     grows only by the stored name strings (one copy each, at most 253
//     bytes). When full, Learn evicts the oldest entry, giving a second chance
//     to entries that were looked up or re-learned since the eviction hand last
//     passed (the CLOCK algorithm), and preferring expired ones.
//   - Names are stored lower-cased without a trailing dot; empty names and
//     names over 253 bytes are ignored. IPv4-mapped IPv6 addresses are stored
//     as IPv4; zones are ignored.
//
// Allocation: Lookup allocates nothing. Learn allocates one string copy when
// it stores a name that differs from the entry's current one, and a shard's
// table while it doubles towards its bound.
//
// Concurrency: safe for concurrent use. The cache is split into up to 16
// shards by a keyed hash of the address, each behind its own mutex, so the
// DNS-learning and flow-classifying goroutines rarely contend. The hash key
// is random per cache, so an attacker who controls DNS answers cannot aim
// addresses at one probe chain.
package dnscache
