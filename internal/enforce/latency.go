package enforce

import (
	"math/bits"
	"time"
)

// LatencyHist is a histogram of durations in nanoseconds with four
// buckets per power of two (so a quantile's upper bound is at most 25%
// above the true value): bucket 4*e+m holds durations whose highest set
// bit is e and whose next two bits are m. It is a value type with no
// allocation, cheap enough to update per queued packet.
type LatencyHist struct {
	Buckets [4 * 40]uint64
	Count   uint64
}

// Add records one duration.
func (h *LatencyHist) Add(d time.Duration) {
	h.Buckets[latencyBucket(uint64(max(d, 0)))]++
	h.Count++
}

// latencyBucket: durations under 4 ns share the first used bucket.
func latencyBucket(ns uint64) int {
	ns = max(ns, 4)
	e := bits.Len64(ns) - 1
	m := (ns >> (e - 2)) & 3
	return min(4*e+int(m), 4*40-1)
}

// bucketTop is the smallest duration above bucket i.
func bucketTop(i int) time.Duration {
	e, m := uint(max(i/4, 2)), uint64(i%4)
	return time.Duration((4 + m + 1) << (e - 2))
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
			return bucketTop(i)
		}
	}
	return bucketTop(len(h.Buckets) - 1)
}
