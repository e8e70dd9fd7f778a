package enforce_test

import (
	"fmt"
	"io"
	"net"
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

var latencyRe = regexp.MustCompile(`decision latency p50 ≤(\S+) p99 ≤(\S+), verdict latency p50 ≤(\S+) p99 ≤(\S+)`)

// BenchmarkInline_Forwarding measures bulk TCP through the router with
// plain kernel forwarding and with weir run enforcing a 1,000-rule
// policy, alternating runs in one topology, and the first-packet verdict
// latency over 300 short connections. It runs twice: with the veths'
// offloads off (every 1500-byte segment crosses the router and Weir's
// chain alone: the worst case per byte) and on (the router forwards
// 64 KiB super-packets, as behind NICs that aggregate segments). Run with:
//
//	go test -run XXX -bench Inline_Forwarding -benchtime 1x ./internal/enforce
func BenchmarkInline_Forwarding(b *testing.B) {
	for _, m := range offloadModes {
		b.Run(m.name, func(b *testing.B) { benchForwarding(b, testnet.New(b, m.opts...)) })
	}
}

func benchForwarding(b *testing.B, n *testnet.Net) {
	n.StartWeb()
	const secs, rounds = 3 * time.Second, 12
	var plain, weir, ratios, ctRatios []float64
	var lat string
	ct := []string{"-w", "FORWARD", "-m", "connmark", "--mark", "0x1", "-j", "RETURN"}
	for round := range rounds {
		bps, err := n.Iperf3(secs)
		if err != nil {
			b.Fatal(err)
		}
		plain = append(plain, bps)
		// Kernel forwarding with connection tracking on (what any stateful
		// router pays, and the floor of a conntrack-carried verdict).
		n.Run(n.Router, "iptables", append([]string{"-w", "-A"}, ct[1:]...)...)
		ctBPS, err := n.Iperf3(secs)
		if err != nil {
			b.Fatal(err)
		}
		n.Run(n.Router, "iptables", append([]string{"-w", "-D"}, ct[1:]...)...)
		w, _ := startWeir(b, n, policy1000())
		bps, err = n.Iperf3(secs)
		if err != nil {
			b.Fatal(err)
		}
		weir = append(weir, bps)
		ratios = append(ratios, bps/plain[len(plain)-1])
		ctRatios = append(ctRatios, bps/ctBPS)
		w.Stop()
		if round == 0 {
			lat = verdictLatency(b, n)
		}
	}
	med := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
	}
	b.ReportMetric(med(ctRatios), "ratio-vs-conntrack")
	b.ReportMetric(med(plain)*8/1e9, "plain-Gbit/s")
	b.ReportMetric(med(weir)*8/1e9, "weir-Gbit/s")
	b.ReportMetric(med(ratios), "ratio")
	b.ReportMetric(med(weir)/med(plain), "ratio-of-medians")
	b.Logf("plain %.0f, weir %.0f (bytes/s), per-round ratios %.3f, median ratio %.3f (ratio of medians %.3f); vs forwarding with conntrack on: %.3f, median %.3f; verdict latency %s",
		plain, weir, ratios, med(ratios), med(weir)/med(plain), ctRatios, med(ctRatios), lat)
}

// verdictLatency runs weir with the 1,000-rule policy twice, for 300 new
// HTTP connections each: once from one client process (the datapath's own
// latency) and once from 300 curl processes, whose start-up competes for
// the 2 vCPUs with Weir's callback, and reports both.
func verdictLatency(b *testing.B, n *testnet.Net) string {
	var out []string
	for _, load := range []string{"one client process", "300 curl processes"} {
		w, _ := startWeir(b, n, policy1000())
		if load == "one client process" {
			err := n.Go(n.Client, func() error {
				for i := range 300 {
					c, err := net.DialTimeout("tcp", testnet.ServerIP4.String()+":80", 2*time.Second)
					if err != nil {
						return err
					}
					fmt.Fprintf(c, "GET /?%d HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n", i)
					_, err = io.Copy(io.Discard, c)
					c.Close()
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		} else {
			for i := range 300 {
				n.Curl(fmt.Sprintf("http://allowed.test/?%d", i), "--resolve", "allowed.test:80:"+testnet.ServerIP4.String())
			}
		}
		w.Stop()
		m := latencyRe.FindStringSubmatch(w.Stderr())
		if m == nil {
			b.Fatalf("no latency line: %s", w.Stderr())
		}
		out = append(out, fmt.Sprintf("%s: decision p50 ≤%s p99 ≤%s, verdict sent p50 ≤%s p99 ≤%s", load, m[1], m[2], m[3], m[4]))
	}
	return strings.Join(out, "; ")
}

// BenchmarkInline_ConntrackCost measures plain forwarding against
// forwarding with connection tracking switched on by one rule, the floor
// any connmark-carried verdict pays.
func BenchmarkInline_ConntrackCost(b *testing.B) {
	n := testnet.New(b)
	var plain, ct []float64
	for range 3 {
		bps, err := n.Iperf3(5 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		plain = append(plain, bps)
		if _, e, err := n.Run(n.Router, "iptables", "-w", "-A", "FORWARD", "-m", "connmark", "--mark", "0x1", "-j", "RETURN"); err != nil {
			b.Fatal(e)
		}
		bps, err = n.Iperf3(5 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		ct = append(ct, bps)
		n.Run(n.Router, "iptables", "-w", "-D", "FORWARD", "-m", "connmark", "--mark", "0x1", "-j", "RETURN")
	}
	slices.Sort(plain)
	slices.Sort(ct)
	b.ReportMetric(ct[1]/plain[1], "ratio")
	b.Logf("plain %v, with conntrack %v (bits/s), median ratio %.3f", plain, ct, ct[1]/plain[1])
}

// BenchmarkInline_NftSetCost measures plain forwarding against forwarding
// through a native nftables chain that looks every packet up in a 5-tuple
// set, without connection tracking: the cost of carrying verdicts in sets
// filled by Weir instead of in conntrack marks (a possible next design).
func BenchmarkInline_NftSetCost(b *testing.B) {
	n := testnet.New(b)
	nft := func(args ...string) {
		if _, e, err := n.Run(n.Router, "nft", args...); err != nil {
			b.Fatal(e)
		}
	}
	var ratios []float64
	for range 3 {
		p0, err := n.Iperf3(4 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		nft("add", "table", "inet", "weirbench")
		nft("add", "chain", "inet", "weirbench", "f", "{ type filter hook forward priority 0; }")
		nft("add", "set", "inet", "weirbench", "s", "{ type ipv4_addr . ipv4_addr . inet_service . inet_service; flags timeout; }")
		nft("add", "rule", "inet", "weirbench", "f", "ip", "saddr", ".", "ip", "daddr", ".", "tcp", "sport", ".", "tcp", "dport", "@s", "accept")
		p1, err := n.Iperf3(4 * time.Second)
		nft("delete", "table", "inet", "weirbench")
		if err != nil {
			b.Fatal(err)
		}
		ratios = append(ratios, p1/p0)
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[1], "ratio")
	b.Logf("set lookup / plain per round %.3f, median %.3f", ratios, ratios[1])
}
