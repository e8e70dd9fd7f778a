package enforce_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/testnet"
)

// policy1000 is a 1,000-rule policy: 997 host rules, a keyword rule, an
// app rule and a category rule, default allow.
func policy1000() string {
	var b strings.Builder
	b.WriteString("notice: " + notice + "\nrules:\n")
	for i := range 997 {
		fmt.Fprintf(&b, "  - name: host-%d\n    match: { host: [\"site%d.test\", \"*.site%d.test\"] }\n    action: block\n", i, i, i)
	}
	b.WriteString("  - name: kw\n    match: { host_contains: [casino] }\n    action: drop\n")
	b.WriteString("  - name: social\n    match: { app: [facebook, twitter] }\n    action: block\n")
	b.WriteString("  - name: video\n    match: { category: video }\n    action: reset\n")
	b.WriteString("default: allow\n")
	return b.String()
}

var latencyRe = regexp.MustCompile(`verdict latency p50 ≤(\S+) p99 ≤(\S+)`)

// BenchmarkInline_Forwarding measures bulk TCP through the router with
// plain kernel forwarding and with weir run enforcing a 1,000-rule
// policy, alternating runs in one topology, and the first-packet verdict
// latency over 300 short connections. Run with:
//
//	go test -run XXX -bench Inline_Forwarding -benchtime 1x ./internal/enforce
func BenchmarkInline_Forwarding(b *testing.B) {
	n := testnet.New(b)
	n.StartWeb()
	const secs = 5 * time.Second
	var plain, weir []float64
	var lat string
	for round := range 3 {
		bps, err := n.Iperf3(secs)
		if err != nil {
			b.Fatal(err)
		}
		plain = append(plain, bps)
		w, _ := startWeir(b, n, policy1000())
		bps, err = n.Iperf3(secs)
		if err != nil {
			b.Fatal(err)
		}
		weir = append(weir, bps)
		if round == 0 {
			for i := range 300 {
				n.Curl(fmt.Sprintf("http://allowed.test/?%d", i), "--resolve", "allowed.test:80:"+testnet.ServerIP4.String())
			}
		}
		w.Stop()
		if m := latencyRe.FindStringSubmatch(w.Stderr()); m != nil && round == 0 {
			lat = "p50 ≤" + m[1] + ", p99 ≤" + m[2]
		}
	}
	slices.Sort(plain)
	slices.Sort(weir)
	mp, mw := plain[len(plain)/2], weir[len(weir)/2]
	b.ReportMetric(mp/1e9, "plain-Gbit/s")
	b.ReportMetric(mw/1e9, "weir-Gbit/s")
	b.ReportMetric(mw/mp, "ratio")
	b.Logf("plain %v, weir %v (bits/s), median ratio %.3f; verdict latency %s", plain, weir, mw/mp, lat)
}
