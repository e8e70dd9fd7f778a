// Package ssh recognises SSH from the identification lines both sides
// send first (RFC 4253 4.2): "SSH-2.0-softwareversion [comments]" or the
// compatibility form "SSH-1.99-...".
//
// The first valid banner from either side identifies the flow (Proto SSH,
// the banner in Meta.SSH.ClientBanner or ServerBanner by Packet.Dir); the
// flow is Done once both banners are recorded. A banner split across
// segments is reassembled in order (Packet.Seq) into at most [MaxBanner]
// bytes per direction. Banners are printable ASCII by construction (the
// check rejects anything else); Meta.Host stays empty because SSH names
// no server. Lines a server may send before its banner are not
// supported: such a side is ignored, and a flow whose first bytes are not
// a banner prefix is NotMine at once.
//
// Ownership: Payload is read during Feed only; banners in Meta are
// copies. Allocation: rejecting allocates nothing; a split banner is
// buffered (<= MaxBanner bytes per direction), and each banner string is
// allocated once. Concurrency: one flow, one goroutine. Malformed input
// never panics.
package ssh
