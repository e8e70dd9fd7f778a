package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

// synthRecords returns n records cycling through 50 apps, 7 categories, 20
// protocols and 5000 hosts, ending in time order over span, like a busy
// link's ended flows (1M over 10 minutes is ~1700 flows/s).
func synthRecords(n int, span time.Duration) []record.Record {
	// Records share 5000 classification results (one per host), as a
	// datapath holds few of them alive at once; a million distinct ones
	// would make GC scanning the benchmark's own heap dominate.
	cls := make([]*record.Record, 5000)
	for i := range cls {
		cls[i] = rec(t0, dissect.Proto(1+i%20), "app"+strconv.Itoa(i%50), "cat"+strconv.Itoa(i%7),
			"h"+strconv.Itoa(i)+".example", "allow", 0)
	}
	rs := make([]record.Record, n)
	for i := range rs {
		at := t0.Add(span * time.Duration(i) / time.Duration(n))
		bytes := uint64(64 + i%9000)
		rs[i] = record.Record{
			L4: 6, First: at.Add(-time.Second).UnixNano(), Last: at.UnixNano(),
			C2SBytes: bytes / 4, S2CBytes: bytes - bytes/4, C2SPackets: 1 + bytes/4000, S2CPackets: 1 + bytes/4000,
			Verdict: "allow", Class: cls[i%len(cls)].Class,
		}
	}
	return rs
}

// BenchmarkSinkWrite measures the datapath side of the store: copy into the
// queue (the writer drains concurrently; drops are reported). Writing as
// fast as possible saturates the writer, hence the drops; a datapath ends
// far fewer flows per second than 30M.
//
//	BenchmarkSinkWrite-2  46564239  29.41 ns/op  0.87 drops/op  0 B/op  0 allocs/op
func BenchmarkSinkWrite(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Retention = 0
	s := openTest(b, cfg)
	rs := synthRecords(4096, time.Second)
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
// The records span 10 minutes but are replayed in under a second, like
// `weir inspect --store` on a capture, which is the store's worst case (60x
// more distinct minutes per flush than live traffic). On 2 cores:
//
//	BenchmarkProcess1M/baseline-2        5  407725113 ns/op  388.8 ns/record   0 allocs/op
//	BenchmarkProcess1M/store-2           5  858754027 ns/op  819.0 ns/record  12.5 %dropped
//	BenchmarkProcess1M/store-lossless-2  5  738407237 ns/op  704.2 ns/record   0 %dropped
func BenchmarkProcess1M(b *testing.B) {
	const n = 1 << 20
	rs := synthRecords(n, 10*time.Minute)
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
	for _, lossless := range []bool{false, true} {
		name := "store"
		if lossless {
			name = "store-lossless"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Lossless = lossless
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
}
