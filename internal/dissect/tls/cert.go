package tls

import (
	"crypto/x509"
	"strings"

	"github.com/weirnet/weir/internal/dissect"
)

// ParseCertificate parses a TLS <= 1.2 Certificate handshake message (4-byte
// header first; in TLS 1.3 it is encrypted and never seen) and fills
// m.TLS.CertSubject, CertIssuer (common names) and CertSANs (DNS names, then IP addresses) from
// the first (leaf) certificate. crypto/x509 rejects some real-world
// certificates; ParseCertificate then returns its error and leaves m alone,
// which callers treat as "no certificate metadata", not as "not TLS".
func ParseCertificate(hs []byte, m *dissect.Meta) error {
	r := reader{b: hs}
	typ := r.u8()
	n := r.u24()
	if r.bad {
		return ErrTruncated
	}
	if typ != hsCertificate {
		return ErrWrongType
	}
	body := r.bytes(n)
	if r.bad {
		return ErrTruncated
	}
	r = reader{b: body}
	list := reader{b: r.vec24()}
	leaf := list.vec24()
	if r.bad || list.bad || len(leaf) == 0 {
		return ErrMalformed
	}
	c, err := x509.ParseCertificate(leaf)
	if err != nil {
		return err
	}
	m.TLS.CertSubject = c.Subject.CommonName
	m.TLS.CertIssuer = c.Issuer.CommonName
	m.TLS.CertSANs = nil
	for _, n := range c.DNSNames {
		m.TLS.CertSANs = append(m.TLS.CertSANs, strings.ToLower(n))
	}
	for _, ip := range c.IPAddresses {
		m.TLS.CertSANs = append(m.TLS.CertSANs, ip.String())
	}
	return nil
}
