package tls

import (
	"strings"

	"github.com/weirnet/weir/internal/dissect"
)

// isTorLink reports Tor's TLS link handshake. Tor relays and clients dress
// their TLS as generic HTTPS but fill the names with random base32 labels:
// the client's SNI is "www.<random>.com", the relay's link certificate has
// subject CN "www.<random>.net" issued by an identity certificate with CN
// "www.<random>.com", and carries no subjectAltName. We require all three
// (SNI + subject + issuer) because any one alone also matches ordinary
// sites; the certificate is only visible in TLS <= 1.2, so a TLS 1.3 Tor
// link is reported as plain TLS (no guess from ports or SNI alone).
func isTorLink(m *dissect.Meta) bool {
	return torName(m.Host, ".com") &&
		torName(m.TLS.CertIssuer, ".com") &&
		torName(m.TLS.CertSubject, ".net") &&
		!m.TLS.HasCertSANs()
}

// torName matches "www." + 4..25 base32 characters [a-z2-7] + suffix.
func torName(s, suffix string) bool {
	label, ok := strings.CutPrefix(s, "www.")
	if !ok {
		return false
	}
	label, ok = strings.CutSuffix(label, suffix)
	if !ok || len(label) < 4 || len(label) > 25 {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
