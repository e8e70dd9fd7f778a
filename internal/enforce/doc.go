// Package enforce applies a compiled policy inline on a Linux router.
//
// # Datapath
//
// Weir installs its own iptables chain (WEIR, in the filter table's FORWARD
// hook, for IPv4 and IPv6) that sends only the first packets of each TCP or
// UDP connection to user space through NFQUEUE (-m connbytes), with
// --queue-bypass so traffic keeps flowing if Weir is not there (fail-open;
// --fail-closed drops it instead). User space decodes and classifies those
// packets with the same engine as weir inspect and, once the flow is
// identified, evaluates the policy and answers the queued packet with
// NF_REPEAT and a packet mark. The chain saves the mark to the connection
// (CONNMARK --save-mark) and matches every later packet on that conntrack
// mark first, so the kernel enforces the verdict for the rest of the
// connection at full speed, one rule per packet for allowed traffic:
// allowed connections leave the queue, dropped ones are dropped, throttled
// ones are classified by tc (HTB classes matched by fw mark). Conntrack
// metadata is not available on queued packets on these kernels, which is
// why the verdict travels as a packet mark.
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
