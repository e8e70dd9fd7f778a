package engine_test

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/peer/ndpi"
	"github.com/weirnet/weir/internal/record"
)

var update = flag.Bool("update", false, "rewrite docs/flows-vs-ndpi.md from this run")

// corpusDir returns the nDPI peer corpus beside the repository, or skips.
func corpusDir(t testing.TB) string {
	d := filepath.Join("..", "..", "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(d, "result")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return d
}

// runCapture runs one capture through a fresh engine and returns its records.
func runCapture(t testing.TB, path string, classify bool) ([]record.Record, error) {
	cfg := engine.DefaultConfig()
	cfg.Classify = classify
	var recs []record.Record
	cls := newTestClassifier(t, classify)
	eng, err := engine.New(cfg, cls, func(e *engine.FlowEnd) {
		var r record.Record
		r.FromFlow(e.Flow, nil, e.Reason)
		if e.Class != nil {
			c := *e.Class
			r.Class = &c
		}
		recs = append(recs, r)
	})
	if err != nil {
		return nil, err
	}
	src, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var p capture.Packet
	for {
		if err = src.Next(&p); err != nil {
			break
		}
		eng.Packet(&p)
	}
	eng.Flush()
	if err == io.EOF {
		err = nil
	}
	return recs, err
}

var l4Names = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "ESP": 50, "AH": 51, "GRE": 47, "SCTP": 132}

type pairKey struct {
	l4     uint8
	vlan   uint16
	lo, hi netip.AddrPort
}

func keyOf(l4 uint8, vlan uint16, a, b netip.AddrPort) pairKey {
	if l4 != 6 && l4 != 17 && l4 != 132 {
		a, b = netip.AddrPortFrom(a.Addr(), 0), netip.AddrPortFrom(b.Addr(), 0)
	}
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return pairKey{l4, vlan, a, b}
}

// flowDiff compares Weir's flows with nDPI's for one capture.
type flowDiff struct {
	ndpi, weir, same int
	counts, missing  []string // nDPI flows Weir counts differently / lacks
	extra            []string // Weir flows nDPI lacks
}

func (d *flowDiff) ok() bool { return len(d.counts) == 0 && len(d.missing) == 0 && len(d.extra) == 0 }

func compareFlows(want []ndpi.Flow, got []record.Record) *flowDiff {
	d := &flowDiff{ndpi: len(want), weir: len(got)}
	byKey := map[pairKey][]*record.Record{}
	for i := range got {
		r := &got[i]
		k := keyOf(r.L4, r.VLAN, r.Client, r.Server)
		byKey[k] = append(byKey[k], r)
	}
	for _, w := range want {
		l4, ok := l4Names[w.L4]
		if !ok || w.BadEndpoint {
			d.missing = append(d.missing, fmt.Sprintf("%s %s-%s: not comparable", w.L4, w.A, w.B))
			continue
		}
		k := keyOf(l4, w.VLAN, w.A, w.B)
		rs := byKey[k]
		if len(rs) == 0 {
			d.missing = append(d.missing, fmt.Sprintf("%s %s <-> %s vlan %d [%d/%d <-> %d/%d]", w.L4, w.A, w.B, w.VLAN, w.APackets, w.ABytes, w.BPackets, w.BBytes))
			continue
		}
		r := rs[0]
		byKey[k] = rs[1:]
		ap, ab, bp, bb := r.C2SPackets, r.C2SBytes, r.S2CPackets, r.S2CBytes
		clientIsA := r.Client == w.A || (l4 != 6 && l4 != 17 && r.Client.Addr() == w.A.Addr())
		if !clientIsA {
			ap, ab, bp, bb = bp, bb, ap, ab
		}
		if ap != w.APackets || ab != w.ABytes || bp != w.BPackets || bb != w.BBytes {
			d.counts = append(d.counts, fmt.Sprintf("%s %s <-> %s: nDPI [%d/%d <-> %d/%d] Weir [%d/%d <-> %d/%d]",
				w.L4, w.A, w.B, w.APackets, w.ABytes, w.BPackets, w.BBytes, ap, ab, bp, bb))
			continue
		}
		d.same++
	}
	for _, rs := range byKey {
		for _, r := range rs {
			d.extra = append(d.extra, fmt.Sprintf("%s %s <-> %s vlan %d [%d/%d <-> %d/%d]", record.L4Name(r.L4), r.Client, r.Server, r.VLAN, r.C2SPackets, r.C2SBytes, r.S2CPackets, r.S2CBytes))
		}
	}
	slices.Sort(d.extra)
	return d
}

