package testnet

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// H3 is a running HTTP/3 server on UDP 443 of the server namespace.
type H3 struct {
	Kind string // "caddy" (also serves TCP 443) or "go-h3" (UDP only)
	stop func()
}

// Close stops the server (also done by the Net's cleanup).
func (h *H3) Close() { h.stop() }

// StartHTTP3 starts caddy when it is installed and TCP 443 is still free
// (caddy always binds TCP next to UDP), otherwise the quic-go server, which
// coexists with StartWeb's TCP 443.
func (n *Net) StartHTTP3() *H3 {
	n.t.Helper()
	if _, err := exec.LookPath("caddy"); err == nil && !n.tcpListening(n.Server, 443) {
		return n.StartCaddy()
	}
	return n.StartHTTP3Go()
}

func (n *Net) tcpListening(ns string, port int) bool {
	err := n.Go(ns, func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
	return err == nil
}

// StartHTTP3Go starts quic-go's HTTP/3 server with Handler("go-h3") on
// [::]:443/udp. Ready on return.
func (n *Net) StartHTTP3Go() *H3 {
	n.t.Helper()
	certs := n.Certs()
	var pc net.PacketConn
	if err := n.Go(n.Server, func() error {
		var err error
		pc, err = net.ListenPacket("udp", ":443")
		return err
	}); err != nil {
		n.t.Fatalf("testnet: http3 server: %v", err)
	}
	srv := &http3.Server{
		Handler:   Handler("go-h3"),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{certs.TLS}}),
	}
	go func() { _ = srv.Serve(pc) }()
	h := &H3{Kind: "go-h3", stop: func() { _ = srv.Close(); _ = pc.Close() }}
	n.t.Cleanup(h.stop)
	return h
}

// StartCaddy starts caddy (Debian's serves HTTP/1.1, HTTP/2 and HTTP/3) on
// TCP+UDP 443 with Certs, or skips when caddy is not installed. "/" returns
// Body, "/host" the request's host, SNI and protocol.
func (n *Net) StartCaddy() *H3 {
	n.t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		n.t.Skip("testnet: caddy not installed (apt-get install caddy); skipping")
	}
	certs := n.Certs()
	dir := filepath.Join(n.dir, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %[1]s/data
}
https://:443 {
	tls %[2]s %[3]s
	header %[4]s caddy
	respond /host "host={host} sni={http.request.tls.server_name} proto={http.request.proto}
" 200
	respond / "%[5]s" 200
}
`, dir, certs.CertFile, certs.KeyFile, ServerHeader, Body)
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		n.t.Fatal(err)
	}
	p := n.Start(n.Server, "env", "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir,
		bin, "run", "--config", confPath, "--adapter", "caddyfile")
	if err := waitLog(p, "enabling HTTP/3 listener", 15*time.Second); err != nil {
		n.t.Fatalf("testnet: caddy: %v\n%s", err, lastLines(p.Stderr(), 10))
	}
	if err := n.waitTCP(n.Server, p, 10*time.Second, 443); err != nil {
		n.t.Fatalf("testnet: caddy: %v\n%s", err, lastLines(p.Stderr(), 10))
	}
	return &H3{Kind: "caddy", stop: func() { _ = p.Stop() }}
}

// H3Response is the outcome of HTTP3Get.
type H3Response struct {
	Status int
	Proto  string
	Header http.Header
	Body   string
}

// HTTP3Get fetches rawURL over HTTP/3 with quic-go from the client namespace,
// sending the UDP packets to addr:port (the URL's host is only the SNI and
// Host; the zero addr means ServerIP4). The certificate is verified against
// Certs.
func (n *Net) HTTP3Get(rawURL string, addr netip.Addr) (*H3Response, error) {
	n.t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if !addr.IsValid() {
		addr = ServerIP4
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	target, err := net.ResolveUDPAddr("udp", net.JoinHostPort(addr.String(), port))
	if err != nil {
		return nil, err
	}
	var udp *net.UDPConn
	if err := n.Go(n.Client, func() error {
		var err error
		udp, err = net.ListenUDP("udp", nil)
		return err
	}); err != nil {
		return nil, err
	}
	qt := &quic.Transport{Conn: udp}
	defer qt.Close()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: n.Certs().Pool, ServerName: u.Hostname()},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return qt.DialEarly(ctx, target, tlsCfg, cfg)
		},
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), n.cmdTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("testnet: http3 get %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("testnet: http3 body %s: %w", rawURL, err)
	}
	return &H3Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Body: string(b)}, nil
}

// ChromiumPath is where Chromium helpers look for the browser.
const ChromiumPath = "/usr/bin/chromium"

// Chromium loads rawURL in headless chromium inside the client namespace,
// forcing QUIC (HTTP/3) to the URL's host on port 443 mapped to addr (zero:
// ServerIP4), and returns the dumped DOM. It skips the test when chromium is
// missing. The certificate is trusted by its SPKI pin: chromium ignores
// --ignore-certificate-errors for QUIC.
func (n *Net) Chromium(rawURL string, addr netip.Addr) (dom string, err error) {
	n.t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		n.t.Skipf("testnet: %s missing (apt-get install chromium); skipping the QUIC browser check", ChromiumPath)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if !addr.IsValid() {
		addr = ServerIP4
	}
	host := u.Hostname()
	prof, err := os.MkdirTemp(n.dir, "chromium-")
	if err != nil {
		return "", err
	}
	mapped := addr.String()
	if addr.Is6() {
		mapped = "[" + mapped + "]"
	}
	args := []string{
		"HOME=" + prof, ChromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + prof,
		"--enable-quic",
		"--origin-to-force-quic-on=" + host + ":443",
		"--host-resolver-rules=MAP " + host + " " + mapped,
		"--ignore-certificate-errors-spki-list=" + n.Certs().SPKIHash,
		"--dump-dom", rawURL,
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(n.cmdTimeout, 60*time.Second))
	defer cancel()
	out, stderr, err := n.RunContext(ctx, n.Client, "env", args...)
	if err != nil {
		return out, fmt.Errorf("%w\n%s", err, lastLines(stderr, 10))
	}
	if strings.TrimSpace(out) == "" {
		return out, fmt.Errorf("testnet: chromium returned no DOM: %s", lastLines(stderr, 10))
	}
	return out, nil
}
