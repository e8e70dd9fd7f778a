package enforce

import (
	"math/bits"
	"time"
)

// LatencyHist is a log2 histogram of durations in nanoseconds: bucket i
// holds durations in [2^i, 2^(i+1)) ns. It is a value type with no
// allocation, cheap enough to update per queued packet.
type LatencyHist struct {
	Buckets [40]uint64
	Count   uint64
}

// Add records one duration.
func (h *LatencyHist) Add(d time.Duration) {
	ns := uint64(max(d, 1))
	i := bits.Len64(ns) - 1
	h.Buckets[min(i, len(h.Buckets)-1)]++
	h.Count++
}

// Quantile returns an upper bound of the q-quantile (0 < q ≤ 1): the top
// of the bucket it falls in.
func (h *LatencyHist) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	want := uint64(q*float64(h.Count) + 0.5)
	want = max(want, 1)
	var seen uint64
	for i, n := range h.Buckets {
		seen += n
		if seen >= want {
			return time.Duration(uint64(1) << (i + 1))
		}
	}
	return time.Duration(uint64(1) << len(h.Buckets))
}
