package inject

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("2001:db8::1")
	t.Run("burst then rate", func(t *testing.T) {
		l := NewLimiter(DefaultICMPRate, DefaultICMPBurst, DefaultICMPMaxKeys)
		n := 0
		for l.Allow(a, t0) {
			n++
		}
		if n != DefaultICMPBurst {
			t.Fatalf("burst %d, want %d", n, DefaultICMPBurst)
		}
		if !l.Allow(b, t0) {
			t.Error("another address shares the bucket")
		}
		// One token per 100 ms.
		if l.Allow(a, t0.Add(99*time.Millisecond)) {
			t.Error("allowed before a token refilled")
		}
		if !l.Allow(a, t0.Add(100*time.Millisecond)) || l.Allow(a, t0.Add(100*time.Millisecond)) {
			t.Error("refill is not one token per 100ms")
		}
		// Over a long run, rate per second.
		n = 0
		for ms := 0; ms < 10000; ms++ {
			if l.Allow(a, t0.Add(time.Second+time.Duration(ms)*time.Millisecond)) {
				n++
			}
		}
		if n < 100 || n > 100+DefaultICMPBurst {
			t.Errorf("%d allowed in 10 s at 10/s", n)
		}
	})
	t.Run("mapped v4 shares", func(t *testing.T) {
		l := NewLimiter(1, 1, 16)
		if !l.Allow(a, t0) || l.Allow(netip.AddrFrom16(a.As16()), t0) {
			t.Error("::ffff:192.0.2.1 has its own bucket")
		}
	})
	t.Run("zero rate", func(t *testing.T) {
		if NewLimiter(0, 5, 16).Allow(a, t0) {
			t.Error("rate 0 allowed")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		l := NewLimiter(1, 1, 64)
		if len(l.slots) != 64 {
			t.Fatalf("%d slots for 64 keys", len(l.slots))
		}
		// A flood of sources never grows the table and never denies a
		// fresh address (recycling is generous, not strict).
		for i := range 100000 {
			addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if !l.Allow(addr, t0) {
				t.Fatalf("fresh address %v denied", addr)
			}
		}
		if len(l.slots) != 64 {
			t.Error("table grew")
		}
	})
	t.Run("stale buckets recycled first", func(t *testing.T) {
		l := NewLimiter(1, 1, limiterWays) // one set
		hot := netip.MustParseAddr("192.0.2.77")
		l.Allow(hot, t0.Add(10*time.Second))
		for i := range 3 {
			l.Allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), t0)
		}
		// At t0+10s the three others are full again; newcomers take their slots.
		for i := range 3 {
			l.Allow(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), t0.Add(10*time.Second))
		}
		if l.Allow(hot, t0.Add(10*time.Second)) {
			t.Error("the active bucket was recycled before stale ones")
		}
	})
}

func TestLimiterNoAllocs(t *testing.T) {
	l := NewLimiter(DefaultICMPRate, DefaultICMPBurst, DefaultICMPMaxKeys)
	now := time.Unix(1700000000, 0)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		i++
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now)
		l.Allow(netip.MustParseAddr("2001:db8::1"), now)
	}); n != 0 {
		t.Errorf("Allow allocates %v times", n)
	}
}
