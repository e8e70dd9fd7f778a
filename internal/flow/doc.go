// Package flow tracks bidirectional flows in a fixed-capacity table.
//
// A flow is identified by a [Key]: both addresses and ports in a canonical
// order (the lower endpoint first), the L4 protocol, the address family and
// the VLAN id. The key is fixed-size and pointer-free so it hashes and
// compares as plain memory; netip.AddrPort keys are about twice as slow and
// drag pointers into a table of millions of entries.
//
// Storage is a slab of [Flow] values addressed by an int32 [ID], chained hash
// buckets of IDs, and one intrusive least-recently-seen list per timeout class
// (TCP open, TCP closed, UDP, other). Because every flow in one list shares a
// timeout, the list head is always the next flow to expire, so expiry is
// O(expired) and evicting the longest-idle flow at the cap is O(classes). No
// container/list, no per-flow heap object: the GC sees one slab.
//
// Callers that attach state to flows (dissectors, policy verdicts) keep a
// parallel slice indexed by ID; [Table.OnEnd] tells them when an ID is about to
// be reused. IDs are stable for the life of a flow.
//
// Time is packet time (ns since the Unix epoch) supplied by the caller, so a
// capture replays with the same timeouts it had live. Packet time may go
// back a little (reordering); when it goes back by more than
// Config.ClockJump, Expire takes it for a new time base and ends the flows
// last seen after it (EndTimeJump): otherwise their idle timeouts would
// wait for a clock that no longer gets there, and the table would only grow.
//
// Allocation: Update allocates only when the slab or the bucket array grows
// (amortised, bounded by MaxFlows); in steady state it allocates nothing.
// A Table is not safe for concurrent use; shard by [Key.Hash] to scale.
package flow
