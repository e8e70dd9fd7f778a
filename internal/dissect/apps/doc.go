// Package apps recognises application protocols that name their
// application on the wire, each with its own dissector type:
//
//   - [WhatsApp]: the chat client's first bytes on TCP (443/5222): the
//     prologue "WA" + two version bytes (57 41 01 05 in old clients, 57 41
//     05 02 in Noise-based ones), optionally preceded by a 3-byte-length
//     routing header, or the newer "ED" 00 01 prologue.
//   - [Telegram]: MTProto transports on TCP (abridged 0xef, intermediate
//     0xeeeeeeee, padded intermediate 0xdddddddd, each carrying a first
//     unencrypted message whose auth_key_id is zero; the full transport with
//     its CRC-32; and the obfuscated transport, whose 64-byte init decrypts
//     under its own AES-256-CTR key/IV to one of those tags), and the voice
//     reflector protocol on UDP (16-byte peer tag, twelve 0xff bytes and a
//     reflector request or SELF_INFO/PEER_INFO constructor).
//   - [Dropbox]: LAN sync discovery, a UDP JSON object with "host_int" and
//     "namespaces" keys (broadcast to port 17500).
//   - [Spotify]: LAN discovery, UDP datagrams starting "SpotUdp0" (57621).
//   - [Zoom]: Zoom's own UDP media transport (ports 8801-8810): a type-1
//     packet answered by a type-2 packet carrying the same 16-byte id, or a
//     type-3 packet echoed by a type-4 packet with the same 12 bytes.
//   - [Discord]: voice IP discovery, 74-byte UDP packets of type 1 (request,
//     zero address) or 2 (response, ASCII address), length field 70.
//
// Facts come from public documentation (Telegram's MTProto transport pages,
// Discord's voice connection docs) and from the bytes of the nDPI corpus.
//
// Ownership: no dissector keeps Payload; Zoom keeps a 16-byte copy of an id.
// Allocation: none (Meta strings are constants). Concurrency: one value per
// flow, one goroutine.
package apps
