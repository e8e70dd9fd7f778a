// Package sip recognises SIP (RFC 3261) over UDP and TCP from the start line
// of the first message: a request "METHOD sip:uri SIP/2.0" (or sips:/tel:)
// with a known method, or a response "SIP/2.0 NNN reason". CRLF keep-alives
// (RFC 5626) before it are skipped.
//
// Meta.Host is the host of the Request-URI (requests) or of the To header's
// URI (responses), lower-case, without user part, port or parameters.
//
// Ownership: Feed never keeps Payload; Host is copied once per flow.
// Allocation: only that copy, on identification. Concurrency: one value per
// flow, one goroutine.
package sip
