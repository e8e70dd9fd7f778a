package classify

import (
	"net/netip"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
)

// decideApp names the flow's application from, in order: an app the
// protocol itself names, the server name the flow carried, a name DNS gave
// for the server address, the address's published owner. Without a
// dissector verdict it falls back to a port guess, marked as such.
func (c *Classifier) decideApp(s *state, f *flow.Flow) {
	r := &s.res
	m := &r.Meta
	if m.Proto == dissect.DNS && m.DNS.Response {
		c.learnDNS(m, f.Last())
	}
	server := f.Key.Addr(!f.ClientIsLo)
	// This runs again when dissection ends if it ran early (EarlyApp): an
	// app found then stands, with its evidence and the name DNS gave.
	r.Host = m.Host
	if r.Host == "" {
		r.Host = r.learned
	}
	switch {
	case m.AppHint != "" && c.byID(r, m.AppHint):
		r.AppConf, r.appBy = ConfDPI, appByProtocol
	case m.Host != "" && c.byHost(r, m.Host):
		r.AppConf, r.appBy = ConfDPI, appByHost
	case protoApps[m.Proto] != "" && c.byID(r, protoApps[m.Proto]):
		// The protocol is the application (BitTorrent, WireGuard, ...).
		r.AppConf, r.appBy = ConfDPI, appByProtocol
	}
	// A flow that names its server (SNI, Host, query name) is about that
	// name: if the catalog does not know it, the hosting network's owner
	// (a CDN, a cloud, a public resolver) is not the application. Address
	// evidence is used only for flows that carry no name of their own.
	// Control protocols decided by the IP header (ICMP, IGMP) get no app.
	named := m.Host != "" && !isIPLiteral(m.Host)
	if r.App != "" || named || isLocalProto(m.Proto) || isControlProto(m.Proto) {
		c.settle(r, f)
		return
	}
	{
		if name, ok := c.dns.Lookup(server, f.Last()); ok {
			if r.Host == "" {
				r.Host, r.learned = name, name
			}
			if c.byHost(r, name) {
				r.AppConf = ConfDNSCache
				r.appBy, r.learned = appByDNS, name
			}
		}
	}
	if r.App == "" && c.apps != nil {
		if app, cat, ok := c.apps.ByAddress(server); ok {
			r.App, r.Category, r.AppConf = app, cat, ConfIPMatch
			r.appBy = appByAddress
		}
	}
	c.settle(r, f)
}

// settle applies what depends on the final protocol: an early decision
// (EarlyApp) may have named the owner of a STUN flow's address before DTLS
// took the flow over.
func (c *Classifier) settle(r *Result, f *flow.Flow) {
	if r.appBy == appByAddress && r.Meta.Proto == dissect.DTLS {
		c.callRelay(r)
	}
	markDoH(r)
	c.portFallback(r, f)
}

// callRelays maps an address owner to the calling app whose media relays
// sit in its prefixes. Only DTLS counts: it carries a call's media (or a
// WebRTC data channel) through the relay, while a bare STUN binding to the
// same servers is often another WebRTC app finding its public address.
var callRelays = [...]struct{ owner, call string }{
	{"google", "googlemeet"}, // Meet and Duo relay through Google's TURN servers
}

// callRelay renames an address-owner app to its calling app.
func (c *Classifier) callRelay(r *Result) {
	for _, cr := range callRelays {
		if r.App == cr.owner && c.byID(r, cr.call) {
			r.appBy = appByCallRelay
			return
		}
	}
}

// relayOwner is the owner whose relays callRelay named call after.
func relayOwner(call string) string {
	for _, cr := range callRelays {
		if cr.call == call {
			return cr.owner
		}
	}
	return ""
}

// markDoH names DNS over HTTPS: TLS or QUIC to a known public resolver
// (by name or by its published address).
func markDoH(r *Result) {
	if r.App == "doh" && (r.Meta.Proto == dissect.TLS || r.Meta.Proto == dissect.QUIC) {
		r.Meta.Proto = dissect.DoH
		r.doh = true
	}
}

// portFallback guesses the protocol from the server port when no
// dissector recognised the flow; the guess is marked port-guess.
func (c *Classifier) portFallback(r *Result, f *flow.Flow) {
	m := &r.Meta
	if m.Proto != dissect.Unknown || r.Confidence != ConfUnknown {
		return
	}
	p, ok := portGuess(f.Key.Proto, f.ServerPort())
	how := guessServerPort
	if !ok && !f.SawSYN {
		// Without a SYN the "client" is only whoever the capture saw
		// first: a capture that starts mid-connection often shows the
		// server speaking first.
		p, ok = portGuess(f.Key.Proto, f.ClientPort())
		how = guessFirstSender
	}
	if ok {
		m.Proto, r.Confidence, r.portGuess = p, ConfPortGuess, how
	}
}

