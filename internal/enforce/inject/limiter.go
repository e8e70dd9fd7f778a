package inject

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Limiter defaults: a client gets at most 10 ICMP errors a second after a
// burst of 20, and 4096 clients are tracked (about 128 KiB).
const (
	DefaultICMPRate    = 10
	DefaultICMPBurst   = 20
	DefaultICMPMaxKeys = 4096
)

// limiterWays is the associativity of the table: an address lives in one
// of 4 slots of its set, so a lookup touches one cache line or two.
const limiterWays = 4

// Limiter is a token bucket per client address for the ICMP errors Weir
// sends, so a client (or a spoofer naming it as source) cannot make Weir
// flood it. Each bucket holds burst tokens and refills at rate per second.
//
// The table is a fixed set-associative array sized by maxKeys, allocated
// by NewLimiter: Allow allocates nothing and memory is bounded whatever
// the traffic. When an address's set is full of buckets still refilling,
// the bucket closest to full is recycled; its owner then starts from a
// full bucket again, so an attacker with many source addresses can make
// Weir more generous to a victim (up to burst extra), never less.
// Buckets that have refilled completely are indistinguishable from new
// ones and are recycled first, so no state is lost in the normal case.
//
// A Limiter is safe for concurrent use.
type Limiter struct {
	mu       sync.Mutex
	interval int64 // ns per token; 0 = rate <= 0: deny everything
	window   int64 // burst × interval
	mask     uint64
	seed     uint64
	slots    []limSlot
}

// limSlot is one bucket in GCRA form: tat is the theoretical arrival time
// (ns) at which the bucket will be full again; the bucket has tokens while
// tat - now <= window - interval.
type limSlot struct {
	key  [16]byte
	tat  int64
	used bool
}

// NewLimiter returns a limiter allowing rate events per second per address
// after a burst of burst (at least 1), tracking about maxKeys addresses
// (rounded up to a power of two, at least limiterWays). rate <= 0 allows
// nothing.
func NewLimiter(rate float64, burst, maxKeys int) *Limiter {
	burst = max(burst, 1)
	sets := 1
	for sets*limiterWays < maxKeys && sets < 1<<24 {
		sets <<= 1
	}
	l := &Limiter{
		mask:  uint64(sets - 1),
		seed:  rand.Uint64(), // per process, so collisions cannot be planned
		slots: make([]limSlot, sets*limiterWays),
	}
	if rate > 0 && !math.IsInf(rate, 0) {
		l.interval = max(int64(float64(time.Second)/rate), 1)
		l.window = l.interval * int64(burst)
	}
	return l
}

// Allow reports whether addr may get one more ICMP error at time now, and
// takes a token if so. IPv4 and IPv4-mapped IPv6 addresses share a bucket.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) bool {
	if l.interval == 0 {
		return false
	}
	key := addr.Unmap().As16()
	t := now.UnixNano()
	set := l.slots[(l.hash(&key)&l.mask)*limiterWays:][:limiterWays]
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.find(set, &key, t)
	tat := max(s.tat, t)
	if tat+l.interval-t > l.window {
		return false
	}
	s.tat = tat + l.interval
	return true
}

// find returns key's slot in set, recycling one if key has none.
func (l *Limiter) find(set []limSlot, key *[16]byte, now int64) *limSlot {
	victim := &set[0]
	for i := range set {
		s := &set[i]
		if s.used && s.key == *key {
			return s
		}
		if !s.used {
			if victim.used {
				victim = s
			}
		} else if victim.used && s.tat < victim.tat {
			victim = s
		}
	}
	victim.key, victim.tat, victim.used = *key, now, true
	return victim
}

func (l *Limiter) hash(k *[16]byte) uint64 {
	h := l.seed
	h = mix64(h ^ be.Uint64(k[:8]))
	h = mix64(h ^ be.Uint64(k[8:]))
	return h
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
