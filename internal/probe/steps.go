package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/weirnet/weir/internal/marker"
)

// userAgent is a common browser's, as OONI does: some middleboxes treat
// unknown agents differently.
const userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

// maxBody bounds what a GET reads (the length is still counted up to it).
const maxBody = 1 << 20

// steps performs the measurement steps; the probe and the control share it.
type steps struct {
	timeout time.Duration
	roots   *x509.CertPool // nil = system roots
	sniff   *sniffer       // nil without privileges
}

// evidenceWait is how long a failed step waits for the sniffer to report
// the packet that failed it (it usually has it already).
const evidenceWait = 150 * time.Millisecond

func (s *steps) evidence(local uint16, remote netip.AddrPort, proto uint8) *ResetEvidence {
	if s.sniff == nil || local == 0 {
		return nil
	}
	return s.sniff.evidence(sniffKey{remote: remote, local: local, proto: proto}, evidenceWait)
}

// dial connects to ap. The socket is bound before connect so the local
// port is known even when connect fails, which the sniffer needs.
func (s *steps) dial(ctx context.Context, ap netip.AddrPort) (net.Conn, uint16, error) {
	var local uint16
	d := net.Dialer{
		Timeout: s.timeout,
		Control: func(network, address string, c syscall.RawConn) error {
			var berr error
			err := c.Control(func(fd uintptr) {
				var sa syscall.Sockaddr = &syscall.SockaddrInet4{}
				if strings.HasSuffix(network, "6") {
					sa = &syscall.SockaddrInet6{}
				}
				if berr = syscall.Bind(int(fd), sa); berr != nil {
					return
				}
				got, err := syscall.Getsockname(int(fd))
				if err != nil {
					return
				}
				switch a := got.(type) {
				case *syscall.SockaddrInet4:
					local = uint16(a.Port)
				case *syscall.SockaddrInet6:
					local = uint16(a.Port)
				}
			})
			if err != nil {
				return err
			}
			return berr
		},
	}
	c, err := d.DialContext(ctx, "tcp", ap.String())
	return c, local, err
}

// connect is the TCP step; the connection is returned open on success.
func (s *steps) connect(ctx context.Context, ap netip.AddrPort) (TCPConnect, net.Conn, uint16) {
	start := time.Now()
	c, local, err := s.dial(ctx, ap)
	r := TCPConnect{IP: ap.Addr().String(), Port: int(ap.Port()), T: seconds(time.Since(start))}
	if err != nil {
		r.Failure = classify(err)
		if r.Failure == FailReset || r.Failure == FailRefused || r.Failure == FailHostUnreachable || r.Failure == FailNetUnreachable {
			r.Reset = s.evidence(local, ap, 6)
		}
		return r, nil, local
	}
	return r, c, local
}

func (s *steps) tlsConfig(sni string, alpn ...string) *tls.Config {
	return &tls.Config{ServerName: sni, RootCAs: s.roots, NextProtos: alpn, MinVersion: tls.VersionTLS12}
}

// handshake is the TLS step on an open connection (which it closes).
func (s *steps) handshake(ctx context.Context, c net.Conn, local uint16, ap netip.AddrPort, sni string) TLSHandshake {
	defer c.Close()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tc := tls.Client(c, s.tlsConfig(sni, "h2", "http/1.1"))
	err := tc.HandshakeContext(ctx)
	r := TLSHandshake{Address: ap.String(), ServerName: sni, T: seconds(time.Since(start))}
	if err != nil {
		r.Failure = classify(err)
		if r.Failure == FailReset || r.Failure == FailEOF || r.Failure == FailTimeout {
			r.Reset = s.evidence(local, ap, 6)
		}
		return r
	}
	st := tc.ConnectionState()
	r.TLSVersion = tls.VersionName(st.Version)
	r.CipherSuite = tls.CipherSuiteName(st.CipherSuite)
	r.NegotiatedProtocol = st.NegotiatedProtocol
	if len(st.PeerCertificates) > 0 {
		r.PeerSubject = st.PeerCertificates[0].Subject.String()
	}
	_ = tc.Close()
	return r
}

// client returns an HTTP client whose connections all go to ap and which
// reports the local port of its last dial (for reset evidence).
func (s *steps) client(ap netip.AddrPort, host string, local *uint16) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, l, err := s.dial(ctx, ap)
			*local = l
			return c, err
		},
		TLSClientConfig:        s.tlsConfig(host),
		TLSHandshakeTimeout:    s.timeout,
		ResponseHeaderTimeout:  s.timeout,
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		// Redirects are recorded, not followed: the next hop would need its
		// own DNS step (docs/probe.md).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var titleRe = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// get is the HTTP step.
