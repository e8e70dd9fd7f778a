// Package wireguard recognises WireGuard (https://www.wireguard.com/protocol/)
// over UDP from its four fixed message layouts: handshake initiation (type 1,
// 148 bytes), handshake response (type 2, 92 bytes), cookie reply (type 3, 64
// bytes) and transport data (type 4, 16-byte header plus a 16-byte-aligned
// AEAD payload). The three bytes after the type are reserved and zero.
//
// Evidence: a handshake initiation or response identifies the flow at once;
// without a handshake (the capture started mid-session) the flow is
// identified when both directions carry at least two transport messages that
// each keep one receiver index, with 64-bit counters below 2^32. Random
// payloads would have to hit an exact length and 24 zero bits, and transport
// traffic needs four coherent packets.
//
// Ownership: Feed does not retain Packet.Payload; the dissector keeps only a
// few integers. Allocation: none, Meta strings are constants. Concurrency: one
// value per flow, one goroutine.
package wireguard
