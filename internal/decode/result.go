package decode

// Result says what Decode made of a frame. It is a closed set.
type Result uint8

const (
	// OK: p holds an IP packet (the innermost one for tunnels) with its L4
	// fields; account it.
	OK Result = iota
	// NotIP: a well-formed frame that carries no IP (ARP, LLDP, STP, ...).
	// Counted by NotIPKind in Stats; not an error.
	NotIP
	// Held: an IP fragment kept for reassembly. Nothing to account yet; the
	// frame is counted when its datagram completes (p.Frames).
	Held
	// Malformed: the frame was rejected; Stats counts it by Reason and
	// Decoder.LastReason says why.
	Malformed

	NumResults = int(iota)
)

var resultNames = [NumResults]string{"ok", "not-ip", "held", "malformed"}

func (r Result) String() string {
	if int(r) < NumResults {
		return resultNames[r]
	}
	return "result-invalid"
}

// Reason says why a frame was Malformed, or why held fragments were
// discarded (frag-timeout, frag-table-full). It is a closed set.
type Reason uint8

const (
	ReasonNone Reason = iota
	ShortEthernet
	ShortVLAN
	VLANTooDeep
	ShortLinkHeader // BSD null/loop, Linux SLL/SLL2 header cut short
	UnsupportedLink
	BadIPVersion
	ShortIPv4
	BadIPv4HeaderLength
	IPv4TotalLength
	ShortIPv6
	IPv6PayloadLength
	BadIPv6Extension
	ShortTCP
	BadTCPOffset
	ShortUDP
	ShortICMP
	ShortGRE
	BadGTP
	BadMPLS
	ShortPPPoE
	TunnelTooDeep
	FragBadLength // a fragment other than the last is not a multiple of 8 bytes
	FragTruncated // snaplen cut a fragment: its data cannot be reassembled
	FragOverlap
	FragTooBig
	FragTimeout
	FragTableFull

	NumReasons = int(iota)
)

var reasonNames = [NumReasons]string{
	ReasonNone:          "none",
	ShortEthernet:       "short-ethernet",
	ShortVLAN:           "short-vlan",
	VLANTooDeep:         "vlan-too-deep",
	ShortLinkHeader:     "short-link-header",
	UnsupportedLink:     "unsupported-link",
	BadIPVersion:        "bad-ip-version",
	ShortIPv4:           "short-ipv4",
	BadIPv4HeaderLength: "bad-ipv4-header-length",
	IPv4TotalLength:     "ipv4-total-length",
	ShortIPv6:           "short-ipv6",
	IPv6PayloadLength:   "ipv6-payload-length",
	BadIPv6Extension:    "bad-ipv6-extension",
	ShortTCP:            "short-tcp",
	BadTCPOffset:        "bad-tcp-offset",
	ShortUDP:            "short-udp",
	ShortICMP:           "short-icmp",
	ShortGRE:            "short-gre",
	BadGTP:              "bad-gtp",
	BadMPLS:             "bad-mpls",
	ShortPPPoE:          "short-pppoe",
	TunnelTooDeep:       "tunnel-too-deep",
	FragBadLength:       "frag-bad-length",
	FragTruncated:       "frag-truncated",
	FragOverlap:         "frag-overlap",
	FragTooBig:          "frag-too-big",
	FragTimeout:         "frag-timeout",
	FragTableFull:       "frag-table-full",
}

func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasonNames[r]
	}
	return "reason-invalid"
}

// NotIPKind classifies NotIP frames for Stats. It is a closed set.
type NotIPKind uint8

const (
	KindARP            NotIPKind = iota // ARP and RARP
	KindLLDP                            // 0x88cc
	KindLLC                             // 802.3 length frames (STP, CDP, ...)
	KindEAPOL                           // 0x888e
	KindPPPoE                           // discovery, or a session carrying no IP
	KindMPLS                            // MPLS whose payload is not IP (pseudowires)
	KindOtherEtherType                  // any other EtherType, also inside tunnels
	KindOtherFamily                     // null/loop address family or SLL type that is not IP

	NumNotIPKinds = int(iota)
)

var kindNames = [NumNotIPKinds]string{"arp", "lldp", "llc", "eapol", "pppoe", "mpls", "other-ethertype", "other-family"}

func (k NotIPKind) String() string {
	if int(k) < NumNotIPKinds {
		return kindNames[k]
	}
	return "kind-invalid"
}

// Stats are a Decoder's counters. It is a plain value: copy it, diff it.
type Stats struct {
	Results [NumResults]uint64 // frames by Decode result
	// Reasons counts Malformed frames by reason, plus the datagrams that
	// the reassembler discarded (frag-timeout, frag-table-full evictions,
	// frag-overlap) whose earlier frames had been Held.
	Reasons [NumReasons]uint64
	NotIP   [NumNotIPKinds]uint64 // NotIP frames by kind

	FragCompleted     uint64 // datagrams reassembled and returned as OK
	FragDroppedFrames uint64 // Held frames whose datagram was discarded
	FragInProgress    int    // datagrams currently held
}
