// Package enforce applies a compiled policy inline on a Linux router.
//
// # Datapath
//
// Weir installs a native nftables table (inet weir) whose forward-hook chain
// looks every TCP/UDP packet up in sets of decided flows keyed by 5-tuple:
// allowed packets are accepted, dropped flows are dropped, throttled ones get
// their class's mark, and unmarked packets, the ones of flows not decided
// yet, go to NFQUEUE (the xtables target through nft_compat; nftables' own
// queue statement is not built into these kernels) with bypass (fail-open;
// --fail-closed drops them instead when Weir is not there). User space
// decodes and classifies them with the same engine as weir inspect and, once
// the flow is identified, evaluates the policy, answers the queued packet and
// publishes the flow (both directions) to the sets over netlink (sets.go),
// so the kernel handles the rest of it at full speed. No connection tracking
// is involved: on these machines it alone costs ~14% of forwarding
// throughput.
//
// # Long flows and counts
//
// Set elements count their packets and bytes and expire a set timeout after
// they are written. Every few seconds Weir reads the counters into its flows
// (records then count what the kernel forwarded) and renews busy elements
// about to expire (counters.go); an element that expired anyway brings its
// flow's packets back to the queue, where Weir answers from its table and
// writes it again. The active timeout writes interim records; a flow keeps
// its classification and verdict across them.
//
// # Announcing
//
// Every enforcement announces itself (internal/marker, docs/markers.md):
// blocked HTTP gets a 451 with a blocked-by link, blocked DNS an answer with
// an Extended DNS Error, blocked TLS and other TCP marked resets both ways,
// blocked UDP/QUIC an ICMP administratively-prohibited (rate-limited). Each
// action is written as an event.
//
// # Concurrency
//
// One goroutine (the NFQUEUE callback) owns the engine and the per-flow
// verdict state; the policy is read through an atomic holder so a reload
// swaps it without locks. New flows get the new policy; decided flows keep
// their verdict.
package enforce
