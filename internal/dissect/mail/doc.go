// Package mail recognises SMTP, IMAP and POP3, and their STARTTLS upgrade
// (SMTP "STARTTLS", IMAP "<tag> STARTTLS", POP3 "STLS") to SMTPS, IMAPS and
// POP3S.
//
// One [Dissector] serves all three protocols: the server greeting ("220 ",
// "* OK"/"* PREAUTH", "+OK") or the client's first command (EHLO/HELO,
// a tagged IMAP command, USER/CAPA/STLS/...) picks the protocol, and the
// three share the line checks and the STARTTLS hand-off, so one type is
// smaller than three near-copies and costs the engine one Feed per packet
// instead of three.
//
// Evidence required (random payloads and other text protocols must not
// pass): a greeting that names the protocol ("SMTP"/"ESMTP", "IMAP",
// "POP"), or a greeting plus an agreeing client command, or (server side
// unseen) two client commands. A bare "220 " greeting is also FTP's, so
// SMTP needs "SMTP" in it or an EHLO/HELO. A first line that is not
// printable ASCII terminated by LF within 1024 bytes, a first server line
// that is no greeting, a first client line that is no mail command, or
// contradicting kinds answer NotMine. Only the first line of each payload
// is examined; mail commands and replies start segments in practice.
//
// After an accepted STARTTLS, the TLS records are handed to an embedded
// tls.Dissector; Proto becomes SMTPS/IMAPS/POP3S and the TLS SNI, if any,
// replaces the host taken from the SMTP greeting ("220 <domain> ...", as
// nDPI reports it). Done when the TLS dissector is done.
//
// Ownership and allocation: Payload is never retained; the greeting host
// is copied into a fixed array in the dissector, so waiting and rejecting
// allocate nothing; Meta strings are allocated once, on identification.
// A Dissector serves one flow on one goroutine.
package mail
