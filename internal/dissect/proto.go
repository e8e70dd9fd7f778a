package dissect

// Proto is a master protocol. The set is closed: add a value here, its name
// in protoNames, and a dissector that can set it.
type Proto uint8

const (
	Unknown Proto = iota
	DNS
	MDNS
	LLMNR
	HTTP
	HTTP2
	HTTPConnect // HTTP CONNECT to a proxy
	HTTPProxy   // HTTP request in absolute-URI (proxy) form
	TLS
	DTLS
	QUIC
	DoT // DNS over TLS (TLS to port 853)
	DoH // DNS over HTTPS (TLS or QUIC to a known resolver, or DoH endpoint)
	SSH
	SMTP
	SMTPS // SMTP with implicit TLS or after STARTTLS
	IMAP
	IMAPS
	POP3
	POP3S
	BitTorrent
	WireGuard
	OpenVPN
	STUN
	RTP
	RTCP
	SRTP
	SIP
	NTP
	SSDP
	NetBIOS
	SMB
	DHCP
	DHCPv6
	ICMP
	ICMPv6
	IGMP
	IPSec
	Tor
	WhatsApp // WhatsApp's own chat protocol (Noise handshake, "WA" prologue)
	Telegram // MTProto
	Dropbox  // Dropbox LAN sync discovery
	Spotify  // Spotify LAN discovery
	Zoom     // Zoom's own media protocol
	Discord  // Discord voice (IP discovery)
	numProtos
)

var protoNames = [numProtos]string{
	Unknown: "Unknown", DNS: "DNS", MDNS: "MDNS", LLMNR: "LLMNR",
	HTTP: "HTTP", HTTP2: "HTTP2", HTTPConnect: "HTTP_Connect", HTTPProxy: "HTTP_Proxy",
	TLS: "TLS", DTLS: "DTLS", QUIC: "QUIC", DoT: "DoT", DoH: "DoH",
	SSH: "SSH", SMTP: "SMTP", SMTPS: "SMTPS", IMAP: "IMAP", IMAPS: "IMAPS",
	POP3: "POP3", POP3S: "POP3S", BitTorrent: "BitTorrent", WireGuard: "WireGuard",
	OpenVPN: "OpenVPN", STUN: "STUN", RTP: "RTP", RTCP: "RTCP", SRTP: "SRTP",
	SIP: "SIP", NTP: "NTP", SSDP: "SSDP", NetBIOS: "NetBIOS", SMB: "SMB",
	DHCP: "DHCP", DHCPv6: "DHCPv6", ICMP: "ICMP", ICMPv6: "ICMPv6", IGMP: "IGMP",
	IPSec: "IPSec", Tor: "Tor", WhatsApp: "WhatsApp", Telegram: "Telegram",
	Dropbox: "Dropbox", Spotify: "Spotify", Zoom: "Zoom", Discord: "Discord",
}

// String returns the protocol's display name.
func (p Proto) String() string {
	if p < numProtos {
		return protoNames[p]
	}
	return "Unknown"
}

// ParseProto maps a display name back to a Proto (case-sensitive).
func ParseProto(s string) (Proto, bool) {
	for i, n := range protoNames {
		if n == s {
			return Proto(i), true
		}
	}
	return Unknown, false
}
