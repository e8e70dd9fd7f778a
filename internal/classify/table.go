package classify

import (
	"math/bits"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/apps"
	"github.com/weirnet/weir/internal/dissect/bittorrent"
	"github.com/weirnet/weir/internal/dissect/dns"
	"github.com/weirnet/weir/internal/dissect/http"
	"github.com/weirnet/weir/internal/dissect/lan"
	"github.com/weirnet/weir/internal/dissect/mail"
	"github.com/weirnet/weir/internal/dissect/openvpn"
	"github.com/weirnet/weir/internal/dissect/quic"
	"github.com/weirnet/weir/internal/dissect/rtp"
	"github.com/weirnet/weir/internal/dissect/sip"
	"github.com/weirnet/weir/internal/dissect/ssh"
	"github.com/weirnet/weir/internal/dissect/stun"
	"github.com/weirnet/weir/internal/dissect/tls"
	"github.com/weirnet/weir/internal/dissect/wireguard"
)

// probes holds one value of every dissector; a flow borrows one while it is
// being dissected. Reaching a dissector through a pointer into this struct
// makes the interface conversion free.
type probes struct {
	tls        tls.Dissector
	dtls       tls.DTLSDissector
	quic       quic.Dissector
	http       http.Dissector
	dns        dns.Dissector
	ssh        ssh.Dissector
	mail       mail.Dissector
	bittorrent bittorrent.Dissector
	wireguard  wireguard.Dissector
	openvpn    openvpn.Dissector
	stun       stun.Dissector
	sip        sip.Dissector
	rtp        rtp.Dissector
	whatsapp   apps.WhatsApp
	telegram   apps.Telegram
	zoom       apps.Zoom
	discord    apps.Discord
	dropbox    apps.Dropbox
	spotify    apps.Spotify
	ssdp       lan.SSDP
	netbios    lan.NetBIOS
	dhcp       lan.DHCP
	dhcpv6     lan.DHCPv6
	ntp        lan.NTP
}

// reset returns the dissectors of the rows in mask (the ones a flow was
// fed to; the others are still in their zero state) to their zero state.
func (p *probes) reset(mask uint64) {
	for ; mask != 0; mask &= mask - 1 {
		table[bits.TrailingZeros64(mask)].get(p).Reset()
	}
}

const (
	onTCP = 1 << iota
	onUDP
)

// entry is one row of the dissector table.
type entry struct {
	name string
	on   uint8 // onTCP|onUDP
	get  func(*probes) dissect.Dissector
}

// table is the dissector order: every candidate sees each packet in this
// order and the first to identify the flow wins. Protocols with strong
// structure (handshakes, magic numbers) come first; RTP, whose header is
// the weakest signature, comes last.
var table = [...]entry{
	{"tls", onTCP, func(p *probes) dissect.Dissector { return &p.tls }},
	{"quic", onUDP, func(p *probes) dissect.Dissector { return &p.quic }},
	{"http", onTCP, func(p *probes) dissect.Dissector { return &p.http }},
	{"dns", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.dns }},
	{"ssh", onTCP, func(p *probes) dissect.Dissector { return &p.ssh }},
	{"dtls", onUDP, func(p *probes) dissect.Dissector { return &p.dtls }},
	{"stun", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.stun }},
	{"mail", onTCP, func(p *probes) dissect.Dissector { return &p.mail }},
	{"bittorrent", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.bittorrent }},
	{"wireguard", onUDP, func(p *probes) dissect.Dissector { return &p.wireguard }},
	{"openvpn", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.openvpn }},
	{"whatsapp", onTCP, func(p *probes) dissect.Dissector { return &p.whatsapp }},
	{"telegram", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.telegram }},
	{"sip", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.sip }},
	{"ssdp", onUDP, func(p *probes) dissect.Dissector { return &p.ssdp }},
	{"netbios", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.netbios }},
	{"dhcp", onUDP, func(p *probes) dissect.Dissector { return &p.dhcp }},
	{"dhcpv6", onUDP, func(p *probes) dissect.Dissector { return &p.dhcpv6 }},
	{"ntp", onUDP, func(p *probes) dissect.Dissector { return &p.ntp }},
	{"dropbox", onUDP, func(p *probes) dissect.Dissector { return &p.dropbox }},
	{"spotify", onUDP, func(p *probes) dissect.Dissector { return &p.spotify }},
	{"zoom", onUDP, func(p *probes) dissect.Dissector { return &p.zoom }},
	{"discord", onUDP, func(p *probes) dissect.Dissector { return &p.discord }},
	{"rtp", onTCP | onUDP, func(p *probes) dissect.Dissector { return &p.rtp }}, // TCP: RFC 4571 framing
}

// Rows the classifier refers to by position (the STUN → DTLS upgrade);
// TestTableRows keeps them honest.
const (
	dtlsRow = 5
	stunRow = 6
)

// The candidate set is a uint64 bitmask.
var _ [64 - len(table)]struct{}

// candidates returns the bitmask of table rows that apply to an L4 protocol.
func candidates(l4 uint8) uint64 {
	switch l4 {
	case 6:
		return tcpRows
	case 17:
		return udpRows
	}
	return 0
}

// tcpRows and udpRows are the rows for TCP and for UDP flows.
var tcpRows, udpRows = func() (tcp, udp uint64) {
	for i, e := range table {
		if e.on&onTCP != 0 {
			tcp |= 1 << i
		}
		if e.on&onUDP != 0 {
			udp |= 1 << i
		}
	}
	return tcp, udp
}()
