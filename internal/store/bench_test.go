package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

// synthRecords returns n records cycling through 50 apps and 5000 hosts
// over one hour, like a busy link's ended flows.
func synthRecords(n int) []record.Record {
	rs := make([]record.Record, n)
	for i := range rs {
		at := t0.Add(time.Duration(i%3600) * time.Second)
		rs[i] = *rec(at, dissect.Proto(1+i%20), "app"+strconv.Itoa(i%50), "cat"+strconv.Itoa(i%7),
			"h"+strconv.Itoa(i%5000)+".example", "allow", uint64(64+i%9000))
	}
	return rs
}

// BenchmarkSinkWrite measures the datapath side of the store: copy into the
// queue (the writer drains concurrently; drops are reported).
func BenchmarkSinkWrite(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Retention = 0
	s := openTest(b, cfg)
	rs := synthRecords(4096)
	k := s.Sink()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k.Write(&rs[i&4095])
	}
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.DroppedRecords)/float64(b.N), "drops/op")
}

// BenchmarkProcess1M compares handling 1M records with and without the
// store sink. "Processing" is formatting each record as a JSON line into a
// reused buffer, what `weir inspect --json` does per flow; the difference
// between the two sub-benchmarks is what the store adds on the datapath.
func BenchmarkProcess1M(b *testing.B) {
	const n = 1 << 20
	rs := synthRecords(n)
	run := func(b *testing.B, k record.Sink) {
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for i := range rs {
				buf = rs[i].AppendJSON(buf[:0])
				if k != nil {
					k.Write(&rs[i])
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
	}
	b.Run("baseline", func(b *testing.B) { run(b, nil) })
	b.Run("store", func(b *testing.B) {
		cfg := DefaultConfig()
		cfg.Retention = 0
		cfg.QueueLen = 1 << 16
		s := openTest(b, cfg)
		run(b, s.Sink())
		b.StopTimer()
		s.Flush()
		st := s.Stats()
		b.ReportMetric(float64(st.DroppedRecords)/float64(st.DroppedRecords+st.Accepted)*100, "%dropped")
	})
}
