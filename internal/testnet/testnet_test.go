package testnet

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestTopology proves the plain kernel path: real curl, dig and openssl in
// the client reach the Go servers through the router, over IPv4 and IPv6,
// and the router capture sees the traffic.
func TestTopology(t *testing.T) {
	n := New(t)
	n.StartDNS()
	w := n.StartWeb()
	if w.Kind != "go" {
		t.Fatalf("kind %q", w.Kind)
	}
	capt := n.StartCapture(n.Router, RouterServerIf, "tcp port 80")

	t.Run("curl", func(t *testing.T) {
		cases := []struct {
			name, url string
			extra     []string
			remote    netip.Addr
			version   string
		}{
			{"http-v4", "http://allowed.test/", []string{"-4"}, ServerIP4, "1.1"},
			{"http-v6", "http://allowed.test/", []string{"-6"}, ServerIP6, "1.1"},
			{"https-v4", "https://blocked.test/", []string{"-4"}, ServerIP4, "2"},
			{"https-v6", "https://www.blocked.test/", []string{"-6"}, ServerIP6, "2"},
			{"https-literal", "https://10.200.2.2/", nil, ServerIP4, "2"},
			{"https-http1", "https://casino-royal.test/", []string{"-4", "--http1.1"}, ServerIP4, "1.1"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := n.Curl(c.url, c.extra...)
				if err != nil {
					t.Fatal(err)
				}
				if r.ExitCode != 0 || r.Status != 200 || r.Body != Body {
					t.Fatalf("exit %d (%s) status %d body %q", r.ExitCode, r.Err, r.Status, r.Body)
				}
				if got := r.Header.Get(ServerHeader); got != "go" {
					t.Errorf("%s = %q, want go", ServerHeader, got)
				}
				if r.RemoteIP != c.remote.String() || r.HTTPVersion != c.version {
					t.Errorf("remote %s http/%s, want %s http/%s", r.RemoteIP, r.HTTPVersion, c.remote, c.version)
				}
			})
		}
	})

	t.Run("curl-sni", func(t *testing.T) {
		r, err := n.Curl("https://blocked.test/host")
		if err != nil {
			t.Fatal(err)
		}
		if want := "host=blocked.test sni=blocked.test proto=HTTP/2.0\n"; r.Body != want {
			t.Fatalf("body %q, want %q", r.Body, want)
		}
	})

	t.Run("curl-failure", func(t *testing.T) {
		// Nothing listens on 81: the server's RST comes back through the
		// router, curl exit 7.
		r, err := n.Curl("http://allowed.test:81/", "-4")
		if err != nil {
			t.Fatal(err)
		}
		if r.ExitCode != 7 || r.Status != 0 || !strings.Contains(r.Err, "Failed to connect") {
			t.Fatalf("exit %d status %d err %q", r.ExitCode, r.Status, r.Err)
		}
	})

	t.Run("dig", func(t *testing.T) {
		cases := []struct {
			name, qname, server string
			extra               []string
			rcode               string
			answer              string
		}{
			{"A", "allowed.test", "", nil, "NOERROR", ServerIP4.String()},
			{"AAAA", "blocked.test", "", []string{"AAAA"}, "NOERROR", ServerIP6.String()},
			{"tcp", "casino-royal.test", "", []string{"+tcp"}, "NOERROR", ServerIP4.String()},
			{"v6-server", "x.y.test", ServerIP6.String(), []string{"AAAA"}, "NOERROR", ServerIP6.String()},
			{"refused", "example.com", "", nil, "REFUSED", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := n.Dig(c.qname, c.server, c.extra...)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != c.rcode || r.ExitCode != 0 {
					t.Fatalf("rcode %q exit %d\n%s", r.Rcode, r.ExitCode, r.Raw)
				}
				if c.answer == "" {
					if len(r.Answers) != 0 {
						t.Fatalf("answers %v", r.Answers)
					}
					return
				}
				if len(r.Answers) != 1 || r.Answers[0].Data != c.answer || r.Answers[0].Name != c.qname+"." {
					t.Fatalf("answers %+v, want %s", r.Answers, c.answer)
				}
			})
		}
	})

	t.Run("dig-timeout", func(t *testing.T) {
		start := time.Now()
		r, err := n.Dig("allowed.test", RouterClientIP4.String())
		if err != nil {
			t.Fatal(err)
		}
		if r.ExitCode != 9 || r.Rcode != "" {
			t.Fatalf("exit %d rcode %q", r.ExitCode, r.Rcode)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a lost query took %v", d)
		}
	})

	t.Run("openssl", func(t *testing.T) {
		for _, hp := range []string{"10.200.2.2:443", "[fd00:200:2::2]:443"} {
			r, err := n.OpenSSLConnect(hp, "casino-royal.test")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Handshake || !r.Verified || r.Protocol != "TLSv1.3" {
				t.Fatalf("%s: %+v", hp, r)
			}
		}
		r, err := n.OpenSSLConnect("10.200.2.2:80", "allowed.test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Handshake || r.Err == "" {
			t.Fatalf("handshake against plain HTTP: %+v", r)
		}
	})

	t.Run("capture", func(t *testing.T) {
		path, pkts, err := capt.Stop()
		if err != nil {
			t.Fatal(err)
		}
		k, err := PcapContains(path, []byte(strings.TrimSpace(Body)))
		if err != nil {
			t.Fatal(err)
		}
		// http-v4 and http-v6 answered through the router.
		if pkts == 0 || k < 2 {
			t.Fatalf("%d packets, %d with the body marker", pkts, k)
		}
		t.Logf("router capture: %d packets, %d carry the body", pkts, k)
	})
}

