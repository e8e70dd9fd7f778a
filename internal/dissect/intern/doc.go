// Package intern turns the short texts dissectors keep for a flow (server
// names, HTTP header values, certificate names, DNS names) into strings,
// sharing one copy among flows that carry the same bytes. Live traffic
// repeats them: the same SNI, Host and User-Agent arrive on thousands of
// flows, and each used to cost an allocation that records then kept alive.
//
// Contract: Bytes(b) returns a string equal to string(b) that never aliases
// b. When the same bytes were interned recently it returns that earlier
// string and allocates nothing. The table is fixed (slots entries, each
// keeping at most one string of at most MaxLen bytes): a new text replaces
// whatever shared its slot, so memory stays bounded whatever the traffic.
// Traffic of ever-new names (hostile or not) makes every call a miss, which
// costs the copy plus a 16-byte slot box: one small allocation more than a
// plain string(b). The slot hash has a per-process random seed, so no sender
// can aim collisions at the names others use.
//
// Safe for concurrent use: a slot is swapped atomically.
package intern
