package dissect

import "net/netip"

// Dir is the direction of a payload relative to the flow's initiator.
type Dir uint8

const (
	ToServer Dir = 0 // sent by the client (the flow initiator)
	ToClient Dir = 1 // sent by the server
)

// Packet is one L4 payload of a flow as a dissector sees it.
type Packet struct {
	Dir        Dir
	L4         uint8  // IP protocol number: 6 TCP, 17 UDP
	ClientPort uint16 // port of the flow initiator
	ServerPort uint16
	TCPFlags   uint8  // TCP only
	Seq        uint32 // TCP only: sequence number of Payload[0]
	Index      int    // 1-based number of this packet within the flow (both directions)
	TS         int64  // capture time, ns since the Unix epoch
	Payload    []byte // aliases the capture buffer; valid only during Feed
}

// Status is a dissector's answer after one packet.
type Status uint8

const (
	// Continue: undecided; send more packets of this flow.
	Continue Status = iota
	// Identified: Meta.Proto is set; more packets may add metadata
	// (ServerHello, certificate, response status), so keep feeding while the
	// engine's packet budget allows.
	Identified
	// Done: Meta is final; stop feeding this dissector and release its state.
	Done
	// NotMine: this flow is not this dissector's protocol; stop feeding it.
	NotMine
)

// Dissector is implemented by every protocol dissector. The zero value of a
// dissector type is ready to use; Reset returns it to that state so the
// engine can pool it, and may keep its buffers' capacity (a pooled
// dissector then does not allocate them again; the pool is bounded by the
// number of flows dissected at once).
type Dissector interface {
	Feed(p *Packet, m *Meta) Status
	Reset()
}

// Meta is what dissectors learned about one flow. Fields are filled by the
// dissector that identified the flow; others stay zero.
type Meta struct {
	Proto Proto // master protocol (TLS, QUIC, DNS, HTTP, ...)

	// Host is the server name the flow asks for: TLS/QUIC SNI, HTTP Host,
	// DNS query name. Lower-case, no trailing dot.
	Host string

	// AppHint is set by dissectors whose protocol itself names the
	// application (WhatsApp's chat protocol, Telegram's MTProto, Tor, Zoom,
	// a STUN attribute naming the service): a catalog app id, e.g. "whatsapp".
	AppHint string

	// ClientName is a name the client gives itself (DHCP option 12). It
	// is not a server name, so policies never match it as a host.
	ClientName string

	// Why is a short human reason for the identification, e.g.
	// "TLS ClientHello SNI", "QUIC v1 Initial decrypted", "DNS query".
	Why string

	TLS  TLSInfo
	QUIC QUICInfo
	DNS  DNSInfo
	HTTP HTTPInfo
	SSH  SSHInfo
}

// TLSInfo is filled by the TLS, DTLS and QUIC dissectors (QUIC carries a TLS
// ClientHello in its CRYPTO frames). The ClientHello's lists are kept as
// one compact copy (SetClientHello); ALPN, SupportedVersions, Extensions,
// CipherSuites, JA3 and JA4 are methods that read it.
type TLSInfo struct {
	ClientVersion uint16 // legacy_version from the ClientHello
	Version       uint16 // negotiated (ServerHello), 0 if unseen
	ServerALPN    string // ALPN chosen by the server, if visible
	Cipher        uint16 // cipher chosen by the server, 0 if unseen
	ECH           bool   // encrypted_client_hello extension present: Host is the outer SNI if ECH is real, the real name if it is GREASE (the two look alike)
	CertSubject   string // server certificate subject CN, where visible (TLS <= 1.2)
	CertIssuer    string

	hello     []byte // the ClientHello's lists, length-prefixed (hello.go)
	certSANs  []byte // the leaf's subjectAltName GeneralNames (cert.go)
	transport byte   // JA4's first character
	hasSNI    bool
}

// QUICInfo is filled by the QUIC dissector.
type QUICInfo struct {
	Version uint32 // wire version (0x00000001 v1, 0x6b3343cf v2, 0xff00001d draft-29, "Q050" as 0x51303530, ...)
	Google  bool   // Google QUIC (Q0xx or T0xx)
}

// DNSInfo is filled by the DNS, mDNS and LLMNR dissectors from the first
// message carrying a question; answers accumulate from responses.
type DNSInfo struct {
	QName    string
	QType    uint16
	QClass   uint16
	RCode    uint8
	Response bool // a response was seen
	Answers  []DNSAnswer
	EDNS     []EDNSOption
}

// DNSAnswer is one A, AAAA, CNAME or HTTPS/SVCB record from a response.
type DNSAnswer struct {
	Name   string // owner name
	Type   uint16 // 1 A, 28 AAAA, 5 CNAME, 64 SVCB, 65 HTTPS
	TTL    uint32
	Addr   netip.Addr // A/AAAA, or first ipv4hint/ipv6hint of HTTPS/SVCB
	Target string     // CNAME target or SVCB target name
}

// EDNSOption is one option from an OPT record.
type EDNSOption struct {
	Code uint16
	Len  uint16
	// InfoCode and Text are set for Extended DNS Errors (code 15, RFC 8914).
	InfoCode uint16
	Text     string
}

// HTTPInfo is filled by the HTTP dissector.
type HTTPInfo struct {
	// HostHeader is the Host header as sent, port included (SSDP's names
	// the multicast group, so it never becomes Meta.Host).
	HostHeader  string
	Method      string
	Path        string
	UserAgent   string
	Status      int // response status code, 0 if unseen
	ContentType string
	Server      string
}

// SSHInfo is filled by the SSH dissector.
type SSHInfo struct {
	ClientBanner string // e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2"
	ServerBanner string
}
