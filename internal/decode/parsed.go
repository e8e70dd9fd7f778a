package decode

// Parsed is the caller-owned result of decoding one frame. Decode overwrites
// every field it uses; slices alias the frame (or a reassembly buffer owned
// by the Decoder, valid until the next Decode call).
type Parsed struct {
	// WireLen is the frame length on the wire. For a datagram reassembled
	// from IP fragments it is the sum over all its fragments' frames, and
	// Frames says how many frames that was (1 otherwise).
	WireLen int
	Frames  int

	VLAN   uint16 // VLAN id used in the flow key (see Decoder doc for QinQ/tunnel rules); 0 = untagged
	Tunnel Tunnel // outermost tunnel that was decapsulated, TunnelNone if none

	Family   uint8    // 4 or 6; 0 when the frame carries no IP packet
	Src, Dst [16]byte // IPv4 in the first 4 bytes, rest zero
	Proto    uint8    // L4 protocol number of the (inner) packet
	TTL      uint8    // IPv4 TTL / IPv6 hop limit
	IPID     uint16   // IPv4 identification (0 for IPv6)

	SrcPort, DstPort uint16 // TCP/UDP ports; ICMP: type<<8|code in SrcPort, id in DstPort for echo
	TCPFlags         uint8
	TCPSeq, TCPAck   uint32
	TCPWindow        uint16

	Fragmented bool // the L4 payload came from reassembled IP fragments
	// Unreassembled is set when Config.Reassemble is off and this packet is
	// one IP fragment: the first fragment carries L4 ports (from its partial
	// payload), later fragments have ports 0 and Payload is their raw data.
	Unreassembled bool
	Payload       []byte // L4 payload (after TCP/UDP/ICMP header)
}

// Tunnel names an encapsulation Decode looked through to reach the inner flow.
type Tunnel uint8

const (
	TunnelNone Tunnel = iota
	TunnelGRE
	TunnelVXLAN
	TunnelGTPU
	TunnelIPinIP // IPv4/IPv6 in IPv4/IPv6 (protocols 4 and 41)
)
