// Package dns recognises DNS, mDNS and LLMNR flows and extracts the query
// name, the answers (A, AAAA, CNAME, SVCB, HTTPS) and EDNS options,
// including Extended DNS Errors.
//
// # Flow
//
// [Dissector] accepts UDP datagrams (one message each) and DNS over TCP
// (2-byte length prefix, RFC 7766: several messages per segment, or one
// message across segments, reassembled in order from Packet.Seq into at
// most [MaxTCPBuffer] bytes per direction). The first message whose header
// and every question are plausible identifies the flow (Identified) and
// sets Meta.Proto by port: UDP 5353 is MDNS, 5355 is LLMNR, else DNS.
// Meta.Host and Meta.DNS.QName are the first question's name. Later
// packets are read until a response with the same ID is seen (Done); its
// answers, RCODE and OPT options fill Meta.DNS. A response seen first
// identifies and finishes the flow at once. mDNS announcements carry no
// question: their first record's owner name is the host.
//
// # Strictness
//
// Random payloads must practically never pass: the opcode must be a known
// one, Z zero, QDCOUNT 1..4, the counts must fit the message, a query may
// not carry answers or an RCODE, and every question must decode (labels <=
// 63 octets, names <= 255, compression pointers only backwards and at
// most 126 hops) with a non-zero QTYPE and a known QCLASS. Ports 137-139
// are left to NetBIOS, whose name service shares this wire format.
//
// # Names
//
// Names are lower-cased presentation text without the trailing dot.
// Octets outside '!'..'~' are kept as "\DDD", and '.' or '\' inside a
// label as "\." and "\\", so a hostile name can neither forge label
// boundaries nor carry control characters into logs.
//
// # Contract
//
// Ownership: Payload is read during Feed only; strings stored in Meta are
// copies. Allocation: a rejected or waiting payload allocates nothing; a
// flow allocates its Meta strings once, its answers, and for TCP one
// buffer of at most MaxTCPBuffer bytes per direction. Concurrency: a
// Dissector serves one flow on one goroutine. Malformed input never
// panics; it is NotMine before identification and ignored after it.
//
// [Parse] is the same message parser without flow state, for reuse (a DoH
// body, a policy test).
package dns
