//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/probe"
	"github.com/weirnet/weir/internal/testnet"
)

// End-to-end tests in network namespaces (internal/testnet): `weir probe`
// runs in the client namespace, `weir probe-control` in the server
// namespace next to real servers, and an "other censor" built from plain
// kernel tools (iptables, tc) plus a Go DNS injector sits in the router.
// The probe must name every case with attribution "unmarked" and flag
// nothing on the allowed targets.

const helperEnv = "WEIR_PROBE_HELPER"

// TestProbeHelperProcess is not a test: the netns tests re-execute the
// test binary inside a namespace (`ip netns exec`) to run the real
// commands there, since a Go thread's namespace does not carry over to
// the goroutines the probe starts.
func TestProbeHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the netns probe tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	code := exitUsage
	switch mode {
	case "probe":
		code = cmdProbe(args, os.Stdout, os.Stderr)
	case "control":
		code = cmdProbeControl(args, os.Stdout, os.Stderr)
	case "weir":
		code = run(args, os.Stdout, os.Stderr) // any weir command (probe_weir_test.go)
	}
	os.Exit(code)
}

// helper returns the argv that runs `weir <mode> args...` through the test
// binary.
func helper(mode string, args ...string) (string, []string) {
	return "env", append([]string{helperEnv + "=" + mode, os.Args[0], "-test.run=^TestProbeHelperProcess$", "--"}, args...)
}

const (
	injectedName = "inject.test"
	forgedAddr   = "10.200.2.99" // exists nowhere
	controlPort  = "9080"
)

// censorNet builds the topology, the servers, the control and the
// unmarked censor in the router.
func censorNet(t *testing.T) *testnet.Net {
	t.Helper()
	n := serverNet(t)
	addCensor(t, n)
	return n
}

// serverNet builds the topology with the servers and the control.
func serverNet(t *testing.T) *testnet.Net {
	t.Helper()
	n := testnet.New(t, testnet.WithSecondServer("slow.test"), testnet.WithNames(injectedName, quicBlockedName), testnet.WithTimeout(90*time.Second))
	n.StartDNS()
	n.StartWeb()
	n.StartHTTP3Go() // UDP 443 next to the Go web server's TCP 443
	// A web server on 8080, whose port the censor silently drops.
	var l8080 net.Listener
	if err := n.Go(n.Server, func() (err error) { l8080, err = net.Listen("tcp", ":8080"); return err }); err != nil {
		t.Fatal(err)
	}
	s8080 := &http.Server{Handler: testnet.Handler("go"), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s8080.Serve(l8080) }()
	t.Cleanup(func() { _ = s8080.Close() })

	// The control, in the server namespace, resolving through the
	// server's own DNS.
	name, args := helper("control", "--listen", ":"+controlPort, "--resolver", "127.0.0.1:53", "--ca", n.Certs().CAFile, "--timeout", "3s")
	ctl := n.Start(n.Server, name, args...)
	waitListen(t, n, ctl, controlPort)
	return n
}

