// Package decode turns a captured frame into the flow-relevant facts of the
// IP packet it carries: addresses, L4 protocol and ports, TCP header
// fields, VLAN, the outermost tunnel, and the L4 payload.
//
// # Contract
//
//	d, err := decode.New(decode.DefaultConfig())
//	r := d.Decode(link, frame, wireLen, ts, &p)
//
// Decode returns a closed Result:
//   - OK: p holds the innermost IP packet and its L4 fields. Ports are 0
//     for protocols without them (ESP, IGMP, GRE that is not decapsulated,
//     ...). ICMP/ICMPv6: SrcPort = type<<8|code, DstPort = the echo
//     identifier for echo request/reply, else 0.
//   - NotIP: a frame without IP (ARP, LLDP, STP and other 802.3 length
//     frames, EAPOL, PPPoE discovery, MPLS pseudowires, other EtherTypes or
//     address families), counted by NotIPKind. Not an error.
//   - Held: an IP fragment stored for reassembly; account nothing yet.
//   - Malformed: rejected; LastReason and Stats say why (a typed Reason).
//
// Malformed input never panics: every length is checked before use, and
// every nesting is bounded (MaxVLANTags VLAN tags, 8 IPv6 extension headers,
// 8 MPLS labels, 8 GTP-U extension headers, MaxTunnelDepth
// decapsulations). There is no recover().
//
// Ownership and aliasing: Decode resets *p and fills it. p.Payload aliases
// frame, except for a reassembled datagram, where it points into a buffer
// owned by the Decoder that stays valid until the next Decode call. The
// caller keeps ownership of frame; Decode does not retain it.
//
// Allocation: Decode allocates nothing. The reassembly table (slots and
// hash buckets) is allocated by New; each slot's 64 KiB buffer on its first
// use, then reused, so steady state is allocation-free (TestNoAllocs).
// Worst case memory is MaxFragDatagrams × ~65 KiB per Decoder (64 MiB at
// the default 1024).
//
// Concurrency: a Decoder is not safe for concurrent use; use one per
// goroutine. Stats returns a copy.
//
// # Lengths
//
// The IP total length (IPv4) or payload length (IPv6) bounds everything
// after it, so Ethernet padding and trailers never reach Payload. UDP's own
// length may shrink Payload further. A length larger than the captured data
// is Malformed unless the capture itself was cut (len(frame) < wireLen,
// snaplen): then the packet is decoded from what was captured.
//
// # Links
//
// Ethernet (802.3 length frames → NotIP), BSD null (host-order family:
// whichever byte order gives a small value; AF_INET 2, AF_INET6 24/28/30),
// OpenBSD loop (network order), raw IP (version nibble), IPv4, IPv6, Linux
// SLL and SLL2 (the protocol field is an EtherType, VLAN tags included).
// VLAN TPIDs 0x8100, 0x88a8 and 0x9100 are peeled at any position. MPLS
// label stacks and PPPoE sessions carrying IP are decoded too.
//
// # VLAN rule
//
// p.VLAN is the id of the last (innermost) VLAN tag met while walking the
// frame from the outside in, 0 if none, because that is the value nDPI
// prints as [VLAN: N] and flow keys must match the peer. Evidence from the
// corpus: dns.pcap and ipv6_in_gtp.pcap carry QinQ (421/785, 3233/5) and
// nDPI reports the inner tag (785, 5); vxlan.pcap has outer tag 5 and VNI
// 1111 and nDPI reports VLAN 5: a tunnel keeps the outer tag, and a VXLAN
// VNI is never a VLAN. If an inner Ethernet header (VXLAN, GRE bridging)
// carries its own tag, that tag is the last one seen and wins; the corpus
// has no such frame.
//
// # Tunnels
//
// Decode reports the inner flow; p.Tunnel names the outermost tunnel:
//   - GRE (IP protocol 47), version 0 with optional checksum/key/sequence,
//     carrying IPv4, IPv6 or transparent Ethernet (0x6558); version 1
//     (PPTP) carrying PPP with protocol IPv4 (0x21) or IPv6 (0x57), with or
//     without address/control and protocol-field compression. Anything
//     else (routing present, ERSPAN, LCP, ...) stays the GRE flow itself.
//   - VXLAN: UDP destination port 4789 with the I flag; inner Ethernet.
//   - GTP-U: UDP port 2152 (either side), version 1, PT=1, message type 255
//     (T-PDU), optional sequence/N-PDU/extension-header chain, inner IPv4
//     or IPv6. Other GTP messages (echo, errors) stay plain UDP.
//   - IP in IP: protocols 4 and 41 inside IPv4 or IPv6 (IPIP, 6in4, 4in6,
//     6in6).
//
// # Fragments
//
// With Config.Reassemble (on in DefaultConfig) IPv4 and IPv6 fragments are
// reassembled inside the Decoder. A datagram is keyed by family, addresses,
// identification, VLAN and (IPv4) protocol. Policy:
//   - Out-of-order, duplicated and identically overlapping fragments (a
//     retransmission or resegmentation) are accepted.
//   - A conflicting overlap, with different bytes or with a different end
//     of datagram, drops the whole datagram (frag-overlap): picking either
//     version would let an attacker choose what the DPI sees.
//   - A fragment other than the last must be a multiple of 8 bytes
//     (frag-bad-length); one reaching past 65535 bytes is frag-too-big; one
//     the capture cut short cannot be rebuilt (frag-truncated).
//   - A datagram older than FragTimeout (packet time since its first
//     fragment) is dropped and counted frag-timeout. When MaxFragDatagrams
//     are in progress, the oldest one is evicted and counted
//     frag-table-full, so a flood of incomplete datagrams cannot lock out
//     new ones for a whole timeout.
//
// When the last missing piece arrives Decode returns OK with
// p.Fragmented, p.Frames = the number of frames that made the datagram
// (duplicates included) and p.WireLen = their summed wire lengths, so flow
// accounting counts each frame exactly once. Frames of datagrams that never
// complete are counted in Stats (Held, then FragDroppedFrames) but never
// reach a flow. A reassembled datagram may carry a tunnel, and a tunnel may
// carry fragments; both work.
//
// Known counting difference with nDPI: ndpiReader does not reassemble. It
// accounts the first fragment (which carries the ports) to the flow and
// ignores the others, so its packet and byte counts for fragmented traffic
// are lower than ours and its flow sees only the first fragment's payload.
//
// Without reassembly each fragment is OK with p.Unreassembled set: the
// first one carries the ports from its partial L4 header, the others have
// ports 0.
package decode
