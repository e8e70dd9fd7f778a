// Package quic identifies QUIC flows (IETF QUIC v1/v2, IETF drafts 22-34,
// Facebook mvfst, Google QUIC Q0xx/T05x) from their UDP payloads and
// recovers the client's TLS ClientHello (or Google CHLO) from the Initial
// packets.
//
// IETF Initial packets are protected with keys derived from public data
// (the client's first Destination Connection ID and a per-version salt,
// RFC 9001 section 5.2, RFC 9369 section 3.3), so an on-path observer can
// remove header protection, open the AES-128-GCM payload and read the
// CRYPTO frames. The ClientHello may span several Initial packets, arrive
// out of order, or be carried by Initials whose DCID changed after the
// server's first reply (the keys stay those of the first DCID), so the
// dissector keeps a small set of candidate keys and a bounded CRYPTO
// reassembly buffer (cryptoMax = 16 KiB, at most maxRanges disjoint
// ranges). The complete ClientHello is handed to tls.ParseClientHello.
//
// Google QUIC: Q024-Q043 (public header) and Q046 carry an unencrypted
// CHLO; Q050 encrypts it like IETF Initials (own salt, gQUIC frame type
// 0x08 for CRYPTO); T050/T051 carry a TLS ClientHello the same way. The
// CHLO's SNI tag fills Meta.Host and its UAID tag Meta.HTTP.UserAgent
// (Meta has no QUIC user-agent field).
//
// Strictness: a flow is claimed only on a structurally valid long header
// whose version is known (or a reserved "forcing version negotiation"
// version in a full-size client datagram), or on a Google QUIC public
// header carrying a Q0xx version tag. Short-header packets alone never
// identify a flow: the first payload that is not a long header answers
// NotMine.
//
// Ownership: Packet.Payload is never written; packets are copied into the
// dissector's own scratch buffer before header protection is removed.
// Strings stored in Meta are copies.
//
// Allocation: rejecting a payload allocates nothing. A flow that looks like
// QUIC allocates its scratch and reassembly buffers once and its AEAD
// (crypto/aes and GCM, which have no re-key API) once per candidate DCID
// (at most maxKeys); header protection is one AES block per packet, done by
// internal/dissect/aesblock without a cipher object. Decrypting further
// packets with known keys allocates nothing.
//
// Concurrency: a Dissector serves one flow and is used by one goroutine.
package quic
