package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/weirnet/weir/internal/capture"
)

// Bounds on nesting. Each one stops an attacker from making Decode loop
// over a frame full of headers; exceeding one is a typed Reason.
const (
	MaxVLANTags    = 8 // 802.1Q/802.1ad tags in one Ethernet header
	MaxTunnelDepth = 4 // decapsulations (GRE, VXLAN, GTP-U, IP-in-IP) per frame
	maxIPv6Ext     = 8 // IPv6 extension headers per packet
	maxMPLSLabels  = 8
	maxGTPExt      = 8 // GTP-U extension headers
)

// Reassembly defaults.
const (
	DefaultMaxFragDatagrams = 1024
	DefaultFragTimeout      = 30 * time.Second
	maxFragDatagramsLimit   = 1 << 16
)

// Config tunes a Decoder. The zero value decodes without reassembly; use
// DefaultConfig for the usual settings.
type Config struct {
	// Reassemble turns on IPv4/IPv6 fragment reassembly. Off, each fragment
	// is returned as OK with Parsed.Unreassembled set.
	Reassemble bool
	// MaxFragDatagrams bounds the datagrams held at once; each one pins a
	// 64 KiB buffer (allocated on first use, then reused). 0 = default.
	MaxFragDatagrams int
	// FragTimeout is how long, in packet time from its first fragment, a
	// datagram may stay incomplete. 0 = default.
	FragTimeout time.Duration
}

// DefaultConfig returns the settings the pipeline uses.
func DefaultConfig() Config {
	return Config{Reassemble: true, MaxFragDatagrams: DefaultMaxFragDatagrams, FragTimeout: DefaultFragTimeout}
}

var errConfig = errors.New("decode: invalid configuration")

// Decoder decodes frames into Parsed. It holds the reassembly table and the
// counters, so use one per goroutine.
type Decoder struct {
	cfg   Config
	stats Stats
	last  Reason

	// Per-call state, reset by Decode.
	truncated bool // the capture cut the frame short (snaplen): lengths may exceed the data
	curFrames int  // frames and wire bytes behind the packet being decoded:
	curWire   int  // 1 and wireLen, or a reassembled datagram's totals
	ts        int64

	frag fragTable
}

// New returns a Decoder. Zero MaxFragDatagrams or FragTimeout take the
// defaults; negative or absurd values are an error.
func New(cfg Config) (*Decoder, error) {
	if cfg.MaxFragDatagrams == 0 {
		cfg.MaxFragDatagrams = DefaultMaxFragDatagrams
	}
	if cfg.FragTimeout == 0 {
		cfg.FragTimeout = DefaultFragTimeout
	}
	if cfg.MaxFragDatagrams < 0 || cfg.MaxFragDatagrams > maxFragDatagramsLimit {
		return nil, fmt.Errorf("%w: MaxFragDatagrams %d not in 1..%d", errConfig, cfg.MaxFragDatagrams, maxFragDatagramsLimit)
	}
	if cfg.FragTimeout < 0 {
		return nil, fmt.Errorf("%w: FragTimeout %v is negative", errConfig, cfg.FragTimeout)
	}
	d := &Decoder{cfg: cfg}
	if cfg.Reassemble {
		d.frag.init(cfg.MaxFragDatagrams, int64(cfg.FragTimeout), rand.Uint64())
	}
	return d, nil
}

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats {
	s := d.stats
	s.FragInProgress = d.frag.active
	return s
}

// LastReason is the Reason of the last Decode that returned Malformed
// (ReasonNone otherwise).
func (d *Decoder) LastReason() Reason { return d.last }

// Decode decodes one captured frame of the given link type into p. wireLen
// is the frame's original length and ts its capture time in ns (packet time
// drives fragment timeouts). See the package doc for the contract.
func (d *Decoder) Decode(link capture.LinkType, frame []byte, wireLen int, ts int64, p *Parsed) Result {
	*p = Parsed{WireLen: wireLen, Frames: 1}
	d.last = ReasonNone
	d.truncated = len(frame) < wireLen
	d.curFrames, d.curWire, d.ts = 1, wireLen, ts
	if d.cfg.Reassemble {
		d.frag.release()
		d.frag.expire(ts, &d.stats)
	}
	r := d.link(link, frame, p)
	d.stats.Results[r]++
	if r == Malformed {
		d.stats.Reasons[d.last]++
	}
	return r
}

func (d *Decoder) bad(r Reason) Result {
	d.last = r
	return Malformed
}

