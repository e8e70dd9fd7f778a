//go:build linux

package main

import (
	"encoding/json"
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

// quicBlockedName is blocked over QUIC only: DNS, TCP and TLS go through,
// so the QUIC step alone shows Weir's ICMP.
const quicBlockedName = "quic-blocked.test"

// closedLoopPolicy blocks by name (DNS, SNI, Host, QUIC SNI) and by
// keyword, all with the visible "block" action, so every enforcement
// carries a marker, and throttles slow.test (the second server address),
// which Weir marks with DSCP Lower Effort.
const closedLoopPolicy = `notice: https://notices.test/weir
rules:
  - name: quic-only
    match: { host: ["` + quicBlockedName + `"], protocol: QUIC }
    action: block
  - name: slow-down
    match: { host: slow.test }
    action: throttle
    rate: 8mbit
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
	// Throttle rules need shaped devices: both directions of the router.
	return []string{"run", "--policy", policy, "--shape", testnet.RouterClientIf + "," + testnet.RouterServerIf}
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
	// The sample settings of the other-censor test (8 MB or 1 s), judged by
	// --min-rate as in the no-control test: the control samples its own
	// address (up to GB/s), while Weir's NFQUEUE and HTB in the path keep
	// allowed samples near 100 MB/s, too close to a 5 % ratio. Weir's
	// 8 Mbit/s is ~1 MB/s, far below 4 MB/s.
	flags := []string{"--control", "http://" + testnet.ServerIP4.String() + ":" + controlPort, "--timeout", "3s",
		"--sample", "/big?bytes=8000000", "--sample-bytes", "8000000", "--sample-time", "1s",
		"--throttle-ratio", "0", "--min-rate", "4M"}
	// One rule per layer, so each marker is exercised: EDE text, the
	// reset's payload/IP ID after the ClientHello, the 451 notice, the
	// ICMP's IP ID for QUIC, the DSCP of throttled packets. ICMP and DSCP
	// name no rule, so their evidence names the marker instead.
	want := map[string]struct {
		v        probe.Verdict
		a        probe.Attribution
		evidence string
	}{
		"https://allowed.test/":     {probe.Accessible, probe.ByNone, ""},
		"http://allowed.test/":      {probe.Accessible, probe.ByNone, ""},
		"https://server.test/":      {probe.Accessible, probe.ByNone, ""}, // QUIC allowed: the h3 server answers
		"https://blocked.test/":     {probe.TLSSNIBlocked, probe.ByWeir, "sni-only"},
		"http://blocked.test/":      {probe.Accessible, probe.ByNone, ""}, // no SNI, not DNS: the sni rule does not apply
		"https://www.blocked.test/": {probe.DNSBlocked, probe.ByWeir, "dns-only"},
		"http://casino-royal.test/": {probe.HTTPBlocked, probe.ByWeir, "http-keyword"},
		"http://slow.test/":         {probe.Throttled, probe.ByWeir, "Weir's throttle marker"},
	}
	var targets []string
	for u := range want {
		targets = append(targets, u)
	}
	rep := runProbe(t, n, flags, targets...)
	if len(rep.Measurements) != len(want) {
		t.Fatalf("%d measurements, want %d", len(rep.Measurements), len(want))
	}
	// The QUIC block runs on its own, after the others: Weir names a QUIC
	// flow by its DNS cache (the client's latest answer for the address)
	// rather than by the Initial's SNI, and every name here shares
	// 10.200.2.2, so concurrent lookups of allowed names would relabel it.
	quicURL := "https://" + quicBlockedName + "/"
	want[quicURL] = struct {
		v        probe.Verdict
		a        probe.Attribution
		evidence string
	}{probe.QUICBlocked, probe.ByWeir, "ip.id=0x5745"}
	rep.Measurements = append(rep.Measurements, runProbe(t, n, flags, quicURL).Measurements...)
	for _, m := range rep.Measurements {
		w, ok := want[m.URL]
		if !ok {
			t.Errorf("unexpected target %s", m.URL)
			continue
		}
		if m.Verdict != w.v || m.Attribution != w.a {
			b, _ := json.MarshalIndent(m, "", "  ")
			t.Errorf("%s: %s/%s, want %s/%s\n%s", m.URL, m.Verdict, m.Attribution, w.v, w.a, b)
			continue
		}
		if w.evidence != "" && !strings.Contains(strings.Join(m.Evidence, " "), w.evidence) {
			t.Errorf("%s: evidence does not name %q: %q", m.URL, w.evidence, m.Evidence)
		}
		// Allowed and QUIC-only targets are not throttled, and their
		// packets carry no Weir DSCP.
		if m.URL != "http://slow.test/" {
			if tp := m.TestKeys.Throughput; tp != nil && tp.DSCP != nil && tp.DSCP.LowerEffort > 0 {
				t.Errorf("%s: %d packets marked Lower Effort though not throttled", m.URL, tp.DSCP.LowerEffort)
			}
		}
	}
	if t.Failed() {
		for _, c := range [][]string{{"iptables", "-w", "-t", "mangle", "-v", "-n", "-L", "WEIRSHAPE"}, {"tc", "-s", "class", "show", "dev", testnet.RouterClientIf}} {
			out, _, _ := n.Run(n.Router, c[0], c[1:]...)
			t.Logf("%v:\n%s", c, out)
		}
		t.Logf("weir run events:\n%s", w.Stdout())
	}
	t.Logf("weir run stderr:\n%s", w.Stderr())
}
