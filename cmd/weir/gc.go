package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Batch pacing of the garbage collector for a run over captures (weir
// inspect, weir policy test). Its live heap is small (flow table and classifier state: ~3 MB
// on the bench capture) next to what classification allocates and drops per
// flow (QUIC's AES-GCM state, hello lists, names: ~10 MB over the bench
// capture). With the default GOGC of 100 the collector ran every few MB, 5-7
// cycles costing ~8% of a classified run's wall time on the 2-vCPU machines
// this was measured on (docs/benchmarks.md: 212 -> 196 ms, RSS 25 -> 31 MB).
// While the live heap is below batchSmallHeap the heap may grow to five times
// it; above, Go's default pacing (twice) returns, so a capture with a million
// live flows does not pay five times its memory.
const (
	batchGCPercent = 400
	batchSmallHeap = 256 << 20
)

// batchGC starts the batch pacing unless the operator set GOGC or
// GOMEMLIMIT, which then win. weir run (inline, long-running) keeps Go's
// defaults.
func batchGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	smallHeap.CompareAndSwap(0, batchSmallHeap)
	debug.SetGCPercent(batchGCPercent)
	tunerOnce.Do(armGCTuner)
}

var (
	tunerOnce sync.Once
	smallHeap atomic.Uint64 // batchSmallHeap once batchGC ran (tests lower it)
)

// gcSentinel is garbage from birth: its finalizer runs after the cycle that
// found it, and re-arms a new one, so the tuner runs once per GC cycle. It is
// 16 bytes so the tiny allocator (below 16 bytes, pointer-free) does not
// share its block with other objects, which could keep it alive.
type gcSentinel struct{ _ [16]byte }

func armGCTuner() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		retuneGC()
		armGCTuner()
	})
}

var liveHeap = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// retuneGC picks the percentage for the live heap the last cycle left.
func retuneGC() {
	metrics.Read(liveHeap)
	pct := batchGCPercent
	if liveHeap[0].Value.Kind() == metrics.KindUint64 && liveHeap[0].Value.Uint64() > smallHeap.Load() {
		pct = 100
	}
	debug.SetGCPercent(pct)
}
