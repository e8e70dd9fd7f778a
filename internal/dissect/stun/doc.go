// Package stun recognises STUN and TURN (RFC 5389/8489, RFC 8656) and the
// classic STUN of RFC 3489, over UDP and TCP.
//
// Evidence, per message:
//   - RFC 5389: the top two type bits are zero, the length is a multiple of
//     4 and matches the datagram (or fits the TCP segment), the magic cookie
//     0x2112A442 is at offset 4, and the attributes walk exactly to the end;
//     a FINGERPRINT attribute, when present, must be last and carry the
//     right CRC-32 (RFC 5389 §15.5). One such message identifies the flow.
//   - RFC 3489 (no cookie): one of the six classic message types, the exact
//     length and attribute walk, and then either only attribute types that
//     RFC 3489 or a later STUN RFC defines, or a message in the other
//     direction carrying the same 16-byte transaction id.
//
// Over TCP, messages are self-delimiting and several may share a segment; a
// segment may also use RFC 4571 framing (a 2-byte length before each
// message, as ICE-TCP does). TURN ChannelData (channel 0x4000-0x7FFF) is
// skipped after identification but never identifies a flow on its own.
//
// App hints come from attributes whose meaning is public: Microsoft's
// [MS-TURN]/[MS-ICE2] attributes (MS-VERSION 0x8008, MS-SEQUENCE-NUMBER
// 0x8050, MS-SERVICE-QUALITY 0x8055, MS-IMPLEMENTATION-VERSION 0x8070) →
// "teams"; WhatsApp's private attributes 0x4000-0x4007 and its 0x0800-0x0805
// message types → "whatsapp"; a REALM naming Facebook's TURN servers →
// "facebook-messenger", Google's (turn.l.google.com) → "googlemeet"; a
// SOFTWARE value that names a product → that product. libwebrtc's GOOG-*
// attributes (0xC057...) are sent by every WebRTC client (Meet, Signal,
// Telegram), so they name no application and give no hint.
//
// Ownership: Feed never keeps Payload; Meta strings are constants.
// Allocation: none. Concurrency: one value per flow, one goroutine.
package stun
