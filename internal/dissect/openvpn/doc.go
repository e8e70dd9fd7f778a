// Package openvpn recognises OpenVPN's control channel over UDP and over TCP
// (where every packet carries a 2-byte big-endian length prefix).
//
// An OpenVPN packet starts with one byte holding opcode<<3 | key_id. Control
// packets (hard resets V1/V2/V3, soft reset, P_CONTROL, P_ACK, P_CONTROL_WKC)
// follow it with the sender's 8-byte session id; with tls-auth an HMAC,
// packet id and time follow, with tls-crypt the rest is encrypted. The HMAC
// size depends on configuration, so the dissector does not assume offsets
// past the session id. Its evidence is:
//
//   - the flow's first packet is a V2/V3 hard reset (whole, over TCP), then
//   - a packet of the other direction echoes that session id (the server's
//     reset acknowledges the client's session; found by searching a bounded
//     window), or one side repeats its session id on two later non-reset
//     control packets (ACK, CONTROL), or both sides on one each (tls-crypt,
//     where the echo is encrypted). Retransmitted resets do not count.
//
// A random payload must pick one of five opcodes and then repeat a 64-bit
// value, so false positives are negligible; the price is that a capture
// starting after the handshake is not recognised.
//
// Ownership: Feed keeps copies of the two 8-byte session ids, never the
// payload. Allocation: none. Concurrency: one value per flow, one goroutine.
package openvpn