func TestDNSExtendedError(t *testing.T) {
	n := New(t)
	d := n.StartDNS()
	d.Zone.Override("casino-royal.test", dns.RcodeNameError, 15, "blocked by weir policy gambling")
	d.Zone.Override("quiet.test", dns.RcodeRefused, 0, "")
	r, err := n.Dig("casino-royal.test", "")
	if err != nil {
		t.Fatal(err)
	}
	want := EDE{Code: 15, Purpose: "Blocked", Text: "blocked by weir policy gambling"}
	if r.Rcode != "NXDOMAIN" || len(r.EDE) != 1 || r.EDE[0] != want {
		t.Fatalf("rcode %s ede %+v, want %+v\n%s", r.Rcode, r.EDE, want, r.Raw)
	}
	r, err = n.Dig("quiet.test", "", "+tcp")
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != "REFUSED" || len(r.EDE) != 0 {
		t.Fatalf("rcode %s ede %+v", r.Rcode, r.EDE)
	}
}

func TestSecondServer(t *testing.T) {
	n := New(t, WithSecondServer("other.test"))
	n.StartDNS()
	n.StartWeb()
	r, err := n.Dig("other.test", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answers) != 1 || r.Answers[0].Data != Server2IP4.String() {
		t.Fatalf("other.test -> %+v", r.Answers)
	}
	for _, flag := range []string{"-4", "-6"} {
		c, err := n.Curl("https://other.test/", flag)
		if err != nil {
			t.Fatal(err)
		}
		want := Server2IP4.String()
		if flag == "-6" {
			want = Server2IP6.String()
		}
		if c.Status != 200 || c.RemoteIP != want {
			t.Fatalf("%s: status %d remote %s err %s", flag, c.Status, c.RemoteIP, c.Err)
		}
	}
}

func TestNginx(t *testing.T) {
	n := New(t)
	n.StartDNS()
	start := time.Now()
	w := n.StartNginx()
	t.Logf("nginx ready in %v", time.Since(start).Round(time.Millisecond))
	for _, u := range []string{"http://allowed.test/", "https://blocked.test/"} {
		for _, fam := range []string{"-4", "-6"} {
			r, err := n.Curl(u, fam)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || r.Body != Body || r.Header.Get(ServerHeader) != "nginx" {
				t.Fatalf("%s %s: exit %d (%s) status %d body %q hdr %v", u, fam, r.ExitCode, r.Err, r.Status, r.Body, r.Header)
			}
		}
	}
	r, err := n.Curl("https://allowed.test/big")
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 64<<20 {
		t.Fatalf("big: %d bytes", r.Size)
	}
	w.Close()
	r, _ = n.Curl("http://allowed.test/")
	if r.ExitCode != 7 {
		t.Fatalf("after Close: exit %d status %d", r.ExitCode, r.Status)
	}
}