// addCensor installs the other censor, plain kernel tools, in the router.
func addCensor(t *testing.T, n *testnet.Net) {
	t.Helper()
	r := n.Router
	for _, c := range [][]string{
		// SNI reset: the ClientHello carries the name in clear.
		{"iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string", "--string", "blocked.test", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"},
		// HTTP keyword reset (Belarus 2020: brand names in hosts).
		{"iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "80", "-m", "string", "--string", "casino", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"},
		// Silent drop of one port.
		{"iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "8080", "-j", "DROP"},
		{"ip6tables", "-A", "FORWARD", "-p", "tcp", "--dport", "8080", "-j", "DROP"},
		// QUIC blocked to one address (ICMP port unreachable).
		{"ip6tables", "-A", "FORWARD", "-p", "udp", "-d", testnet.Server2IP6.String(), "--dport", "443", "-j", "REJECT"},
		// A blackhole: packets to this prefix vanish.
		{"ip", "route", "add", "blackhole", "10.200.9.0/24"},
		// Throttling of the second server address: a 1 Mbit/s tbf under an
		// htb that leaves everything else alone (this kernel has no prio).
		{"tc", "qdisc", "add", "dev", testnet.RouterClientIf, "root", "handle", "1:", "htb", "default", "10", "r2q", "100000"},
		{"tc", "class", "add", "dev", testnet.RouterClientIf, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"},
		{"tc", "class", "add", "dev", testnet.RouterClientIf, "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit"},
		{"tc", "qdisc", "add", "dev", testnet.RouterClientIf, "parent", "1:20", "handle", "20:", "tbf", "rate", "1mbit", "burst", "16kb", "latency", "200ms"},
		{"tc", "filter", "add", "dev", testnet.RouterClientIf, "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "src", testnet.Server2IP4.String() + "/32", "flowid", "1:20"},
	} {
		if _, _, err := n.Run(r, c[0], c[1:]...); err != nil {
			t.Fatalf("router: %v", err)
		}
	}
	startInjector(t, n)
}

func waitListen(t *testing.T, n *testnet.Net, p *testnet.Proc, port string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		err := n.Go(n.Server, func() error {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
		select {
		case <-p.Done():
			t.Fatalf("control exited: %s", p.Stderr())
		default:
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("control not listening on %s: %s", port, p.Stderr())
}

// startInjector runs an on-path DNS injector in the router namespace: it
// sniffs UDP/53 queries arriving from the client with AF_PACKET and, for
// A queries of injectedName, immediately sends a forged answer from the
// server's address through a raw socket. The query still reaches the real
// server, whose answer arrives second: a race, as in the wild.
func startInjector(t *testing.T, n *testnet.Net) {
	t.Helper()
	var sniff, raw int
	err := n.Go(n.Router, func() error {
		ifi, err := net.InterfaceByName(testnet.RouterClientIf)
		if err != nil {
			return err
		}
		const ethPIP = 0x0800
		sniff, err = syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons16(ethPIP)))
		if err != nil {
			return err
		}
		if err := syscall.Bind(sniff, &syscall.SockaddrLinklayer{Protocol: htons16(ethPIP), Ifindex: ifi.Index}); err != nil {
			return err
		}
		tv := syscall.Timeval{Usec: 100000}
		if err := syscall.SetsockoptTimeval(sniff, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		raw, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		return err
	})
	if err != nil {
		t.Fatalf("injector: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				return
			default:
			}
			k, _, err := syscall.Recvfrom(sniff, buf, 0)
			if err != nil {
				if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
					continue
				}
				return
			}
			if pkt := forge(buf[:k]); pkt != nil {
				dst := [4]byte(pkt[16:20])
				_ = syscall.Sendto(raw, pkt, 0, &syscall.SockaddrInet4{Addr: dst})
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		syscall.Close(sniff)
		syscall.Close(raw)
	})
}

func htons16(v uint16) uint16 { return v<<8 | v>>8 }

// forge returns the forged IPv4/UDP answer for a query of injectedName,
// or nil.
func forge(b []byte) []byte {
	if len(b) < 28 || b[0]>>4 != 4 || b[9] != 17 {
		return nil
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+8 || binary.BigEndian.Uint16(b[ihl+2:]) != 53 {
		return nil
	}
	q := new(dns.Msg)
	if q.Unpack(b[ihl+8:]) != nil || len(q.Question) != 1 || q.Question[0].Qtype != dns.TypeA ||
		!strings.EqualFold(q.Question[0].Name, injectedName+".") {
		return nil
	}
	a := new(dns.Msg)
	a.SetReply(q)
	a.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.ParseIP(forgedAddr)}}
	payload, err := a.Pack()
	if err != nil {
		return nil
	}
	out := make([]byte, 28+len(payload))
	out[0], out[8], out[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	binary.BigEndian.PutUint16(out[4:], 0x1234) // non-zero: the kernel keeps it
	copy(out[12:16], b[16:20])                  // from the server the query was for
	copy(out[16:20], b[12:16])                  // to the client
	copy(out[20:22], b[ihl+2:ihl+4])            // sport 53
	copy(out[22:24], b[ihl:ihl+2])              // dport = the query's sport
	binary.BigEndian.PutUint16(out[24:], uint16(8+len(payload)))
	copy(out[28:], payload) // UDP checksum 0: allowed over IPv4
	return out
}

type expect struct {
	verdict probe.Verdict
	attr    probe.Attribution
}

// runProbe runs `weir probe` in the client namespace and returns the report.
func runProbe(t *testing.T, n *testnet.Net, flags []string, targets ...string) *probe.Report {
	t.Helper()
	report := n.Dir() + "/report-" + time.Now().Format("150405.000") + ".json"
	args := append([]string{"--json", report, "--ca", n.Certs().CAFile}, flags...)
	name, argv := helper("probe", append(args, targets...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	start := time.Now()
	stdout, stderr, err := n.RunContext(ctx, n.Client, name, argv...)
	t.Logf("weir probe took %v\n%s\n%s", time.Since(start).Round(time.Millisecond), stdout, stderr)
	if err != nil {
		t.Fatalf("weir probe: %v", err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep probe.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func checkReport(t *testing.T, rep *probe.Report, want map[string]expect) {
	t.Helper()
	if len(rep.Measurements) != len(want) {
		t.Fatalf("%d measurements, want %d", len(rep.Measurements), len(want))
	}
	for _, m := range rep.Measurements {
		w, ok := want[m.URL]
		if !ok {
			t.Errorf("unexpected target %s", m.URL)
			continue
		}
		if m.Verdict != w.verdict || m.Attribution != w.attr {
			b, _ := json.MarshalIndent(m, "", "  ")
			t.Errorf("%s: got %s/%s, want %s/%s\n%s", m.URL, m.Verdict, m.Attribution, w.verdict, w.attr, b)
			continue
		}
		if w.verdict != probe.Accessible && w.verdict != probe.Inconclusive && len(m.Evidence) == 0 {
			t.Errorf("%s: %s without evidence", m.URL, m.Verdict)
		}
	}
}

func TestProbeNetns_otherCensor(t *testing.T) {
	n := censorNet(t)
	// Throttling is judged against an absolute rate: the control samples
	// its own server without a router in between (GB/s), so a ratio to it
	// flags healthy but CPU-starved transfers on a loaded 2-core machine.
	// The ratio path is covered by the verdict unit tests.
	flags := []string{"--control", "http://" + testnet.ServerIP4.String() + ":" + controlPort, "--timeout", "3s",
		"--sample", "/big?bytes=8000000", "--sample-bytes", "8000000", "--sample-time", "1s",
		"--throttle-ratio", "0", "--min-rate", "1M"}
	blackhole := "http://10.200.9.9/"
	want := map[string]expect{
		// Allowed: zero false positives.
		"https://allowed.test/": {probe.Accessible, probe.ByNone},
		"http://allowed.test/":  {probe.Accessible, probe.ByNone},
		"https://server.test/":  {probe.Accessible, probe.ByNone},
		"https://quic.test/":    {probe.Accessible, probe.ByNone},
		// The other censor, case by case.
		"https://blocked.test/":                          {probe.TLSSNIBlocked, probe.Unmarked},
		"https://www.blocked.test/":                      {probe.TLSSNIBlocked, probe.Unmarked},
		"http://casino-royal.test/":                      {probe.HTTPBlocked, probe.Unmarked},
		"http://allowed.test:8080/":                      {probe.TCPBlocked, probe.Unmarked},
		"http://" + injectedName + "/":                   {probe.DNSBlocked, probe.Unmarked},
		"https://[" + testnet.Server2IP6.String() + "]/": {probe.QUICBlocked, probe.Unmarked},
		"http://slow.test/":                              {probe.Throttled, probe.Unmarked},
		// Down for the control too: no verdict, and no hang.
		blackhole: {probe.Inconclusive, probe.ByNone},
	}
	var targets []string
	for u := range want {
		targets = append(targets, u)
	}
	start := time.Now()
	rep := runProbe(t, n, flags, targets...)
	checkReport(t, rep, want)
	if !rep.Control.Used {
		t.Error("report says the control was not used")
	}
	if rep.Probe.Sniffer != "af_packet" {
		t.Errorf("sniffer %q, want af_packet (root in the client namespace)", rep.Probe.Sniffer)
	}
	// Reset evidence: the router's RST has another TTL than the server's SYN-ACK.
	for _, m := range rep.Measurements {
		if m.URL == "http://slow.test/" {
			// The tbf slows the sample without marking it: the sniffer
			// looked at its packets and found no Weir DSCP.
			if d := m.TestKeys.Throughput.DSCP; d == nil || d.Packets == 0 || d.LowerEffort != 0 || d.Weir {
				t.Errorf("unmarked throttle: DSCP evidence %+v, want packets seen and none marked", d)
			}
		}
		if m.URL != "https://blocked.test/" {
			continue
		}
		for _, h := range m.TestKeys.TLSHandshakes {
			if h.Failure == probe.FailReset && (h.Reset == nil || !h.Reset.Injected || h.Reset.TTL == h.Reset.SynAckTTL) {
				t.Errorf("SNI reset without TTL evidence: %+v", h.Reset)
			}
		}
	}
	// 12 targets, 4 at a time, each under its hard limit.
	if el := time.Since(start); el > 90*time.Second {
		t.Errorf("probe took %v", el)
	}
}

// Without a control the probe decides only what local evidence proves:
// injected resets (TTL unlike the server's), racing DNS answers, and a
// throughput below --min-rate; a silent drop stays inconclusive.
func TestProbeNetns_noControl(t *testing.T) {
	n := censorNet(t)
	flags := []string{"--timeout", "2s", "--sample", "/big?bytes=8000000", "--sample-bytes", "8000000", "--sample-time", "1s", "--min-rate", "1M", "--no-quic"}
	want := map[string]expect{
		"https://allowed.test/":        {probe.Accessible, probe.ByNone},
		"https://blocked.test/":        {probe.TLSSNIBlocked, probe.Unmarked},
		"http://casino-royal.test/":    {probe.HTTPBlocked, probe.Unmarked},
		"http://" + injectedName + "/": {probe.DNSBlocked, probe.Unmarked},
		"http://slow.test/":            {probe.Throttled, probe.Unmarked},
		"http://allowed.test:8080/":    {probe.Inconclusive, probe.ByNone},
	}
	var targets []string
	for u := range want {
		targets = append(targets, u)
	}
	rep := runProbe(t, n, flags, targets...)
	checkReport(t, rep, want)
	for _, m := range rep.Measurements {
		if !strings.Contains(strings.Join(m.Notes, " "), "local evidence only") {
			t.Errorf("%s: report does not say it ran without a control: %q", m.URL, m.Notes)
		}
	}
}
