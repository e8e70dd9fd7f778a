package engine_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/flow"
)

// TestEngine_activeTimeoutKeepsClassification: a flow the active timeout
// splits into several records keeps its protocol, application and host in
// every continuation record, instead of being dissected again mid-stream.
func TestEngine_activeTimeoutKeepsClassification(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "pcap", "*"))
	cfg := engine.DefaultConfig()
	cfg.Flow.ActiveTimeout = 2 * time.Second
	type class struct{ proto, app, host string }
	last := map[flow.Key]class{} // the record before, for flows split by the active timeout
	var splits, checked int
	eng, err := engine.New(cfg, newTestClassifier(t, true), func(e *engine.FlowEnd) {
		c := class{e.Class.Meta.Proto.String(), e.Class.App, e.Class.Host}
		if prev, ok := last[e.Flow.Key]; ok {
			checked++
			if c != prev {
				t.Errorf("continuation of %v: %+v, first part %+v", e.Flow.Key, c, prev)
			}
			delete(last, e.Flow.Key)
		}
		if e.Reason == flow.EndActive {
			splits++
			last[e.Flow.Key] = c
		}
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
		eng.Flush()
		clear(last) // flow keys may recur in the next capture
	}
	if checked < 50 {
		t.Fatalf("only %d continuation records checked (%d splits): the corpus should split many flows at 2 s", checked, splits)
	}
	t.Logf("%d splits, %d continuation records keep their classification", splits, checked)
}
