// Package lan recognises small LAN protocols, one dissector type each:
// [SSDP] (UPnP discovery), [NetBIOS] (name, datagram and session
// services, with SMB inside), [DHCP], [DHCPv6] and [NTP].
//
// Each type decides from one datagram (the session service from the
// first segment carrying a message) and answers Done or NotMine, with
// Continue only for NetBIOS session keep-alives and responses (at most a
// few). Acceptance needs structural evidence: exact start lines and a
// required header (SSDP), exact name encodings and header consistency
// (NetBIOS), the magic cookie and well-formed options (DHCP), options
// that exactly fill the datagram (DHCPv6), length and field consistency
// per mode (NTP). Ports are only a tie-breaker: DHCPv6 and NTP, whose
// headers are short or mostly opaque, also require their port (546/547,
// 123) on either side.
//
// Host is set only where the protocol names a host being asked for
// (NetBIOS names); DHCP option 12 names the client and SSDP's HOST the
// multicast group, so both leave Host empty.
//
// Contract: Payload is read during Feed only; strings in Meta are
// copies. Rejecting allocates nothing; an accepted flow allocates at most
// its Host. Each value serves one flow on one goroutine. Malformed input
// never panics.
package lan
