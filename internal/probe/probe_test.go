package probe

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/marker"
)

// Loopback end-to-end tests: real DNS, HTTP and HTTPS servers on
// 127.0.0.1, the probe and the control in-process. The network-namespace
// tests with real middleboxes are in cmd/weir (probe_netns_test.go).

// fakeDNS answers on 127.0.0.1 from a plain UDP socket so it can also
// misbehave: race.test gets a forged answer first and the real one 20 ms
// later; hang.test gets nothing.
func fakeDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	answer := func(req *dns.Msg, ip string, rcode int, ede string) []byte {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Rcode = rcode
		if req.IsEdns0() != nil {
			m.SetEdns0(1232, false)
		}
		if ede != "" {
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_EDE{InfoCode: marker.EDEBlocked, ExtraText: ede})
		}
		q := req.Question[0]
		if ip != "" && q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
		}
		b, _ := m.Pack()
		return b
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil || len(req.Question) != 1 {
				continue
			}
			switch req.Question[0].Name {
			case "hang.test.":
			case "weir.test.":
				pc.WriteTo(answer(req, "", dns.RcodeNameError, marker.EDEText("dns-rule", "https://notice.test/dns")), from)
			case "race.test.":
				pc.WriteTo(answer(req, "127.0.0.99", dns.RcodeSuccess, ""), from)
				time.AfterFunc(20*time.Millisecond, func() { pc.WriteTo(answer(req, "127.0.0.1", dns.RcodeSuccess, ""), from) })
			case "nx.test.":
				pc.WriteTo(answer(req, "", dns.RcodeNameError, ""), from)
			default:
				pc.WriteTo(answer(req, "127.0.0.1", dns.RcodeSuccess, ""), from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func webHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "weir451.test") {
			// What Weir's enforcer writes on the wire, replayed as a server.
			hj, _ := w.(http.Hijacker)
			c, _, err := hj.Hijack()
			if err == nil {
				c.Write(marker.HTTP451("http-rule", "https://notice.test/http", r.Host))
				c.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><head><title>Hello probe</title></head><body>" + strings.Repeat("x", 2000) + "</body></html>"))
	})
}

// silentListener accepts and never answers: a TLS handshake or an HTTP
// request through it can only time out.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}

type rig struct {
	resolver string
	httpPort string
	tls      *httptest.Server
	pool     *x509.CertPool
	silent   string
	control  string
}

func newRig(t *testing.T) *rig {
	r := &rig{resolver: fakeDNS(t), silent: silentListener(t)}
	h := httptest.NewServer(webHandler())
	t.Cleanup(h.Close)
	_, r.httpPort, _ = net.SplitHostPort(h.Listener.Addr().String())
	r.tls = httptest.NewTLSServer(webHandler())
	t.Cleanup(r.tls.Close)
	r.pool = x509.NewCertPool()
	r.pool.AddCert(r.tls.Certificate())
	ctl := httptest.NewServer(NewControl(ControlConfig{Resolver: r.resolver, Timeout: 2 * time.Second, RootCAs: r.pool}))
	t.Cleanup(ctl.Close)
	r.control = ctl.URL
	return r
}

func (r *rig) prober(control bool) *Prober {
	cfg := DefaultConfig()
	cfg.Resolver, cfg.RootCAs, cfg.Timeout = r.resolver, r.pool, time.Second
	cfg.DuplicateWait = 100 * time.Millisecond
	cfg.SampleTime = 300 * time.Millisecond
	cfg.NoSniffer = true // loopback tests must not need root
	if control {
		cfg.ControlURL = r.control
	}
	return New(cfg)
}

