package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestBatchGC: inspect paces the collector at batchGCPercent while the live
// heap is small, and returns to Go's default once it is not.
func TestBatchGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	batchGC()
	if p := gogc(); p != batchGCPercent {
		t.Fatalf("GOGC %d after batchGC, want %d", p, batchGCPercent)
	}
	smallHeap.Store(1) // every live heap is "large" now
	defer smallHeap.Store(batchSmallHeap)
	for deadline := time.Now().Add(5 * time.Second); gogc() != 100; {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections with a large live heap", gogc())
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // the finalizer runs on its own goroutine
	}
	smallHeap.Store(batchSmallHeap)
	for deadline := time.Now().Add(5 * time.Second); gogc() != batchGCPercent; {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections with a small live heap", gogc())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