// TestHTTP3 runs HTTP/3 next to the Go HTTPS server (so quic-go serves it),
// with the quic-go client and, when installed, chromium.
func TestHTTP3(t *testing.T) {
	n := New(t)
	n.StartWeb()
	h := n.StartHTTP3()
	if h.Kind != "go-h3" {
		t.Fatalf("kind %q, want go-h3 (TCP 443 is taken)", h.Kind)
	}
	capt := n.StartCapture(n.Router, RouterClientIf, "udp port 443")
	for _, addr := range []netip.Addr{ServerIP4, ServerIP6} {
		r, err := n.HTTP3Get("https://quic.test/host", addr)
		if err != nil {
			t.Fatal(err)
		}
		if want := "host=quic.test sni=quic.test proto=HTTP/3.0\n"; r.Status != 200 || r.Body != want {
			t.Fatalf("%s: status %d body %q", addr, r.Status, r.Body)
		}
	}
	_, pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if pkts < 4 {
		t.Fatalf("router saw %d QUIC packets", pkts)
	}
	t.Run("chromium", func(t *testing.T) {
		start := time.Now()
		dom, err := n.Chromium("https://quic.test/host", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dom, "proto=HTTP/3.0") {
			t.Fatalf("dom %q", dom)
		}
		t.Logf("chromium over QUIC in %v", time.Since(start).Round(time.Millisecond))
	})
}

func TestCaddy(t *testing.T) {
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy not installed")
	}
	n := New(t)
	n.StartDNS()
	start := time.Now()
	h := n.StartHTTP3()
	if h.Kind != "caddy" {
		t.Fatalf("kind %q", h.Kind)
	}
	t.Logf("caddy ready in %v", time.Since(start).Round(time.Millisecond))
	r, err := n.Curl("https://quic.test/")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Body != Body || r.Header.Get(ServerHeader) != "caddy" {
		t.Fatalf("curl: exit %d (%s) status %d body %q", r.ExitCode, r.Err, r.Status, r.Body)
	}
	g, err := n.HTTP3Get("https://quic.test/host", ServerIP6)
	if err != nil {
		t.Fatal(err)
	}
	// caddy 2.6 leaves {http.request.tls.server_name} empty over HTTP/3.
	if !strings.Contains(g.Body, "host=quic.test") || !strings.Contains(g.Body, "proto=HTTP/3.0") {
		t.Fatalf("http3: %d %q", g.Status, g.Body)
	}
	t.Run("chromium", func(t *testing.T) {
		dom, err := n.Chromium("https://quic.test/host", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dom, "proto=HTTP/3.0") {
			t.Fatalf("dom %q", dom)
		}
	})
}

// TestThroughput measures plain kernel forwarding through the router, the
// baseline the enforcement tests compare against.
func TestThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := New(t)
	n.StartWeb()
	const size = 200_000_000
	bps, r, err := n.Throughput("http://10.200.2.2/big?bytes=200000000")
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != size {
		t.Fatalf("got %d bytes", r.Size)
	}
	t.Logf("curl through the router: %.0f MB/s (%d bytes in %v)", bps/1e6, r.Size, r.Time.Round(time.Millisecond))
	if bps < 10e6 {
		t.Errorf("%.1f MB/s is implausibly slow for kernel forwarding", bps/1e6)
	}
	if _, err := exec.LookPath("iperf3"); err == nil {
		ibps, err := n.Iperf3(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("iperf3 through the router: %.0f MB/s", ibps/1e6)
	}
}

// TestCleanup checks that a finished test leaves no namespace, no
// /etc/netns entry and no process behind, even when it failed.
func TestCleanup(t *testing.T) {
	var names []string
	var pids []string
	ok := t.Run("inner", func(t *testing.T) {
		n := New(t)
		names = []string{n.Client, n.Router, n.Server}
		n.Start(n.Server, "sleep", "600")
		// A daemon that leaves our process group still dies: it runs in the ns.
		n.Start(n.Client, "sh", "-c", "setsid sleep 600 & wait")
		time.Sleep(100 * time.Millisecond)
		for _, ns := range names {
			out, err := exec.Command("ip", "netns", "pids", ns).Output()
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, strings.Fields(string(out))...)
		}
		if err := n.Go(n.Client, func() error {
			ifs, err := net.Interfaces()
			if err != nil {
				return err
			}
			var got []string
			for _, i := range ifs {
				got = append(got, i.Name)
			}
			if strings.Join(got, ",") != "lo,eth0" {
				return errors.New("client interfaces: " + strings.Join(got, ","))
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	if !ok {
		t.Fatal("inner test failed")
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.Contains(string(out), name) {
			t.Errorf("namespace %s still listed", name)
		}
		if _, err := os.Stat("/etc/netns/" + name); err == nil {
			t.Errorf("/etc/netns/%s still there", name)
		}
	}
	if len(pids) < 3 {
		t.Fatalf("expected >= 3 processes in the namespaces, saw %v", pids)
	}
	for _, pid := range pids {
		// A zombie is dead; this container's init may reap it late.
		if st, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && !strings.Contains(string(st), ") Z ") {
			t.Errorf("process %s survived: %s", pid, st)
		}
	}
}
