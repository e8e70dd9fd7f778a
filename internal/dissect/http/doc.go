// Package http recognises HTTP/1.x on TCP from its request or status line
// and the HTTP/2 cleartext preface, and extracts the request's method,
// target, Host and User-Agent and the response's status, Content-Type
// and Server.
//
// # Flow
//
// Each direction's head (start line and headers) is reassembled from
// in-order segments (Packet.Seq; retransmitted bytes are skipped, a gap
// ends reassembly) into at most [MaxHead] bytes. A valid request line
// (known method, a target without spaces or control bytes, HTTP/1.0 or
// 1.1) or status line (HTTP/1.x and a 1xx..5xx code) identifies the flow
// in either direction, so one-sided captures work. CONNECT sets Proto
// HTTPConnect and Host from its target; an absolute-form target sets
// HTTPProxy and Host from the URI authority; otherwise Host comes from
// the Host header (names are case-insensitive). Host is lower-cased
// without port, IPv6 brackets or trailing dot; bytes that do not belong
// in a name are escaped as "\DDD". Interim 1xx responses are skipped. The
// flow is Done once a final response head is read; the preface
// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" gives Proto HTTP2 and Done at once.
//
// # Contract
//
// Ownership: Payload is read during Feed only; strings in Meta are
// copies, each at most 2048 bytes. Allocation: rejecting allocates
// nothing; a head that spans segments is copied into a buffer of at most
// MaxHead bytes per direction, freed when the head is complete; Meta
// strings are allocated once. Concurrency: a Dissector serves one flow on
// one goroutine. Malformed input never panics: it is NotMine before
// identification and ignored after it.
package http
