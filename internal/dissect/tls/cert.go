package tls

import (
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

// ParseCertificate parses a TLS <= 1.2 Certificate handshake message (4-byte
// header first; in TLS 1.3 it is encrypted and never seen) and fills
// m.TLS.CertSubject, CertIssuer (common names) and CertSANs (DNS names, then
// IP addresses) from the first (leaf) certificate.
//
// It walks the DER itself and reads only those fields: crypto/x509 parses
// keys and every extension, was a tenth of weir inspect's CPU, and rejects
// some real-world certificates. A certificate it cannot walk returns
// ErrMalformed and leaves m alone ("no certificate metadata", not "not TLS").
func ParseCertificate(hs []byte, m *dissect.Meta) error {
	body, err := handshakeBody(hs, hsCertificate)
	if err != nil {
		return err
	}
	r := reader{b: body}
	list := reader{b: r.vec24()}
	leaf := list.vec24()
	if r.bad || list.bad || len(leaf) == 0 {
		return ErrMalformed
	}
	subject, issuer, sans, ok := leafNames(leaf)
	if !ok {
		return ErrMalformed
	}
	m.TLS.CertSubject, m.TLS.CertIssuer = subject, issuer
	m.TLS.SetCertSANs(sans)
	return nil
}

var (
	oidCommonName = []byte{0x55, 0x04, 0x03}
	oidSAN        = []byte{0x55, 0x1d, 0x11}
)

// leafNames reads the issuer and subject common names and the subject
// alternative names of one DER certificate.
func leafNames(der []byte) (subject, issuer string, sans []byte, ok bool) {
	in := cryptobyte.String(der)
	var cert, tbs, issuerSeq, subjectSeq cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return "", "", nil, false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipASN1(cbasn1.INTEGER) || // serial
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature algorithm
		!tbs.ReadASN1(&issuerSeq, cbasn1.SEQUENCE) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.ReadASN1(&subjectSeq, cbasn1.SEQUENCE) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // subject public key info
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific()) {
		return "", "", nil, false
	}
	if issuer, ok = commonName(issuerSeq); !ok {
		return "", "", nil, false
	}
	if subject, ok = commonName(subjectSeq); !ok {
		return "", "", nil, false
	}
	var extsWrap, exts cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&extsWrap, &present, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		return "", "", nil, false
	}
	if !present {
		return subject, issuer, nil, true
	}
	if !extsWrap.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return "", "", nil, false
	}
	for !exts.Empty() {
		var ext, oid, value cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
			return "", "", nil, false
		}
		if string(oid) == string(oidSAN) {
			if sans, ok = altNames(value); !ok {
				return "", "", nil, false
			}
		}
	}
	return subject, issuer, sans, true
}

// commonName returns the last CN attribute of a Name (as crypto/x509 does).
func commonName(name cryptobyte.String) (cn string, ok bool) {
	for !name.Empty() {
		var rdn cryptobyte.String
		if !name.ReadASN1(&rdn, cbasn1.SET) {
			return "", false
		}
		for !rdn.Empty() {
			var atv, oid, val cryptobyte.String
			var tag cbasn1.Tag
			if !rdn.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
				!atv.ReadAnyASN1(&val, &tag) {
				return "", false
			}
			if string(oid) == string(oidCommonName) {
				switch tag {
				case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String, cbasn1.T61String:
					cn = intern.Bytes(val)
				}
			}
		}
	}
	return cn, true
}

// altNames returns the GeneralNames body of a SubjectAltName extension
// value.
func altNames(value cryptobyte.String) ([]byte, bool) {
	var seq cryptobyte.String
	if !value.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, false
	}
	return seq, true
}
