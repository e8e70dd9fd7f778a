package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

// t0 is a fixed minute start used by the tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testConfig() Config {
	c := DefaultConfig()
	c.FlushInterval = 20 * time.Millisecond
	c.Retention = 0
	c.Now = func() time.Time { return t0.Add(time.Hour) }
	return c
}

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "weir.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rec builds a record ending at t with the given class; bytes are split
// 1:3 between directions, packets 1 + bytes/1000 each way.
func rec(t time.Time, proto dissect.Proto, app, cat, host, verdict string, bytes uint64) *record.Record {
	r := &record.Record{
		L4: 6, First: t.Add(-time.Second).UnixNano(), Last: t.UnixNano(),
		C2SBytes: bytes / 4, S2CBytes: bytes - bytes/4,
		C2SPackets: 1 + bytes/4000, S2CPackets: 1 + bytes/4000,
		Verdict: verdict,
	}
	r.Class = &classify.Result{App: app, Category: cat, Host: host, Confidence: classify.ConfDPI}
	r.Class.Meta.Proto = proto
	return r
}
