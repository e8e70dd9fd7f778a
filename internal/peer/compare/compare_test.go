package compare

import (
	"os"
	"path/filepath"
	"testing"
)

func corpus(t *testing.T) string {
	d := filepath.Join("..", "..", "..", "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(d, "result")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return d
}

// TestAccuracy is the accuracy bar against the peer: over flows nDPI
// labels by DPI, ≥ 97% same master protocol, ≥ 90% same application,
// ≥ 99% identical SNI/Host.
func TestAccuracy(t *testing.T) {
	rep, err := Run(corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals("")
	t.Logf("%d DPI flows: master %.2f%%, app %.2f%%, host %.2f%% (%d/%d)", tot.Flows,
		pct(tot.Master, tot.Flows), pct(tot.App, tot.Flows), pct(tot.Host, tot.Hosts), tot.Host, tot.Hosts)
	if pct(tot.Master, tot.Flows) < 97 {
		t.Errorf("master protocol agreement %.2f%% < 97%%", pct(tot.Master, tot.Flows))
	}
	if pct(tot.App, tot.Flows) < 90 {
		t.Errorf("application agreement %.2f%% < 90%%", pct(tot.App, tot.Flows))
	}
	if pct(tot.Host, tot.Hosts) < 99 {
		t.Errorf("host agreement %.2f%% < 99%%", pct(tot.Host, tot.Hosts))
	}
	for _, d := range rep.Differences() {
		if d.Why == "" {
			t.Errorf("unexplained difference: %s | %s | %s (add a reason in reasons.go)", d.Key(), d.NDPI, d.Weir)
		}
	}
	for k := range specific {
		if !usedSpecific[k] {
			t.Errorf("reasons.go explains %q, but no remaining difference matches it: remove or narrow it", k)
		}
	}
}

func TestMasterMatches(t *testing.T) {
	for _, tc := range []struct {
		ndpi, weir string
		want       bool
	}{
		{"TLS", "TLS", true}, {"TLS", "DoT", true}, {"QUIC", "DoH", true}, {"ICMPV6", "ICMPv6", true},
		{"TLS", "QUIC", false}, {"HTTP", "HTTP", true}, {"DNS", "MDNS", false}, {"HTTP_Proxy", "HTTP_Proxy", true},
	} {
		if got := MasterMatches(tc.ndpi, tc.weir); got != tc.want {
			t.Errorf("MasterMatches(%q, %q) = %v", tc.ndpi, tc.weir, got)
		}
	}
}
