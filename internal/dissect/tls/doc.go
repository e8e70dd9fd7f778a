// Package tls recognises TLS over TCP and DTLS over UDP and parses the
// handshake messages a passive observer can read: ClientHello (SNI, ALPN,
// versions, JA3, JA4), ServerHello (negotiated version, cipher, ALPN) and,
// in TLS <= 1.2, the server Certificate (subject, issuer, SANs).
//
// # Exported parsers
//
// [ParseClientHello], [ParseServerHello] and [ParseCertificate] take one
// complete handshake message starting at its 4-byte header. The QUIC
// dissector reuses ParseClientHello with transport 'q'. They return the
// sentinels [ErrTruncated], [ErrWrongType] or [ErrMalformed] (crypto/x509's
// error for an unparsable certificate) and leave Meta untouched on error.
//
// # JA4
//
// The parsers keep a compact copy of the ClientHello's lists in Meta
// (dissect.TLSInfo.SetClientHello); the fingerprints are computed from it
// when read (TLSInfo.JA3, JA4), in package dissect, since hashing them for
// every flow was most of a hello's cost and most are never printed.
// Only the BSD-3 JA4 TLS-client fingerprint is computed (JA4S/JA4X/... are
// under FoxIO's non-permissive licence). We follow FoxIO's specification;
// nDPI 4.x differs in three places, which the corpus test maps explicitly:
// the SNI flag (nDPI: 'd' unless the SNI is an IP literal; spec: 'd' iff
// the server_name extension is present), the ALPN characters (nDPI: first
// two; spec: first and last, hex digits for non-alphanumeric bytes), and
// DTLS 1.3 (nDPI: legacy version "d2"; spec: highest supported "d3").
// JA3 is the classic MD5 with GREASE removed, matching nDPI's JA3C.
//
// # ECH
//
// With encrypted_client_hello (0xfe0d) present, TLSInfo.ECH is set and Host
// is the ClientHelloOuter's SNI, i.e. the provider's public name, never the
// real destination; Why says "(ECH)". GREASE ECH looks the same on the
// wire, so ECH=true does not prove the inner name differs.
//
// # TCP reassembly ([Dissector])
//
// Each direction is reassembled by Packet.Seq: retransmissions and overlaps
// are trimmed, out-of-order segments are stashed (at most 16) and drained
// when the gap fills. A direction holds at most maxDirBytes (64 KiB) in
// total: partial record, partial handshake message, stashed segments.
// A ClientHello larger than that is reported as TLS without SNI ("too
// large to reassemble"); one with a segment that never arrives is reported
// as TLS without SNI after 4 more packets ("incomplete"). Segments that
// arrive before any record start in their direction (the hello's second
// segment overtaking the first) are stashed, at most two, unless they begin
// with printable text, which ends the dissector at once (NotMine).
//
// Identified after a parsed ClientHello (or a ServerHello when only the
// server side is visible); Done after the Certificate, a TLS 1.3
// ServerHello (the certificate is encrypted), a server ChangeCipherSpec
// (resumption), or the first application_data record. A flow joined
// mid-stream is Identified by two chained well-formed record headers with a
// completed body between them, or by a lone Alert record exactly filling a
// segment. Server port 853 gives DoT, 465 SMTPS, 993 IMAPS, 995 POP3S
// (implicit TLS, as nDPI does); anything else is TLS.
//
// # Tor
//
// AppHint "tor" requires all of: SNI "www.<base32>.com", a certificate
// with subject CN "www.<base32>.net", issuer CN "www.<base32>.com" and no
// subjectAltName: the shape of Tor's link certificate. Any single name
// also matches ordinary sites, and ports are never used. Because the
// certificate is encrypted in TLS 1.3, Tor over TLS 1.3 is plain TLS here.
// In nDPI's tor.pcap this tags all 7 Tor connections; nDPI tags 3 (its
// DGA-name heuristic misses the others).
//
// # DTLS ([DTLSDissector])
//
// Every record of a datagram is validated (type 20-23, version 0xfeff or
// 0xfefd, length within the datagram) before anything else. Handshake
// fragments (12-byte header) are reassembled per direction for the
// message under construction (at most 32 fragments, maxDirBytes). STUN
// datagrams multiplexed on the same 5-tuple (RFC 7983) are skipped, up to
// 16, before the handshake. Epoch>0 records alone in two datagrams identify
// a flow joined mid-stream.
//
// # Ownership, allocation, concurrency
//
// Packet.Payload is never retained: stashed and partial data are copied
// into per-flow buffers released by Done, NotMine and Reset. Strings put in
// Meta are fresh copies. Rejecting a payload allocates nothing; parsing a
// hello allocates only the Meta results, and in-order single-segment
// records are parsed in place. A dissector value serves one flow on one
// goroutine; the package has no global mutable state.
package tls
