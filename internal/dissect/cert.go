package dissect

import (
	"net/netip"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// GeneralName tags of a subjectAltName (RFC 5280 section 4.2.1.6).
var (
	sanDNS = cbasn1.Tag(2).ContextSpecific()
	sanIP  = cbasn1.Tag(7).ContextSpecific()
)

// SetCertSANs records the body of a leaf certificate's subjectAltName
// GeneralNames sequence (copied). It returns false, recording nothing, when
// the body does not parse or names no DNS name or IP address. The names are
// decoded when CertSANs is called: a CDN certificate carries dozens, and
// nothing on the packet path reads them.
func (t *TLSInfo) SetCertSANs(seq []byte) bool {
	n := 0
	in := cryptobyte.String(seq)
	for !in.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !in.ReadAnyASN1(&v, &tag) {
			return false
		}
		if tag == sanDNS || tag == sanIP && (len(v) == 4 || len(v) == 16) {
			n++
		}
	}
	if n == 0 {
		return false
	}
	t.certSANs = append([]byte(nil), seq...)
	return true
}

// HasCertSANs reports whether the server certificate named any DNS name or
// address.
func (t *TLSInfo) HasCertSANs() bool { return t.certSANs != nil }

// CertSANs returns the server certificate's subject alternative names, where
// visible (TLS <= 1.2): the DNS names lower-cased, then the IP addresses.
func (t *TLSInfo) CertSANs() []string {
	var dns, ips []string
	in := cryptobyte.String(t.certSANs)
	for !in.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !in.ReadAnyASN1(&v, &tag) {
			break
		}
		switch tag {
		case sanDNS:
			dns = append(dns, strings.ToLower(string(v)))
		case sanIP:
			if a, ok := netip.AddrFromSlice(v); ok {
				ips = append(ips, a.String())
			}
		}
	}
	return append(dns, ips...)
}
