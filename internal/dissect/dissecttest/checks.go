package dissecttest

import (
	"math/rand"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// RandomPayloads feeds n seeded random payloads (1 to 1500 bytes) to the
// dissector newDissector returns (made once, Reset before each payload) and
// fails the test when the share it Identified or finished Done reaches
// maxRate. The share is always logged.
//
// Each payload is the first packet of a flow on L4 l4 (6, 17, or 0 to
// alternate UDP and TCP), with ServerPort cycling through ports (0 in
// ports, or no ports, means a random port) and a random client port,
// sequence number and first direction. If the dissector asks for more, it
// gets the second half of the payload in the other direction, so
// multi-packet rules are exercised too.
func RandomPayloads(t testing.TB, newDissector func() dissect.Dissector, l4 uint8, ports []uint16, n int, maxRate float64) {
	t.Helper()
	r := rand.New(rand.NewSource(1))
	d := newDissector()
	buf := make([]byte, 1500)
	hits := 0
	for i := 0; i < n; i++ {
		b := buf[:1+r.Intn(len(buf))]
		r.Read(b)
		p := dissect.Packet{L4: l4, Dir: dissect.Dir(i & 1), ClientPort: uint16(r.Uint32()), Seq: r.Uint32(), Index: 1, Payload: b}
		if l4 == 0 {
			p.L4 = 17
			if i&2 != 0 {
				p.L4 = 6
			}
		}
		if len(ports) > 0 {
			p.ServerPort = ports[i%len(ports)]
		}
		if p.ServerPort == 0 {
			p.ServerPort = uint16(1024 + r.Intn(64512))
		}
		var m dissect.Meta
		d.Reset()
		st := d.Feed(&p, &m)
		if st == dissect.Continue {
			p.Dir ^= 1
			p.Index, p.Seq, p.Payload = 2, r.Uint32(), b[len(b)/2:]
			st = d.Feed(&p, &m)
		}
		if st == dissect.Identified || st == dissect.Done {
			hits++
		}
	}
	rate := float64(hits) / float64(n)
	t.Logf("%T: random payloads accepted: %d/%d (%.4f%%)", d, hits, n, rate*100)
	if rate >= maxRate {
		t.Errorf("%T: false positive rate %.4f%% >= %.4f%%", d, rate*100, maxRate*100)
	}
}

// NoAllocsReject checks that d rejects each packet (NotMine after a Reset)
// without allocating.
func NoAllocsReject(t testing.TB, d dissect.Dissector, pkts ...dissect.Packet) {
	t.Helper()
	var m dissect.Meta
	for i := range pkts {
		var st dissect.Status
		allocs := testing.AllocsPerRun(1000, func() {
			d.Reset()
			st = d.Feed(&pkts[i], &m)
		})
		if st != dissect.NotMine {
			t.Errorf("%T: packet %d: status %v, want NotMine", d, i, st)
		}
		if allocs != 0 {
			t.Errorf("%T: packet %d: allocs = %v, want 0", d, i, allocs)
		}
	}
}

// NoAllocs checks that f, a dissector path other than a plain reject,
// allocates nothing.
func NoAllocs(t testing.TB, what string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: allocs = %v, want 0", what, n)
	}
}

// RepeatAllocs feeds pkts to d as one flow (after a Reset, until Done or
// NotMine) once, to warm d's buffers and the intern table, then returns
// the allocations of feeding them again: what a flow costs a dissector
// when the names it carries were seen before, as on a live link.
func RepeatAllocs(d dissect.Dissector, pkts []dissect.Packet) float64 {
	m := new(dissect.Meta)
	run := func() {
		d.Reset()
		*m = dissect.Meta{}
		for i := range pkts {
			if st := d.Feed(&pkts[i], m); st == dissect.Done || st == dissect.NotMine {
				return
			}
		}
	}
	run()
	return testing.AllocsPerRun(100, run)
}

// Step is one packet of a table test: its direction and payload. It is an
// alias of an unnamed struct so tables can stay unkeyed ({0, payload})
// without vet's composites check objecting.
type Step = struct {
	Dir     dissect.Dir
	Payload []byte
}

// Run resets d and feeds it steps as packets 1, 2, ... of one flow on L4
// l4, stopping at Done or NotMine, and returns the last status and Meta.
func Run(d dissect.Dissector, l4 uint8, steps []Step) (dissect.Status, dissect.Meta) {
	d.Reset()
	var m dissect.Meta
	st := dissect.Continue
	for i, s := range steps {
		st = d.Feed(&dissect.Packet{Dir: s.Dir, L4: l4, Index: i + 1, Payload: s.Payload}, &m)
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	return st, m
}
