//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/probe"
	"github.com/weirnet/weir/internal/testnet"
)

// Closed-loop tests: Weir's own inline enforcement (`weir run` in the
// router namespace) against `weir probe` in the client namespace. Every
// block Weir makes must come back as attribution "weir" with the rule
// name, and allowed targets must stay accessible. They skip until the
// `run` command exists.

// requireWeirRun skips the test while `weir run` is not in the command table.
func requireWeirRun(t *testing.T) {
	t.Helper()
	for _, c := range commands {
		if c.name == "run" {
			return
		}
	}
	t.Skip("closed-loop probe tests need `weir run` (inline enforcement), which is not in the command table yet; they enable themselves once it is")
}

// closedLoopPolicy blocks by name (DNS, SNI, Host) and by keyword, all
// with the visible "block" action, so every enforcement carries a marker.
const closedLoopPolicy = `notice: https://notices.test/weir
rules:
  - name: sni-only
    match: { sni: ["blocked.test"] }
    action: block
  - name: dns-only
    match: { dns_qname: ["www.blocked.test"] }
    action: block
  - name: http-keyword
    match: { host_contains: ["casino"], protocol: HTTP }
    action: block
default: allow
`

// weirRunArgs is the `weir run` command line for the router namespace.
// WEIR_RUN_ARGS (space separated, {policy} replaced) overrides it while
// the run command's flags settle.
func weirRunArgs(policy string) []string {
	if v := os.Getenv("WEIR_RUN_ARGS"); v != "" {
		var out []string
		for _, f := range splitFields(v) {
			if f == "{policy}" {
				f = policy
			}
			out = append(out, f)
		}
		return out
	}
	return []string{"run", "--policy", policy}
}

func splitFields(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if r == ' ' || r == '\t' {
			if cur != "" {
				out = append(out, cur)
				cur = ""
			}
			continue
		}
		cur += string(r)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func TestProbeWeir_closedLoop(t *testing.T) {
	requireWeirRun(t)
	n := serverNet(t)
	policy := filepath.Join(n.Dir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte(closedLoopPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	name, args := helper("weir", weirRunArgs(policy)...)
	w := n.Start(n.Router, name, args...)
	// Ready once it prints "enforcing ..." (its rules are installed then).
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(w.Stderr(), "enforcing"); {
		select {
		case <-w.Done():
			t.Fatalf("weir run exited: %s", w.Stderr())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("weir run not ready after 20s: %s", w.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	flags := []string{"--control", "http://" + testnet.ServerIP4.String() + ":" + controlPort, "--timeout", "3s"}
	targets := []string{"https://allowed.test/", "http://allowed.test/", "https://blocked.test/", "http://blocked.test/",
		"https://www.blocked.test/", "http://casino-royal.test/"}
	rep := runProbe(t, n, flags, targets...)
	// One rule per layer, so each marker is exercised: EDE text, the
	// reset's payload/IP ID after the ClientHello, the 451 notice.
	want := map[string]struct {
		v    probe.Verdict
		a    probe.Attribution
		rule string
	}{
		"https://allowed.test/":     {probe.Accessible, probe.ByNone, ""},
		"http://allowed.test/":      {probe.Accessible, probe.ByNone, ""},
		"https://blocked.test/":     {probe.TLSSNIBlocked, probe.ByWeir, "sni-only"},
		"http://blocked.test/":      {probe.Accessible, probe.ByNone, ""}, // no SNI, not DNS: the sni rule does not apply
		"https://www.blocked.test/": {probe.DNSBlocked, probe.ByWeir, "dns-only"},
		"http://casino-royal.test/": {probe.HTTPBlocked, probe.ByWeir, "http-keyword"},
	}
	for _, m := range rep.Measurements {
		w := want[m.URL]
		if m.Verdict != w.v || m.Attribution != w.a {
			t.Errorf("%s: %s/%s, want %s/%s: %q", m.URL, m.Verdict, m.Attribution, w.v, w.a, m.Evidence)
			continue
		}
		if w.rule != "" && !strings.Contains(strings.Join(m.Evidence, " "), w.rule) {
			t.Errorf("%s: evidence does not name rule %s: %q", m.URL, w.rule, m.Evidence)
		}
	}
	t.Logf("weir run stderr:\n%s", w.Stderr())
}
