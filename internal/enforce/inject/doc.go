// Package inject builds the packets Weir injects when it enforces a rule,
// and sends them. Every one announces itself (internal/marker, documented
// byte by byte in docs/markers.md): IPv4 ID 0x5745, a "weir-reset" line in
// TCP resets, the HTTP 451 notice with a blocked-by link, an Extended DNS
// Error naming the rule, or an administratively-prohibited ICMP error.
//
// # Contract
//
// Builders are pure functions of the offending packet as NFQUEUE hands it
// over (pkt: the raw IP packet from the IPv4/IPv6 header on) and its
// decode.Parsed p (decoded with capture.LinkRaw). They return complete IP
// packets (checksums filled in) to write to a raw socket, e.g. with Sender:
//   - TCPReset: a RST|ACK back to the segment's sender and a RST to its
//     receiver, both carrying the reset marker.
//   - HTTPBlock: the 451 response as the server's segments, FIN, and a
//     RST to the server.
//   - DNSBlock: an NXDOMAIN (or sinkhole) response with EDNS0 and an
//     Extended DNS Error, over UDP or TCP as the query came.
//   - ICMPProhibited: ICMP 3/13 or ICMPv6 1/1 quoting the packet, rate
//     limited by the caller with a Limiter.
//
// Injected packets have TTL/hop limit 64; IPv4 ones also carry ID
// marker.IPID and DF. The builders answer only plain IP packets: a flow
// decoded from inside a tunnel (p.Tunnel != TunnelNone) or a lone
// fragment gets nothing, since a raw socket would route the reply around
// the tunnel and a fragment's payload is not the whole segment.
//
// Sequence numbers assume the offending segment was delivered (the
// receiver's RCV.NXT is past it). A datapath that drops the segment must
// know that the server's RCV.NXT is then p.TCPSeq: Linux answers a RST at
// any other in-window sequence with a challenge ACK (RFC 5961 3.2), so
// the RST to the server only takes effect for delivered segments.
//
// # Ownership, allocation, concurrency
//
// Builders read pkt and p and keep neither; the returned packets are
// freshly allocated and belong to the caller. Each call allocates its
// output (TCPReset: one buffer for both resets; DNSBlock and
// ICMPProhibited: one; HTTPBlock: the marker page, one buffer and the
// slice of segments) and nothing else: the DNS message and marker texts
// are assembled on the stack. Refusals allocate nothing (errors are
// preallocated *Error values with a closed Reason). Malformed input never
// panics and needs no recover: every length is checked before use
// (FuzzBuilders). Builders hold no state and are safe for concurrent use;
// so are Limiter and Sender.
package inject
