package testnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Body is what every test web server (Go, nginx, caddy, HTTP/3) returns for
// "/", so a test can tell a real answer from a block page or a reset.
const Body = "weir testnet ok\n"

// ServerHeader names the server kind in every response ("go", "nginx",
// "caddy", "go-h3").
const ServerHeader = "X-Testnet-Server"

// MaxBig caps /big?bytes=N.
const MaxBig = 8 << 30

// Handler serves the test endpoints:
//
//	/            Body
//	/big?bytes=N N bytes (default 1 MiB), for throughput tests
//	/host        "host=<Host> sni=<SNI> proto=<proto>\n"
//
// kind goes into the X-Testnet-Server header.
func Handler(kind string) http.Handler {
	var chunk [64 << 10]byte
	for i := range chunk {
		chunk[i] = byte('a' + i%26)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ServerHeader, kind)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, Body)
	})
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ServerHeader, kind)
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		fmt.Fprintf(w, "host=%s sni=%s proto=%s\n", r.Host, sni, r.Proto)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ServerHeader, kind)
		size := int64(1 << 20)
		if s := r.URL.Query().Get("bytes"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 0 || v > MaxBig {
				http.Error(w, "bad bytes", http.StatusBadRequest)
				return
			}
			size = v
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for size > 0 {
			k := min(size, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			size -= k
		}
	})
	return mux
}

// Web is a running HTTP (port 80) + HTTPS (port 443) server in the server
// namespace.
type Web struct {
	Kind string // "go" or "nginx"
	stop func()
}

// Close stops the server (also done by the Net's cleanup).
func (w *Web) Close() { w.stop() }

// URL builds http(s)://host/path (host may carry a port).
func URL(scheme, host, path string) string { return scheme + "://" + host + path }

// StartWeb starts the Go net/http server on [::]:80 and [::]:443 (TLS with
// Certs, HTTP/2 and HTTP/1.1) in the server namespace. It is ready when
// StartWeb returns: the sockets listen before it does.
func (n *Net) StartWeb() *Web {
	n.t.Helper()
	certs := n.Certs()
	var l80, l443 net.Listener
	err := n.Go(n.Server, func() error {
		var err error
		if l80, err = net.Listen("tcp", ":80"); err != nil {
			return err
		}
		if l443, err = net.Listen("tcp", ":443"); err != nil {
			l80.Close()
			return err
		}
		return nil
	})
	if err != nil {
		n.t.Fatalf("testnet: web server: %v", err)
	}
	h := Handler("go")
	// Probes and blocked handshakes are expected noise, not log lines.
	quiet := log.New(io.Discard, "", 0)
	s80 := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	s443 := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          quiet,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{certs.TLS}},
	}
	go func() { _ = s80.Serve(l80) }()
	go func() { _ = s443.ServeTLS(l443, "", "") }()
	w := &Web{Kind: "go", stop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s80.Shutdown(ctx)
		_ = s443.Shutdown(ctx)
		_ = s80.Close()
		_ = s443.Close()
	}}
	n.t.Cleanup(w.stop)
	return w
}

// StartNginx starts nginx (master + one worker) on [::]:80 and [::]:443 with
// Certs, or skips the test when nginx is not installed (apt-get install
// nginx-light). "/" returns Body, "/big" a 64 MiB file (the bytes query is
// ignored), "/host" is not served. It waits until both ports accept.
func (n *Net) StartNginx() *Web {
	n.t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			n.t.Skip("testnet: nginx not installed (apt-get install nginx-light); skipping")
		}
	}
	certs := n.Certs()
	dir := filepath.Join(n.dir, "nginx")
	www := filepath.Join(dir, "www")
	for _, d := range []string{www, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(www, "index.txt"), []byte(Body), 0o644); err != nil {
		n.t.Fatal(err)
	}
	// Sparse: costs no disk, reads as zeros.
	if f, err := os.Create(filepath.Join(www, "big.bin")); err == nil {
		_ = f.Truncate(64 << 20)
		f.Close()
	}
	tmp := filepath.Join(dir, "tmp")
	conf := fmt.Sprintf(`user root;
worker_processes 1;
daemon off;
master_process on;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	default_type text/plain;
	server {
		listen 80;
		listen [::]:80;
		listen 443 ssl http2;
		listen [::]:443 ssl http2;
		server_name _;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		root %[5]s;
		add_header %[6]s nginx always;
		location = / { try_files /index.txt =404; }
		location = /big { default_type application/octet-stream; try_files /big.bin =404; }
	}
}
`, dir, tmp, certs.CertFile, certs.KeyFile, www, ServerHeader)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		n.t.Fatal(err)
	}
	p := n.Start(n.Server, bin, "-e", "stderr", "-p", dir, "-c", confPath)
	if err := n.waitTCP(n.Server, p, 10*time.Second, 80, 443); err != nil {
		n.t.Fatalf("testnet: nginx: %v\n%s", err, p.Stderr())
	}
	w := &Web{Kind: "nginx", stop: func() { _ = p.Stop() }}
	return w
}

var errExited = errors.New("process exited")

// waitTCP polls until every port accepts a connection on 127.0.0.1 inside
// ns, or p exits, or d passes.
func (n *Net) waitTCP(ns string, p *Proc, d time.Duration, ports ...int) error {
	deadline := time.Now().Add(d)
	for _, port := range ports {
		for {
			err := n.Go(ns, func() error {
				c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err == nil {
				break
			}
			if p != nil {
				select {
				case <-p.Done():
					return fmt.Errorf("%w before port %d listened: %v", errExited, port, p.werr)
				default:
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("port %d not listening after %v: %w", port, d, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// waitLog polls p's stderr+stdout for substr.
func waitLog(p *Proc, substr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(p.Stderr(), substr) || strings.Contains(p.Stdout(), substr) {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s: %w before printing %q: %v", p.Name, errExited, substr, p.werr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %q after %v", p.Name, substr, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