// protoApps names the catalog app a protocol is, where the protocol is
// itself the application.
var protoApps = [...]string{
	dissect.BitTorrent: "bittorrent", dissect.WireGuard: "wireguard", dissect.OpenVPN: "openvpn",
	dissect.IPSec: "ipsec", dissect.Tor: "tor", dissect.WhatsApp: "whatsapp", dissect.Telegram: "telegram",
	dissect.Dropbox: "dropbox", dissect.Spotify: "spotify", dissect.Zoom: "zoom", dissect.Discord: "discord",
	dissect.Unknown: "",
}

func isControlProto(p dissect.Proto) bool {
	return p == dissect.ICMP || p == dissect.ICMPv6 || p == dissect.IGMP
}

// isIPLiteral: an HTTP Host or SNI that is an address names no server.
func isIPLiteral(h string) bool {
	if h == "" {
		return false
	}
	if h[0] == '[' {
		return true
	}
	// Only digits and dots (IPv4) or a colon (IPv6) can parse; checking
	// first spares names ParseAddr's error, which allocates.
	colon, other := false, false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == ':':
			colon = true
		case c != '.' && (c < '0' || c > '9'):
			other = true
		}
	}
	if other && !colon {
		return false
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

func (c *Classifier) byID(r *Result, app string) bool {
	if c.apps == nil {
		return false
	}
	cat, ok := c.apps.ByID(app)
	if ok {
		r.App, r.Category = app, cat
	}
	return ok
}

func (c *Classifier) byHost(r *Result, host string) bool {
	if c.apps == nil {
		return false
	}
	app, cat, ok := c.apps.ByHostName(host)
	if ok {
		r.App, r.Category = app, cat
	}
	return ok
}

// learnDNS records the answers of a DNS response: every address answered
// for the query maps back to the name the client asked for (CNAME chains
// included, since the client connects to the address for that name).
func (c *Classifier) learnDNS(m *dissect.Meta, now int64) {
	if m.DNS.QName == "" {
		return
	}
	for i := range m.DNS.Answers {
		a := &m.DNS.Answers[i]
		if a.Addr.IsValid() && !a.Addr.IsUnspecified() {
			c.dns.Learn(a.Addr, m.DNS.QName, a.TTL, now)
		}
	}
}

// isLocalProto: protocols whose flows never name an application by address.
func isLocalProto(p dissect.Proto) bool {
	switch p {
	case dissect.MDNS, dissect.LLMNR, dissect.SSDP, dissect.NetBIOS, dissect.DHCP, dissect.DHCPv6:
		return true
	}
	return false
}

// portGuess maps well-known server ports to protocols, for flows no
// dissector recognised. Reported with confidence port-guess, never dpi.
func portGuess(l4 uint8, port uint16) (dissect.Proto, bool) {
	type key struct {
		l4   uint8
		port uint16
	}
	p, ok := wellKnown[key{l4, port}]
	return p, ok
}

var wellKnown = map[struct {
	l4   uint8
	port uint16
}]dissect.Proto{
	{6, 80}: dissect.HTTP, {6, 8080}: dissect.HTTP, {6, 443}: dissect.TLS, {17, 443}: dissect.QUIC,
	{17, 53}: dissect.DNS, {6, 53}: dissect.DNS, {6, 853}: dissect.DoT, {6, 22}: dissect.SSH,
	{6, 25}: dissect.SMTP, {6, 587}: dissect.SMTP, {6, 465}: dissect.SMTPS, {6, 143}: dissect.IMAP,
	{6, 993}: dissect.IMAPS, {6, 110}: dissect.POP3, {6, 995}: dissect.POP3S, {17, 123}: dissect.NTP,
	{17, 5353}: dissect.MDNS, {17, 5355}: dissect.LLMNR, {17, 1900}: dissect.SSDP, {17, 67}: dissect.DHCP,
	{17, 547}: dissect.DHCPv6, {17, 137}: dissect.NetBIOS, {17, 138}: dissect.NetBIOS, {6, 139}: dissect.NetBIOS,
	{17, 51820}: dissect.WireGuard, {17, 1194}: dissect.OpenVPN, {6, 1194}: dissect.OpenVPN,
	{17, 3478}: dissect.STUN, {6, 3478}: dissect.STUN, {17, 5060}: dissect.SIP, {6, 5060}: dissect.SIP,
	{6, 6881}: dissect.BitTorrent, {17, 6881}: dissect.BitTorrent, {6, 5222}: dissect.WhatsApp,
	{17, 17500}: dissect.Dropbox, {17, 57621}: dissect.Spotify,
	{6, 5223}: dissect.TLS, // Apple push and legacy XMPP over TLS
}
