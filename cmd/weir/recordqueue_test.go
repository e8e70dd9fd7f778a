package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/record"
)

// The writer sees every record in order, with the classification it had
// when it was queued: the caller reuses its record and the classifier its
// result at once, and a flow that goes on (an interim record) may still add
// DNS answers in place.
func TestRecordQueue(t *testing.T) {
	var got []string
	q := newRecordQueue(func(r *record.Record) {
		s := strconv.FormatUint(r.C2SPackets, 10)
		if r.Class != nil {
			s += " " + r.Class.Host
			for _, a := range r.Class.Meta.DNS.Answers {
				s += " " + a.Name
			}
		}
		got = append(got, s)
	})
	var want []string
	var rec record.Record
	var res classify.Result
	const n = 3*recordBatchLen + 7 // whole batches and a partial one
	for i := range n {
		rec = record.Record{C2SPackets: uint64(i), End: flow.EndIdle}
		w := strconv.Itoa(i)
		if i%3 != 0 {
			res = classify.Result{Host: "h" + w}
			rec.Class = &res
			w += " h" + w
		}
		if i%5 == 1 && rec.Class != nil {
			rec.End = flow.EndActive
			res.Meta.DNS.Answers = make([]dissect.DNSAnswer, 1, 4)
			res.Meta.DNS.Answers[0] = dissect.DNSAnswer{Name: "a" + strconv.Itoa(i), Addr: netip.MustParseAddr("192.0.2.1")}
			w += " a" + strconv.Itoa(i)
		}
		q.add(&rec)
		if rec.Class != nil {
			// What the classifier does next: the flow goes on and adds an
			// answer, or its slot is reused.
			res.Meta.DNS.Answers = append(res.Meta.DNS.Answers, dissect.DNSAnswer{Name: "later"})
			res.Meta.DNS.Answers[0].Name = "overwritten"
			res.Host = "reused"
		}
		want = append(want, w)
	}
	q.close()
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("record %d written as %q, want %q", i, got[i], want[i])
			}
		}
		t.Fatalf("%d records written, want %d", len(got), len(want))
	}
}

// inspect writes the same lines whether records are written on the packet
// path (one CPU) or by the writer goroutine.
func TestInspect_writerGoroutineSameOutput(t *testing.T) {
	dir := t.TempDir()
	capFile := filepath.Join(dir, "many.pcap")
	if err := os.WriteFile(capFile, manyFlows(t, 3*recordBatchLen), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{capFile, filepath.Join("..", "..", "testdata", "demo.pcap")}
	pol := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - name: no-http\n    match: { protocol: HTTP }\n    action: block\ndefault: allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"inspect"}, {"inspect", "--json"}, {"inspect", "--json", "--policy", pol}, {"inspect", "--no-classify"}} {
		args = append(args, files...)
		prev := runtime.GOMAXPROCS(1)
		one, errOut, code := runWeir(t, args...)
		runtime.GOMAXPROCS(max(prev, 2))
		two, errOut2, code2 := runWeir(t, args...)
		runtime.GOMAXPROCS(prev)
		if code != exitOK || code2 != exitOK {
			t.Fatalf("%v: exit %d, %d: %s %s", args, code, code2, errOut, errOut2)
		}
		if n := strings.Count(one, "\n"); n < 2*recordBatchLen {
			t.Fatalf("%v: only %d lines", args, n)
		}
		if one != two {
			t.Errorf("%v: output differs between the packet path and the writer goroutine", args)
		}
	}
}

// manyFlows is a capture of n HTTP flows, each to its own host.
func manyFlows(t *testing.T, n int) []byte {
	var frames [][]byte
	for i := range n {
		c, s := [4]byte{10, 200, 1, byte(i)}, [4]byte{10, 200, 2, byte(i >> 8)}
		port := uint16(40000 + i)
		req := fmt.Sprintf("GET / HTTP/1.1\r\nHost: h%d.test\r\n\r\n", i)
		frames = append(frames,
			tcpFrame(c, s, port, 80, 0x02, nil),
			tcpFrame(s, c, 80, port, 0x12, nil),
			tcpFrame(c, s, port, 80, 0x18, []byte(req)),
			tcpFrame(s, c, 80, port, 0x18, []byte("HTTP/1.1 204 No Content\r\n\r\n")))
	}
	return pcapOf(t, frames...)
}
