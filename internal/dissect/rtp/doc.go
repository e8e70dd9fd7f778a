// Package rtp recognises RTP and RTCP (RFC 3550) over UDP, and over TCP with
// RFC 4571 framing (a 2-byte length before each packet).
//
// RTP has no magic number, so one packet proves nothing: the flow is
// identified when one direction carries three RTP packets in a row with
// version 2, a payload type outside the RTCP range, a consistent header
// (CSRC count, extension and padding fit), the same SSRC, sequence numbers
// that advance by 1 to 16 and timestamps that do not go back. Other packets
// in between (STUN, DTLS on a multiplexed port) are ignored.
//
// RTCP is identified on one datagram: version 2, a first packet type of SR
// or RR (200, 201; SDES, BYE, APP 202-204 may follow), and a length walk over
// the compound packet that ends exactly at the datagram's end.
//
// Ownership: Feed never keeps Payload. Allocation: none. Concurrency: one
// value per flow, one goroutine.
package rtp