// knownFlowDiffs lists the captures whose flows differ from nDPI's, and
// why. The test fails on an unlisted difference and on a stale entry.
var knownFlowDiffs = map[string]string{
	"dns_fragmented.pcap":        "IPv4/IPv6-fragmented DNS responses: Weir reassembles and counts every fragment frame; nDPI counts only the first fragment of each datagram.",
	"ip_fragmented_garbage.pcap": "1,252 overlapping 16-byte fragments of one IP id: nDPI counts the 4 first fragments as one port-less flow; Weir reassembles what is consistent (two garbage TCP datagrams with random ports) and counts the rest as frag-overlap.",
	"stun.pcap":                  "nDPI prints an impossible IPv6 address for one flow ([2600:1900:4160:5999::19::]); Weir's flow is the same one, with the real address 2600:1900:4160:5999:0:19::.",
}

// TestFlowsMatchNDPI is the datapath's correctness bar: for every peer
// capture, the set of flows and their per-direction packet and byte counts
// equal the flow lines of nDPI's expected output.
func TestFlowsMatchNDPI(t *testing.T) {
	dir := corpusDir(t)
	outs, _ := filepath.Glob(filepath.Join(dir, "result", "*.out"))
	type row struct {
		name string
		d    *flowDiff
	}
	var rows []row
	var nd, same int
	for _, out := range outs {
		name := strings.TrimSuffix(filepath.Base(out), ".out")
		want, err := ndpi.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := runCapture(t, filepath.Join(dir, "pcap", name), false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		d := compareFlows(want, got)
		rows = append(rows, row{name, d})
		nd += d.ndpi
		same += d.same
		reason, known := knownFlowDiffs[name]
		switch {
		case !d.ok() && !known:
			t.Errorf("%s: flows differ from nDPI (%d nDPI flows, %d Weir, %d identical)\n  counts: %s\n  missing: %s\n  extra: %s",
				name, d.ndpi, d.weir, d.same, strings.Join(d.counts, "\n    "), strings.Join(d.missing, "\n    "), strings.Join(d.extra, "\n    "))
		case d.ok() && known && !*update:
			t.Errorf("%s: listed as differing (%s) but now matches: remove it from knownFlowDiffs", name, reason)
		}
	}
	t.Logf("%d captures, %d nDPI flows, %d identical in Weir (%.2f%%)", len(rows), nd, same, 100*float64(same)/float64(max(nd, 1)))
	if *update {
		var b strings.Builder
		b.WriteString("# Weir's flows versus nDPI's\n\nGenerated by `go test ./internal/engine -run TestFlowsMatchNDPI -update`.\n\n")
		fmt.Fprintf(&b, "Over the %d captures of the peer corpus, nDPI's expected output lists %d flows; Weir produces %d of them with identical per-direction packet and byte counts (%.2f%%).\n\n",
			len(rows), nd, same, 100*float64(same)/float64(max(nd, 1)))
		b.WriteString("Captures that differ, and why:\n\n| capture | nDPI flows | identical | counted differently | missing | extra | why |\n|---|---:|---:|---:|---:|---:|---|\n")
		slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.name, b.name) })
		for _, r := range rows {
			if r.d.ok() {
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s |\n", r.name, r.d.ndpi, r.d.same, len(r.d.counts), len(r.d.missing), len(r.d.extra), knownFlowDiffs[r.name])
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "flows-vs-ndpi.md"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
