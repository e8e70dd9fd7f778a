// Command testnetd runs the testnet servers (HTTP 80, HTTPS 443 with
// HTTP/2, HTTP/3 on UDP 443, authoritative DNS for *.test on 53) in the
// network namespace it is started in. scripts/record-testdata.sh uses it so
// the recorded demo capture talks to the same servers as the Go tests.
//
//	ip netns exec NS testnetd -dir DIR [-names a.test,b.test]
//
// It writes DIR/ca.pem, DIR/cert.pem, DIR/key.pem and DIR/spki (chromium's
// pin), prints "testnetd ready" once every socket listens, and runs until
// SIGINT/SIGTERM.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/quic-go/quic-go/http3"

	"github.com/weirnet/weir/internal/testnet"
)

func main() {
	dir := flag.String("dir", "", "directory for the generated CA, certificate and key (required)")
	names := flag.String("names", strings.Join(testnet.DefaultNames, ","), "comma-separated names in the certificate")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "testnetd: -dir is required")
		os.Exit(2)
	}
	if err := run(*dir, strings.Split(*names, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "testnetd:", err)
		os.Exit(1)
	}
}

func run(dir string, names []string) error {
	certs, err := testnet.GenerateCerts(dir, names...)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "spki"), []byte(certs.SPKIHash+"\n"), 0o644); err != nil {
		return err
	}
	l80, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	l443, err := net.Listen("tcp", ":443")
	if err != nil {
		return err
	}
	u443, err := net.ListenPacket("udp", ":443")
	if err != nil {
		return err
	}
	u53, err := net.ListenPacket("udp", ":53")
	if err != nil {
		return err
	}
	t53, err := net.Listen("tcp", ":53")
	if err != nil {
		return err
	}
	quiet := log.New(io.Discard, "", 0)
	s80 := &http.Server{Handler: testnet.Handler("go"), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	s443 := &http.Server{
		Handler: testnet.Handler("go"), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{certs.TLS}},
	}
	h3 := &http3.Server{
		Handler:   testnet.Handler("go-h3"),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{certs.TLS}}),
	}
	zone := testnet.NewZone()
	d53u := &dns.Server{PacketConn: u53, Handler: zone}
	d53t := &dns.Server{Listener: t53, Handler: zone}

	errc := make(chan error, 5)
	go func() { errc <- s80.Serve(l80) }()
	go func() { errc <- s443.ServeTLS(l443, "", "") }()
	go func() { errc <- h3.Serve(u443) }()
	go func() { errc <- d53u.ActivateAndServe() }()
	go func() { errc <- d53t.ActivateAndServe() }()
	fmt.Println("testnetd ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case err = <-errc:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s80.Shutdown(ctx)
	_ = s443.Shutdown(ctx)
	_ = h3.Close()
	_ = d53u.ShutdownContext(ctx)
	_ = d53t.ShutdownContext(ctx)
	return err
}
