package engine_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/engine"
)

// TestEngine_earlyAppSameResult: deciding the application early (inline)
// and deciding it again when dissection ends must give the record what
// deciding it once gives (offline): the same app, host and evidence. The
// second decision used to drop the first one's evidence and DNS-learned
// host.
func TestEngine_earlyAppSameResult(t *testing.T) {
	dir := corpusDir(t)
	names, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, early bool) []string {
		cfg := classify.DefaultConfig()
		cfg.EarlyApp = early
		var out []string
		eng, err := engine.New(engine.DefaultConfig(), classify.New(cfg, classify.CatalogApps(cat)), func(e *engine.FlowEnd) {
			c := e.Class
			out = append(out, fmt.Sprintf("%v %v|%s|%s|%s|%v|%v|%s", e.Flow.Key, c.Meta.Proto, c.App, c.Category, c.Host, c.Confidence, c.AppConf, c.Why()))
		})
		if err != nil {
			t.Fatal(err)
		}
		src, err := capture.Open(name)
		if err != nil {
			return nil
		}
		defer src.Close()
		var p capture.Packet
		for src.Next(&p) == nil {
			eng.Packet(&p)
		}
		eng.Flush()
		return out
	}
	flows := 0
	for _, name := range names {
		once, early := run(name, false), run(name, true)
		flows += len(once)
		if !slices.Equal(once, early) {
			for i := range min(len(once), len(early)) {
				if once[i] != early[i] {
					t.Errorf("%s: decided once %q, early and again %q", filepath.Base(name), once[i], early[i])
					break
				}
			}
		}
	}
	if flows < 1000 {
		t.Fatalf("only %d flows compared", flows)
	}
}
