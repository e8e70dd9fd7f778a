package engine_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/engine"
)

// synthFrames returns n Ethernet/IPv4/TCP ACK frames, each with 100 zero
// bytes of payload, spread over nflows flows.
func synthFrames(n, nflows int) []capture.Packet {
	out := make([]capture.Packet, n)
	payload := make([]byte, 100)
	for i := range out {
		fl := i % nflows
		f := frame{src: [4]byte{10, 1, byte(fl >> 8), byte(fl)}, dst: [4]byte{10, 2, 0, 1},
			sport: uint16(20000 + fl), dport: 443, flags: 0x10, seq: uint32(i)}
		out[i] = *f.packet(payload, int64(i)*1000)
	}
	return out
}

// TestEngine_noAllocs proves the packet path (decode, flow lookup and
// accounting, classification of already-classified flows) allocates
// nothing in steady state.
func TestEngine_noAllocs(t *testing.T) {
	for _, classify := range []bool{false, true} {
		cfg := engine.DefaultConfig()
		cfg.Classify = classify
		eng, err := engine.New(cfg, newTestClassifier(t, classify), nil)
		if err != nil {
			t.Fatal(err)
		}
		pkts := synthFrames(20000, 1000)
		i := 0
		step := func() {
			for range 1000 {
				eng.Packet(&pkts[i%len(pkts)])
				i++
			}
		}
		for range 40 { // warm up: every flow created and past dissection
			step()
		}
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("classify=%v: %v allocations per 1000 packets, want 0", classify, n)
		}
	}
}

// corpusDir returns the nDPI peer corpus beside the repository, or skips.
func corpusDir(t testing.TB) string {
	d := filepath.Join("..", "..", "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(d, "result")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return d
}

func loadCorpusPackets(b *testing.B, name string) []capture.Packet {
	dir := corpusDir(b)
	src, err := capture.Open(filepath.Join(dir, "pcap", name))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var out []capture.Packet
	var p capture.Packet
	for src.Next(&p) == nil {
		q := p
		q.Data = append([]byte(nil), p.Data...)
		out = append(out, q)
	}
	return out
}

// BenchmarkEngine_Packet measures decode + flow lookup/accounting per
// packet over 1000 live flows (no classification).
//
//	BenchmarkEngine_Packet/flows-only-2   	... ns/op	0 B/op	0 allocs/op
func BenchmarkEngine_Packet(b *testing.B) {
	for _, tc := range []struct {
		name     string
		classify bool
	}{{"flows-only", false}, {"classify", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := engine.DefaultConfig()
			cfg.Classify = tc.classify
			eng, err := engine.New(cfg, newTestClassifier(b, tc.classify), nil)
			if err != nil {
				b.Fatal(err)
			}
			pkts := synthFrames(1<<16, 1000)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkts[0].Data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				eng.Packet(&pkts[i&(len(pkts)-1)])
			}
		})
	}
}

// BenchmarkEngine_Corpus replays a real capture (quic.pcap) through the
// whole engine, classification included, flushing between rounds.
func BenchmarkEngine_Corpus(b *testing.B) {
	pkts := loadCorpusPackets(b, "quic.pcap")
	eng, err := engine.New(engine.DefaultConfig(), newTestClassifier(b, true), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &pkts[i%len(pkts)]
		eng.Packet(p)
		if i%len(pkts) == len(pkts)-1 {
			eng.Flush()
		}
	}
}

var _ = io.EOF

// BenchmarkEngine_WholeCorpus replays every capture of the nDPI corpus
// through one engine per pass, with and without classification: the
// per-flow cost that dominates the bench capture (~23 packets per flow).
// Each pass shifts time forward so its flows are new, as the bench
// capture's VLAN loops are.
func BenchmarkEngine_WholeCorpus(b *testing.B) {
	dir := corpusDir(b)
	names, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	// Time moves forward through the files and passes, as in the bench
	// capture (internal/tools/benchcap).
	var pkts []capture.Packet
	var data []byte
	var ends []int
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	clock := base
	for _, name := range names {
		src, err := capture.Open(name)
		if err != nil {
			continue
		}
		var p capture.Packet
		first, last := int64(-1), clock
		for src.Next(&p) == nil {
			if first < 0 {
				first = p.TS
			}
			q := p
			q.Data = nil
			q.TS = clock + max(p.TS-first, 0)
			last = q.TS
			pkts = append(pkts, q)
			data = append(data, p.Data...)
			ends = append(ends, len(data))
		}
		src.Close()
		clock = max(clock, last) + int64(time.Second)
	}
	span := clock - base
	// One contiguous buffer read in order, as the capture reader's buffer
	// is: scattered per-packet allocations would measure cache misses.
	start := 0
	for i, end := range ends {
		pkts[i].Data = data[start:end:end]
		start = end
	}
	for _, classify := range []bool{false, true} {
		name := "flows-only"
		if classify {
			name = "classify"
		}
		b.Run(name, func(b *testing.B) {
			cfg := engine.DefaultConfig()
			cfg.Classify = classify
			var flows int
			cls := newTestClassifier(b, classify)
			eng, err := engine.New(cfg, cls, func(*engine.FlowEnd) { flows++ })
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				shift := int64(i) * span
				for j := range pkts {
					p := pkts[j]
					p.TS += shift
					eng.Packet(&p)
				}
				eng.Flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(flows), "ns/flow")
			b.ReportMetric(float64(len(pkts)), "pkts/op")
			if cls != nil {
				b.ReportMetric(float64(cls.Stats().DissectorRuns)/float64(flows), "feeds/flow")
			}
		})
	}
}