func (d *Decoder) notIP(k NotIPKind) Result {
	d.stats.NotIP[k]++
	return NotIP
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// BSD address families seen in DLT_NULL/DLT_LOOP headers. AF_INET6 differs
// between the BSDs (24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin).
const afINET = 2

func (d *Decoder) link(link capture.LinkType, b []byte, p *Parsed) Result {
	switch link {
	case capture.LinkEthernet:
		return d.ether(b, p, 0)
	case capture.LinkNull, capture.LinkLoop:
		if len(b) < 4 {
			return d.bad(ShortLinkHeader)
		}
		af := be32(b)
		if link == capture.LinkNull && af > 0xffff {
			// Host byte order of the capturing machine: a little-endian
			// writer puts the small value in the first byte.
			af = binary.LittleEndian.Uint32(b)
		}
		switch af {
		case afINET:
			return d.ipv4(b[4:], p, 0)
		case 24, 28, 30:
			return d.ipv6(b[4:], p, 0)
		}
		return d.notIP(KindOtherFamily)
	case capture.LinkRaw:
		return d.ip(b, p, 0)
	case capture.LinkIPv4:
		return d.ipv4(b, p, 0)
	case capture.LinkIPv6:
		return d.ipv6(b, p, 0)
	case capture.LinkSLL:
		// type(2) arphrd(2) addrlen(2) addr(8) protocol(2)
		if len(b) < 16 {
			return d.bad(ShortLinkHeader)
		}
		return d.sll(be16(b[2:]), be16(b[14:]), b[16:], p)
	case capture.LinkSLL2:
		// protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) addrlen(1) addr(8)
		if len(b) < 20 {
			return d.bad(ShortLinkHeader)
		}
		return d.sll(be16(b[8:]), be16(b[0:]), b[20:], p)
	}
	return d.bad(UnsupportedLink)
}

const arphrdNetlink = 824

func (d *Decoder) sll(hatype, proto uint16, b []byte, p *Parsed) Result {
	if hatype == arphrdNetlink {
		// The protocol field holds a netlink family, not an EtherType.
		return d.notIP(KindOtherFamily)
	}
	return d.etherType(proto, b, p, 0)
}

func (d *Decoder) ip(b []byte, p *Parsed, depth int) Result {
	if len(b) == 0 {
		return d.bad(BadIPVersion)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	}
	return d.bad(BadIPVersion)
}

func (d *Decoder) ether(b []byte, p *Parsed, depth int) Result {
	if len(b) < 14 {
		return d.bad(ShortEthernet)
	}
	return d.etherType(be16(b[12:]), b[14:], p, depth)
}

// EtherTypes we act on.
const (
	etIPv4    = 0x0800
	etARP     = 0x0806
	etRARP    = 0x8035
	etVLAN    = 0x8100
	etQinQ    = 0x88a8
	etQinQOld = 0x9100
	etIPv6    = 0x86dd
	etMPLS    = 0x8847
	etMPLSMc  = 0x8848
	etPPPoED  = 0x8863
	etPPPoES  = 0x8864
	etEAPOL   = 0x888e
	etLLDP    = 0x88cc
	etTEB     = 0x6558 // transparent Ethernet bridging (GRE)
)

// etherType dispatches on an EtherType whose payload is b, peeling VLAN
// tags. p.VLAN takes the id of the last tag seen (see doc.go for why).
func (d *Decoder) etherType(t uint16, b []byte, p *Parsed, depth int) Result {
	for tags := 0; ; tags++ {
		switch t {
		case etVLAN, etQinQ, etQinQOld:
			if tags == MaxVLANTags {
				return d.bad(VLANTooDeep)
			}
			if len(b) < 4 {
				return d.bad(ShortVLAN)
			}
			p.VLAN = be16(b) & 0x0fff
			t = be16(b[2:])
			b = b[4:]
			continue
		case etIPv4:
			return d.ipv4(b, p, depth)
		case etIPv6:
			return d.ipv6(b, p, depth)
		case etARP, etRARP:
			return d.notIP(KindARP)
		case etLLDP:
			return d.notIP(KindLLDP)
		case etEAPOL:
			return d.notIP(KindEAPOL)
		case etPPPoED:
			return d.notIP(KindPPPoE)
		case etPPPoES:
			return d.pppoe(b, p, depth)
		case etMPLS, etMPLSMc:
			return d.mpls(b, p, depth)
		}
		if t <= 1500 {
			// IEEE 802.3 length field: LLC/SNAP follows (STP, CDP, ...).
			return d.notIP(KindLLC)
		}
		return d.notIP(KindOtherEtherType)
	}
}

// PPP protocol numbers for IP.
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
)

func (d *Decoder) pppoe(b []byte, p *Parsed, depth int) Result {
	// ver/type(1) code(1) session(2) length(2), then the PPP protocol.
	if len(b) < 8 {
		return d.bad(ShortPPPoE)
	}
	n := int(be16(b[4:]))
	pl := b[6:]
	if n < 2 || (n > len(pl) && !d.truncated) {
		return d.bad(ShortPPPoE)
	}
	if n < len(pl) {
		pl = pl[:n]
	}
	switch be16(pl) {
	case pppIPv4:
		return d.ipv4(pl[2:], p, depth)
	case pppIPv6:
		return d.ipv6(pl[2:], p, depth)
	}
	return d.notIP(KindPPPoE)
}

func (d *Decoder) mpls(b []byte, p *Parsed, depth int) Result {
	for n := 0; ; n++ {
		if n == maxMPLSLabels || len(b) < 4 {
			return d.bad(BadMPLS)
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		return d.bad(BadMPLS)
	}
	// MPLS does not say what it carries; the first nibble does for IP.
	// Anything else (pseudowire control word, Ethernet) is not decoded.
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p, depth)
	case 6:
		return d.ipv6(b, p, depth)
	}
	return d.notIP(KindMPLS)
}
