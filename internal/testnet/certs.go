package testnet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs is a throwaway CA and one server certificate for a list of names,
// generated at test time. The files are written so that curl (--cacert),
// openssl, nginx and caddy can use them.
type Certs struct {
	CAFile   string // PEM CA certificate
	CertFile string // PEM server certificate followed by the CA (a chain)
	KeyFile  string // PEM PKCS#8 server key

	TLS  tls.Certificate // server certificate for Go servers
	Pool *x509.CertPool  // holds the CA, for Go clients

	// SPKIHash is base64(sha256(server SubjectPublicKeyInfo)), what
	// chromium's --ignore-certificate-errors-spki-list wants.
	SPKIHash string
}

// GenerateCerts makes a CA and a server certificate valid for names and the
// server addresses, and writes them into dir.
func GenerateCerts(dir string, names ...string) (*Certs, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "weir testnet CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cn := "server.test"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		IPAddresses: []net.IP{
			ServerIP4.AsSlice(), ServerIP6.AsSlice(), Server2IP4.AsSlice(), Server2IP6.AsSlice(),
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}

	c := &Certs{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
		Pool:     x509.NewCertPool(),
	}
	c.Pool.AddCert(ca)
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	c.SPKIHash = base64.StdEncoding.EncodeToString(sum[:])
	c.TLS = tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caPEM...)
	files := []struct {
		path string
		data []byte
	}{
		{c.CAFile, caPEM},
		{c.CertFile, chain},
		{c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})},
	}
	for _, f := range files {
		// 0644 even for the key: caddy or nginx may read it as another user,
		// and the key protects nothing outside this test.
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("testnet: write %s: %w", f.path, err)
		}
	}
	return c, nil
}

// Certs returns the Net's certificates (generated on first use, for Names).
func (n *Net) Certs() *Certs {
	n.t.Helper()
	n.certOnce.Do(func() {
		n.certs, n.certErr = GenerateCerts(n.dir, n.Names...)
	})
	if n.certErr != nil {
		n.t.Fatalf("testnet: certificates: %v", n.certErr)
	}
	return n.certs
}
