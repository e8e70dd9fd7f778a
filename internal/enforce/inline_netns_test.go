package enforce_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/marker"
	"github.com/weirnet/weir/internal/testnet"
)

// weirBin is the weir binary built once for the namespace tests.
var weirBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-enforce-test")
	if err != nil {
		panic(err)
	}
	weirBin = filepath.Join(dir, "weir")
	if out, err := exec.Command("go", "build", "-o", weirBin, "../../cmd/weir").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building weir: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const notice = "https://notices.example/weir"

// startWeir runs `weir run` in the router namespace with the given policy
// and waits until its rules are installed.
func startWeir(t *testing.T, n *testnet.Net, policyYAML string, extra ...string) (*testnet.Proc, string) {
	t.Helper()
	pf := filepath.Join(n.Dir(), fmt.Sprintf("policy-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(pf, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--policy", pf, "--reload-poll", "200ms"}, extra...)
	p := n.Start(n.Router, weirBin, args...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, err := n.Run(n.Router, "iptables", "-w", "-n", "-L", "WEIR"); err == nil && strings.Contains(p.Stderr(), "enforcing") {
			return p, pf
		}
		select {
		case <-p.Done():
			t.Fatalf("weir run exited: %s", p.Stderr())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("weir run did not install its rules: %s", p.Stderr())
	return nil, ""
}

type event struct {
	Rule, Action, Host, Notice, Protocol string
}

func events(t *testing.T, p *testnet.Proc) []event {
	var out []event
	sc := bufio.NewScanner(strings.NewReader(p.Stdout()))
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Action != "" {
			out = append(out, e)
		}
	}
	return out
}

func waitEvent(t *testing.T, p *testnet.Proc, host, action, notice string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range events(t, p) {
			if e.Host == host && e.Action == action && e.Notice == notice {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("no event {host %s action %s notice %s}; events: %+v", host, action, notice, events(t, p))
}

const blockPolicy = `notice: ` + notice + `
rules:
  - name: block-hosts
    match: { host: ["blocked.test", "*.blocked.test"] }
    action: block
  - name: keyword
    match: { host_contains: ["casino"] }
    action: drop
default: allow
`

// TestInline_block covers the self-announcing blocks with real clients:
// curl sees the 451 and its blocked-by link, HTTPS gets marked resets (the
// marker is in a capture), dig gets the EDE, QUIC is refused, and allowed
// names are untouched.
func TestInline_block(t *testing.T) {
	n := testnet.New(t)
	n.StartWeb()
	n.StartDNS()
	weir, _ := startWeir(t, n, blockPolicy)
	srv := testnet.ServerIP4.String()

	t.Run("http-451", func(t *testing.T) {
		r, err := n.Curl("http://blocked.test/", "--resolve", "blocked.test:80:"+srv)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 451 {
			t.Fatalf("status %d (%s), want 451", r.Status, r.Err)
		}
		if got, ok := marker.ParseBlockedBy(r.Header.Get("Link")); !ok || got != notice {
			t.Errorf("Link %q", r.Header.Get("Link"))
		}
		if r.Header.Get(marker.RuleHeader) != "block-hosts" || !strings.Contains(r.Body, "block-hosts") {
			t.Errorf("rule not named: header %q body %q", r.Header.Get(marker.RuleHeader), r.Body)
		}
		waitEvent(t, weir, "blocked.test", "block", "http-451")
	})

	t.Run("https-sni-reset", func(t *testing.T) {
		capture := n.StartCapture(n.Client, "eth0", "tcp port 443")
		r, err := n.Curl("https://www.blocked.test/", "--resolve", "www.blocked.test:443:"+srv)
		if err != nil {
			t.Fatal(err)
		}
		path, _, err := capture.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 0 || r.ExitCode == 0 {
			t.Fatalf("curl got status %d exit %d; want a reset", r.Status, r.ExitCode)
		}
		hits, err := testnet.PcapContains(path, []byte(marker.RSTPrefix+"; rule=block-hosts"))
		if err != nil || hits == 0 {
			dump, _ := exec.Command("tcpdump", "-n", "-r", path, "-X").CombinedOutput()
			t.Logf("capture:\n%s", dump)
			t.Errorf("no marked reset in the client's capture (%d, %v); curl: %s", hits, err, r.Err)
		}
		waitEvent(t, weir, "www.blocked.test", "block", "tcp-reset")
	})

	t.Run("dns-ede", func(t *testing.T) {
		d, err := n.Dig("blocked.test", "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Rcode != "NXDOMAIN" || len(d.EDE) == 0 || d.EDE[0].Code != marker.EDEBlocked {
			t.Fatalf("dig: rcode %s EDE %+v\n%s", d.Rcode, d.EDE, d.Raw)
		}
		if rule, n2, ok := marker.ParseEDEText(d.EDE[0].Text); !ok || rule != "block-hosts" || n2 != notice {
			t.Errorf("EDE text %q", d.EDE[0].Text)
		}
		waitEvent(t, weir, "blocked.test", "block", "dns-ede")
	})

	t.Run("allowed", func(t *testing.T) {
		for _, u := range []string{"http://allowed.test/", "https://allowed.test/"} {
			r, err := n.Curl(u)
			if err != nil || r.Status != 200 {
				t.Errorf("%s: status %d err %v %s", u, r.Status, err, r.Err)
			}
		}
		d, err := n.Dig("allowed.test", "")
		if err != nil || d.Rcode != "NOERROR" || len(d.Answers) == 0 {
			t.Errorf("dig allowed.test: %+v %v", d, err)
		}
	})

	t.Run("keyword-drop", func(t *testing.T) {
		r, err := n.Curl("https://casino-royal.test/", "--resolve", "casino-royal.test:443:"+srv, "--max-time", "2")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 0 || r.ExitCode != 28 {
			t.Errorf("dropped flow: status %d exit %d (%s), want a timeout (28)", r.Status, r.ExitCode, r.Err)
		}
		waitEvent(t, weir, "casino-royal.test", "drop", "none")
	})
}
