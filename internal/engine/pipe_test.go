package engine_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/flow"
)

// ended is what OnFlowEnd saw of one flow.
type ended struct {
	ID     flow.ID
	Flow   flow.Flow
	Class  classify.Result
	Reason flow.EndReason
}

// runEngine replays captures through one engine and returns every flow
// end in order, and the classifier's counters.
func runEngine(t *testing.T, pipeline bool, files []string) ([]ended, classify.Stats) {
	t.Helper()
	cls := newTestClassifier(t, true)
	cfg := engine.DefaultConfig()
	cfg.Pipeline = pipeline
	var out []ended
	eng, err := engine.New(cfg, cls, func(e *engine.FlowEnd) {
		out = append(out, ended{e.ID, *e.Flow, *e.Class, e.Reason})
	})
	if err != nil {
		t.Fatal(err)
	}
	var p capture.Packet
	for _, name := range files {
		src, err := capture.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for src.Next(&p) == nil {
			eng.Packet(&p)
		}
		src.Close()
	}
	eng.Flush()
	return out, cls.Stats()
}

// TestPipeline_sameAsSequential: the pipelined engine ends the same flows
// in the same order with the same classification as the one-goroutine
// engine, over the shipped demo capture and, where present, every capture
// of the peer corpus (one engine over all of them, as `weir inspect` reads
// several files, so flow IDs are reused and the DNS cache carries over).
func TestPipeline_sameAsSequential(t *testing.T) {
	files := []string{filepath.Join("..", "..", "testdata", "demo.pcap")}
	t.Run("demo", func(t *testing.T) { comparePipeline(t, files) })
	t.Run("corpus", func(t *testing.T) {
		corpus, err := filepath.Glob(filepath.Join(corpusDir(t), "pcap", "*"))
		if err != nil || len(corpus) == 0 {
			t.Fatalf("no corpus captures: %v", err)
		}
		comparePipeline(t, corpus)
	})
}

func comparePipeline(t *testing.T, files []string) {
	seq, seqStats := runEngine(t, false, files)
	pip, pipStats := runEngine(t, true, files)
	if len(seq) == 0 {
		t.Fatal("no flows")
	}
	if len(seq) != len(pip) {
		t.Fatalf("%d flows sequential, %d pipelined", len(seq), len(pip))
	}
	for i := range seq {
		if !reflect.DeepEqual(seq[i], pip[i]) {
			t.Fatalf("flow %d differs:\nsequential %+v\npipelined  %+v", i, seq[i], pip[i])
		}
	}
	if seqStats != pipStats {
		t.Errorf("classifier counters differ: sequential %+v, pipelined %+v", seqStats, pipStats)
	}
	t.Logf("%d flows identical", len(seq))
}
