package compare

import (
	"strings"

	"github.com/weirnet/weir/internal/classify"
)

// reason explains one remaining difference between Weir and nDPI. Rules
// are checked in order; specific flows come first. docs/accuracy.md prints
// the result next to every difference.
func reason(f *Flow) string {
	n := &f.NDPI
	if f.Weir == nil {
		if n.BadEndpoint {
			return "nDPI printed an impossible IPv6 address for this flow; Weir's flow is the same one (see flows-vs-ndpi.md)."
		}
		return "No matching Weir flow."
	}
	c := f.Weir.Class
	// Most specific key first: the flow's host, then Weir's protocol, then
	// the capture and nDPI label alone.
	key := f.Capture + " " + n.Label
	for _, k := range []string{key + " host=" + c.Host, key + " weir=" + c.Meta.Proto.String(), key} {
		if r, ok := specific[k]; ok {
			usedSpecific[k] = true
			return r
		}
	}
	switch {
	case c.App == "ads":
		return "Third-party ad/tracking network: Weir's catalog names it (app `ads`, category ads); nDPI has no application for it. Weir is more specific."
	case c.App == "tor":
		return "Tor relay link: random www.<base32>.com SNI with a www.<base32>.net certificate issued by www.<base32>.com and no SANs (Tor's link-certificate shape). nDPI tags 3 of the 7 such flows in tor.pcap; Weir tags all 7. Weir is right."
	case c.AppConf == classify.ConfIPMatch && f.NDPIApp == "":
		return "No server name in the flow; Weir names the application from the server address's published prefix (" + c.App + "); nDPI labels the protocol only (it shows the owner in its [IP: ...] field). Weir is more specific."
	case strings.HasSuffix(c.Host, "akamai.net") || strings.HasSuffix(c.Host, "akamaiedge.net") || strings.HasSuffix(c.Host, "cloudapp.net") || strings.HasSuffix(c.Host, "microsoftstream.com"):
		return "DNS query for an infrastructure name the catalog maps to its operator (" + c.App + "); nDPI names no application, or a different one from its own lists."
	case c.Meta.Proto.String() == "MDNS":
		return "mDNS flow with many questions over many packets: Weir reports the first question, nDPI a later one."
	case f.NDPIApp == "GoogleCall" && c.Meta.Proto.String() == "STUN" && c.App == "google":
		return "STUN to Google's relay servers: nDPI calls it a Google call from its IP list; Weir names the owner (google) and keeps googlemeet for DTLS through those servers, because other WebRTC apps send STUN bindings to Google's public STUN servers too."
	case f.NDPIApp == "Zoom" || f.NDPIApp == "GoogleCall" || f.NDPIApp == "WhatsAppCall":
		return "nDPI takes the call application from its IP lists (Zoom, Google, WhatsApp media relays); Weir names it only from evidence in the flow or published prefixes it ships."
	case n.Master == "STUN" && n.App == "RTP":
		return "Classic STUN followed by RTP on one flow: nDPI labels STUN.RTP, Weir STUN (RTP is not an application)."
	}
	return ""
}

// usedSpecific records which specific reasons matched a flow, so a test
// can flag stale ones.
var usedSpecific = map[string]bool{}

// specific explains single flows, keyed by capture and nDPI label,
// narrowed by " host=NAME" or " weir=PROTOCOL" where the capture has other
// flows with the same nDPI label that differ for another reason.
var specific = map[string]string{
	"1kxun.pcap HTTP.Google":                          "Host google.open-js.com is not Google's; nDPI matched the substring \"google\". Weir is right.",
	"1kxun.pcap HTTP host=qzonestyle.gtimg.cn":        "qzonestyle.gtimg.cn is Tencent's (QQ) static-content domain; nDPI names no application. Weir is more specific.",
	"dns-invalid-chars.pcap DNS":                      "The query and the response carry different names; Weir reports the query's (what the client asked), nDPI the response's. Weir is right.",
	"mullvad_wireguard.pcap WireGuard.Mullvad":        "nDPI names the VPN provider from its IP list; Weir ships no provider address lists.",
	"openvpn.pcap OpenVPN.NordVPN":                    "nDPI names the VPN provider from its IP list; Weir ships no provider address lists.",
	"ssh.pcap SSH":                                    "nDPI prints the first banner it saw in either direction; Weir compares its client banner, and in this capture the client's banner is the other one.",
	"stun.pcap DTLS":                                  "A flow on Zoom's port 8801 with Zoom's own framing before DTLS; Weir's Zoom dissector does not claim it and DTLS never starts a datagram; Zoom's published prefixes name the application (zoom), not the protocol.",
	"stun_wa_call.pcapng SRTP.WhatsAppCall":           "nDPI switches to SRTP after the STUN exchange; Weir keeps the STUN label (SRTP is not told apart from RTP without keys).",
	"tls_1.3_unidirectional_server.pcapng TLS":        "Server side only, no SNI: Weir names the owner of the server address (google); nDPI the protocol only.",
	"windowsupdate_over_http.pcap HTTP.WindowsUpdate": "The Host header is a bare address; nDPI names Windows Update from the URL path or its IP list, Weir from host names only.",
	"dtls.pcap DTLS":                                  "TURN relay at a Meta address: Weir names the owner of the address (facebook); nDPI the protocol only.",
	"doh.pcapng TLS":                                  "TLS to 1.1.1.1:443 without SNI: Weir names it from the address (Cloudflare's public DoH resolver, app doh); nDPI the protocol only. Weir is more specific.",
}
