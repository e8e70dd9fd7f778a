package record

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/flow"
)

// Record is one flow as reported. Client is the initiator (the SYN sender,
// or the first packet's sender when no SYN was seen).
type Record struct {
	L4         uint8
	Client     netip.AddrPort
	Server     netip.AddrPort
	VLAN       uint16
	First      int64 // ns since the Unix epoch
	Last       int64
	C2SPackets uint64
	C2SBytes   uint64
	S2CPackets uint64
	S2CBytes   uint64
	End        flow.EndReason
	Class      *classify.Result // nil when classification is off
	// Verdict and Rule are set when a policy was applied.
	Verdict string
	Rule    string
}

// FromFlow fills r from an ended flow.
func (r *Record) FromFlow(f *flow.Flow, cls *classify.Result, why flow.EndReason) {
	k := &f.Key
	lo := netip.AddrPortFrom(k.Addr(true), k.LoPort)
	hi := netip.AddrPortFrom(k.Addr(false), k.HiPort)
	c, s := hi, lo
	if f.ClientIsLo {
		c, s = lo, hi
	}
	*r = Record{
		L4: k.Proto, Client: c, Server: s, VLAN: k.VLAN,
		First: f.First(), Last: f.Last(),
		C2SPackets: f.Side[flow.FromClient].Packets, C2SBytes: f.Side[flow.FromClient].Bytes,
		S2CPackets: f.Side[flow.FromServer].Packets, S2CBytes: f.Side[flow.FromServer].Bytes,
		End: why, Class: cls,
	}
}

// L4Name returns "tcp", "udp", "icmp", "icmpv6", ... or the protocol number.
func L4Name(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case 2:
		return "igmp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 132:
		return "sctp"
	}
	return "ip-" + strconv.Itoa(int(p))
}

// Duration is the flow's span.
func (r *Record) Duration() time.Duration { return time.Duration(r.Last - r.First) }
