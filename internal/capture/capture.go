package capture

// LinkType is a pcap LINKTYPE_ value.
type LinkType uint16

const (
	LinkNull     LinkType = 0 // BSD loopback: 4-byte host-order address family
	LinkEthernet LinkType = 1
	LinkRaw      LinkType = 101 // raw IPv4/IPv6 (version nibble decides)
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkSLL      LinkType = 113 // Linux cooked v1
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkSLL2     LinkType = 276 // Linux cooked v2
)

// Packet is one captured frame. Data aliases the reader's buffer and is valid
// only until the next call to Next.
type Packet struct {
	Data     []byte   // captured bytes (CapLen = len(Data))
	WireLen  int      // original length on the wire
	TS       int64    // ns since the Unix epoch
	LinkType LinkType // per packet: pcapng interfaces may differ
	Offset   int64    // byte offset of this record in the (decompressed) stream
}

// Source yields packets one at a time into a caller-owned Packet.
type Source interface {
	// Next fills p with the next packet. It returns io.EOF at a clean end
	// and a *FormatError for truncated or corrupt input.
	Next(p *Packet) error
	Close() error
}

// Progresser is implemented by every Source this package returns, so a
// front end can draw a progress bar without knowing the input kind.
type Progresser interface {
	// Progress reports input bytes consumed so far and the input size, or
	// total == -1 when the size is unknown (a pipe). For gzip input both
	// count compressed bytes. It may be called from any goroutine.
	Progress() (done, total int64)
}