func TestProbe_loopback(t *testing.T) {
	r := newRig(t)
	_, tlsPort, _ := net.SplitHostPort(r.tls.Listener.Addr().String())
	_, silentPort, _ := net.SplitHostPort(r.silent)
	tests := []struct {
		url     string
		control bool
		verdict Verdict
		attr    Attribution
		has     string
	}{
		{"http://ok.test:" + r.httpPort + "/", true, Accessible, ByNone, "http: 200"},
		{"http://ok.test:" + r.httpPort + "/", false, Accessible, ByNone, "http: 200"},
		// httptest's certificate is for example.com.
		{"https://example.com:" + tlsPort + "/", true, Accessible, ByNone, "http: 200"},
		{"https://ok.test:" + tlsPort + "/", false, Inconclusive, ByNone, ""},
		{"https://ok.test:" + tlsPort + "/", true, Inconclusive, ByNone, ""}, // bad cert for the control too
		{"http://weir.test:" + r.httpPort + "/", false, DNSBlocked, ByWeir, "rule=dns-rule"},
		{"http://race.test:" + r.httpPort + "/", false, DNSBlocked, Unmarked, "two different answers"},
		{"http://nx.test:" + r.httpPort + "/", true, Inconclusive, ByNone, ""},
		{"http://weir451.test:" + r.httpPort + "/", false, HTTPBlocked, ByWeir, "Weir-Rule: http-rule"},
		{"https://ok.test:" + silentPort + "/", true, Inconclusive, ByNone, ""}, // TLS times out for the control too
		{"http://hang.test:" + r.httpPort + "/", true, Inconclusive, ByNone, ""},
	}
	for _, tc := range tests {
		name := tc.url
		if tc.control {
			name += " control"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := r.prober(tc.control)
			defer p.Close()
			start := time.Now()
			ms := p.Run(context.Background(), []Target{{Input: tc.url, URL: tc.url}})
			m := ms[0]
			if el := time.Since(start); el > p.HardLimit() {
				t.Errorf("took %v, over the hard limit %v", el, p.HardLimit())
			}
			if m.Verdict != tc.verdict || m.Attribution != tc.attr {
				b, _ := json.MarshalIndent(m, "", " ")
				t.Fatalf("got %s/%s, want %s/%s\n%s", m.Verdict, m.Attribution, tc.verdict, tc.attr, b)
			}
			if tc.has != "" && !strings.Contains(strings.Join(m.Evidence, "\n"), tc.has) {
				t.Errorf("evidence %q lacks %q", m.Evidence, tc.has)
			}
			if tc.control && m.TestKeys.Control == nil {
				t.Errorf("control not used: %s", m.TestKeys.ControlFailure)
			}
		})
	}
}

// The probe never hangs: a resolver that never answers, a server that
// accepts and stays silent, under a short timeout, many targets, bounded
// parallelism.
func TestProbe_blackholeBounded(t *testing.T) {
	r := newRig(t)
	_, silentPort, _ := net.SplitHostPort(r.silent)
	p := r.prober(false)
	defer p.Close()
	var ts []Target
	for i := range 6 {
		u := "https://ok.test:" + silentPort + "/" + strconv.Itoa(i)
		if i%2 == 1 {
			u = "http://hang.test/" + strconv.Itoa(i)
		}
		ts = append(ts, Target{Input: u, URL: u})
	}
	start := time.Now()
	ms := p.Run(context.Background(), ts)
	limit := 2 * p.HardLimit() // 6 targets, 4 at a time: two rounds at most
	if el := time.Since(start); el > limit {
		t.Fatalf("took %v, want under %v", el, limit)
	}
	for _, m := range ms {
		if m.Verdict != Inconclusive {
			t.Errorf("%s: %s/%s, want inconclusive (no control, nothing proves a block): %q", m.URL, m.Verdict, m.Attribution, m.Evidence)
		}
	}
}

func TestProbe_cancel(t *testing.T) {
	r := newRig(t)
	p := r.prober(false)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ms := p.Run(ctx, []Target{{URL: "http://hang.test/"}, {URL: "http://hang.test/2"}})
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("cancel took %v", el)
	}
	if len(ms) != 2 || ms[0] == nil || ms[1] == nil {
		t.Fatalf("measurements missing: %v", ms)
	}
}

func TestControl_badRequests(t *testing.T) {
	ctl := httptest.NewServer(NewControl(ControlConfig{Timeout: time.Second}))
	defer ctl.Close()
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", ControlPath, "", http.StatusMethodNotAllowed},
		{"POST", "/other", "{}", http.StatusNotFound},
		{"POST", ControlPath, "{", http.StatusBadRequest},
		{"POST", ControlPath, `{"url":"ftp://x.test/"}`, http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(tc.method, ctl.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s %s: %d, want %d", tc.method, tc.path, tc.body, resp.StatusCode, tc.want)
		}
	}
}
