package enforce

import (
	"testing"
	"time"
)

// TestLatencyHist: every duration falls in a bucket whose top is above it
// and at most 25% (one quarter-octave) higher, and quantiles come out in
// order with those bounds.
func TestLatencyHist(t *testing.T) {
	for ns := uint64(4); ns < 1<<34; ns = ns*9/8 + 1 {
		top := bucketTop(latencyBucket(ns))
		if uint64(top) <= ns || float64(top) > float64(ns)*1.25+1 {
			t.Fatalf("%d ns: bucket top %d", ns, top)
		}
		if i := latencyBucket(ns); i > 8 && uint64(bucketTop(i-1)) > ns {
			t.Fatalf("%d ns: the bucket below also covers it (top %d)", ns, bucketTop(i-1))
		}
	}
	var h LatencyHist
	for i := 1; i <= 100; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	p50, p99 := h.Quantile(0.5), h.Quantile(0.99)
	if p50 < 50*time.Microsecond || p50 > 63*time.Microsecond || p99 < 99*time.Microsecond || p99 > 124*time.Microsecond {
		t.Errorf("p50 %v p99 %v for 1..100 µs", p50, p99)
	}
	if (&LatencyHist{}).Quantile(0.5) != 0 {
		t.Error("empty histogram has a quantile")
	}
}