func (s *steps) get(ctx context.Context, rawURL string, ap netip.AddrPort, host string) HTTPRequest {
	start := time.Now()
	r := HTTPRequest{URL: rawURL, Address: ap.String()}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout)
	defer cancel()
	var local uint16
	cl := s.client(ap, host, &local)
	defer cl.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		r.Failure = FailUnknown
		return r
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := cl.Do(req)
	if err != nil {
		r.T = seconds(time.Since(start))
		r.Failure = classify(err)
		if r.Failure == FailReset || r.Failure == FailEOF || r.Failure == FailTimeout || r.Failure == FailRefused {
			r.Reset = s.evidence(local, ap, 6)
		}
		return r
	}
	defer resp.Body.Close()
	r.StatusCode, r.Proto = resp.StatusCode, resp.Proto
	r.Headers = map[string][]string(resp.Header.Clone())
	var body bytes.Buffer
	n, err := io.Copy(&body, io.LimitReader(resp.Body, maxBody))
	r.BodyLength = n
	r.T = seconds(time.Since(start))
	if err != nil {
		r.Failure = classify(err)
		if r.Failure == FailReset || r.Failure == FailEOF {
			r.Reset = s.evidence(local, ap, 6)
		}
	}
	if m := titleRe.FindSubmatch(body.Bytes()); m != nil {
		r.Title = printable(bytes.TrimSpace(m[1]), 200)
	}
	for _, l := range resp.Header.Values("Link") {
		if u, ok := marker.ParseBlockedBy(l); ok {
			r.BlockedBy = printable([]byte(u), 300)
			break
		}
	}
	r.WeirRule = printable([]byte(resp.Header.Get(marker.RuleHeader)), 200)
	return r
}

// quicHandshake is the QUIC step (ALPN h3) to ap.
func (s *steps) quicHandshake(ctx context.Context, ap netip.AddrPort, sni string) QUICHandshake {
	start := time.Now()
	r := QUICHandshake{Address: ap.String(), ServerName: sni}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	network := "udp4"
	if ap.Addr().Is6() {
		network = "udp6"
	}
	pc, err := net.ListenUDP(network, nil)
	if err != nil {
		r.Failure = classify(err)
		return r
	}
	defer pc.Close()
	local := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	conn, err := quic.Dial(ctx, pc, net.UDPAddrFromAddrPort(ap), s.tlsConfig(sni, "h3"), &quic.Config{HandshakeIdleTimeout: s.timeout})
	r.T = seconds(time.Since(start))
	if err != nil {
		r.Failure = classify(err)
		if r.Failure == FailTimeout {
			r.ICMP = s.evidence(local, ap, 17)
			if r.ICMP != nil || udpUnreachable(ctx, ap) {
				r.Failure = FailICMPUnreachable
			}
		}
		return r
	}
	_ = conn.CloseWithError(0, "")
	return r
}

// udpUnreachable sends one padded QUIC long-header packet with a reserved
// version from a connected socket: the kernel reports an ICMP unreachable
// for it as ECONNREFUSED (quic-go's unconnected socket never sees those).
func udpUnreachable(ctx context.Context, ap netip.AddrPort) bool {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return false
	}
	defer c.Close()
	pkt := make([]byte, 1200)
	pkt[0] = 0xc0
	copy(pkt[1:5], []byte{0x1a, 0x2a, 0x3a, 0x4a}) // RFC 9000 §15 reserved version
	pkt[5] = 8
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	buf := make([]byte, 1500)
	for range 2 {
		if _, err := c.Write(pkt); err != nil {
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		if _, err := c.Read(buf); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) {
				return true
			}
			continue
		}
		return false // any answer: the path is open
	}
	return false
}

// minSampleBytes: below this, a completed sample measures latency, not rate.
const minSampleBytes = 256 << 10

// sample downloads rawURL from ap for at most maxBytes or dur.
func (s *steps) sample(ctx context.Context, rawURL string, ap netip.AddrPort, host string, maxBytes int64, dur time.Duration) *Throughput {
	r := &Throughput{URL: rawURL, Address: ap.String()}
	ctx, cancel := context.WithTimeout(ctx, s.timeout+dur)
	defer cancel()
	var local uint16
	cl := s.client(ap, host, &local)
	defer cl.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		r.Failure = FailUnknown
		return r
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := cl.Do(req)
	if err != nil {
		r.Failure = classify(err)
		return r
	}
	defer resp.Body.Close()
	// The clock starts at the first body byte: the rate, not the latency.
	buf := make([]byte, 64<<10)
	var start time.Time
	end := time.Now().Add(dur)
	for r.Bytes < maxBytes {
		n, err := resp.Body.Read(buf[:min(int64(len(buf)), maxBytes-r.Bytes)])
		if n > 0 && start.IsZero() {
			start = time.Now()
			n-- // the first byte only starts the clock
			r.Bytes++
		}
		r.Bytes += int64(n)
		if err == io.EOF {
			r.Complete = true
			break
		}
		if err != nil {
			if f := classify(err); f != FailTimeout && f != FailInterrupted {
				r.Failure = f
			}
			break
		}
		if time.Now().After(end) {
			break
		}
	}
	if !start.IsZero() {
		r.Seconds = seconds(time.Since(start))
		if r.Seconds > 0 {
			r.Rate = float64(r.Bytes-1) / r.Seconds
		}
	}
	r.Valid = r.Failure == "" && r.Bytes > 0 && (r.Bytes >= minSampleBytes || (!r.Complete && r.Bytes < maxBytes))
	if s.sniff != nil && local != 0 && r.Bytes > 0 {
		// Weir marks the packets of a connection it throttles (DSCP LE):
		// the sample's own packets say whether the rate is Weir's doing.
		r.DSCP = s.sniff.dscpEvidence(sniffKey{remote: ap, local: local, proto: 6}, evidenceWait)
	}
	return r
}

func addrPort(a netip.Addr, port int) netip.AddrPort { return netip.AddrPortFrom(a, uint16(port)) }

func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1f MB/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f kB/s", r/1e3)
	}
	return fmt.Sprintf("%.0f B/s", r)
}
