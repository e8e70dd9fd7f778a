package dnscache

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
)

const (
	// MinTTL and MaxTTL clamp a record's TTL, in seconds.
	MinTTL = 300
	MaxTTL = 86400

	maxNameLen = 253
	maxShards  = 16
	// minPerShard keeps small caches in one shard so eviction order is
	// exactly CLOCK order over the whole cache.
	minPerShard = 1024
)

// Cache maps addresses to the names that resolved to them.
type Cache struct {
	shards    []shard
	shardBits uint // log2(len(shards))
	seed0     uint64
	seed1     uint64
}

type shard struct {
	mu sync.Mutex
	// entries grows by doubling up to limit; once full it is a ring the
	// CLOCK hand walks. Growing on demand keeps a cache that sees little
	// DNS small (a default-sized one is megabytes): its memory is faulted
	// in and kept in cache only as far as it is used.
	entries []entry
	limit   int
	index   []uint32 // open-addressed, linear probing; 0 empty, else entry index+1; at least twice len(entries)
	mask    uint64
	hand    int
	used    int
	_       [64]byte // keep neighbouring shards' mutexes off one cache line
}

// firstEntries is a shard's initial size.
const firstEntries = 64

type entry struct {
	key     [16]byte
	hash    uint64
	name    string
	expires int64 // ns; 0 means the slot is empty
	ref     bool
}

// New returns a cache holding at most maxEntries entries (at least 1).
func New(maxEntries int) *Cache {
	if maxEntries < 1 {
		maxEntries = 1
	}
	n, bits := 1, uint(0)
	for n < maxShards && maxEntries/(n*2) >= minPerShard {
		n *= 2
		bits++
	}
	c := &Cache{
		shards:    make([]shard, n),
		shardBits: bits,
		seed0:     rand.Uint64(),
		seed1:     rand.Uint64(),
	}
	per := maxEntries / n // n divides evenly or we round down: never above maxEntries
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = per
		s.grow(min(per, firstEntries))
	}
	return c
}

// grow resizes the shard to hold n entries (at most limit) and rebuilds the
// index at twice that size or more.
func (s *shard) grow(n int) {
	entries := make([]entry, n)
	s.hand = copy(entries, s.entries) // the hand goes on at the first new, empty slot
	s.entries = entries
	size := 2
	for size < 2*n {
		size <<= 1
	}
	s.index = make([]uint32, size)
	s.mask = uint64(size - 1)
	for i := range s.entries {
		if s.entries[i].expires != 0 {
			s.insert(i)
		}
	}
}

// Cap reports the maximum number of entries (maxEntries rounded down to a
// multiple of the shard count).
func (c *Cache) Cap() int { return len(c.shards) * c.shards[0].limit }

// Len reports the number of stored entries, expired ones included.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.used
		s.mu.Unlock()
	}
	return n
}

func (c *Cache) keyHash(addr netip.Addr) ([16]byte, uint64) {
	k := addr.Unmap().As16()
	a := binary.LittleEndian.Uint64(k[:8]) ^ c.seed0
	b := binary.LittleEndian.Uint64(k[8:]) ^ c.seed1
	return k, mix(a ^ mix(b))
}

// mix is a 64-bit finaliser (splitmix64's).
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (c *Cache) shardFor(h uint64) *shard {
	if c.shardBits == 0 {
		return &c.shards[0]
	}
	return &c.shards[h>>(64-c.shardBits)]
}

// Lookup returns the name last learned for addr, if it has not expired at
// now (ns since the Unix epoch, packet time).
func (c *Cache) Lookup(addr netip.Addr, now int64) (name string, ok bool) {
	if !addr.IsValid() {
		return "", false
	}
	k, h := c.keyHash(addr)
	s := c.shardFor(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(k, h)
	if i < 0 {
		return "", false
	}
	e := &s.entries[i]
	if now >= e.expires {
		return "", false
	}
	e.ref = true
	return e.name, true
}

// Learn records that name resolved to addr with the given TTL (seconds) at
// packet time now (ns since the Unix epoch).
func (c *Cache) Learn(addr netip.Addr, name string, ttl uint32, now int64) {
	if !addr.IsValid() {
		return
	}
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if name == "" || len(name) > maxNameLen {
		return
	}
	t := int64(ttl)
	t = max(t, MinTTL)
	t = min(t, MaxTTL)
	expires := now + t*1e9
	if expires <= 0 {
		// Packet times near zero (synthetic captures) must still give a
		// live entry: 0 marks an empty slot.
		expires = 1
	}
	k, h := c.keyHash(addr)
	s := c.shardFor(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(k, h); i >= 0 {
		e := &s.entries[i]
		if !equalFold(e.name, name) {
			e.name = lowerCopy(name)
		}
		e.expires = expires
		e.ref = true
		return
	}
	if s.used == len(s.entries) && len(s.entries) < s.limit {
		s.grow(min(2*len(s.entries), s.limit))
	}
	i := s.victim(now)
	if s.entries[i].expires != 0 {
		s.remove(i)
	}
	s.entries[i] = entry{key: k, hash: h, name: lowerCopy(name), expires: expires}
	s.insert(i)
	s.used++
}

// victim advances the CLOCK hand to a slot to reuse: an empty or expired one
// if the hand meets it, else the first entry without its reference bit
// (clearing bits as it passes). Two laps at most.
func (s *shard) victim(now int64) int {
	n := len(s.entries)
	for range 2 * n {
		i := s.hand
		s.hand++
		if s.hand == n {
			s.hand = 0
		}
		e := &s.entries[i]
		if e.expires == 0 || now >= e.expires || !e.ref {
			return i
		}
		e.ref = false
	}
	// Unreachable: the first lap clears every bit.
	return s.hand
}

// find returns the entry index for key k, or -1.
func (s *shard) find(k [16]byte, h uint64) int {
	for j := h & s.mask; ; j = (j + 1) & s.mask {
		v := s.index[j]
		if v == 0 {
			return -1
		}
		if e := &s.entries[v-1]; e.hash == h && e.key == k {
			return int(v - 1)
		}
	}
}

func (s *shard) insert(i int) {
	for j := s.entries[i].hash & s.mask; ; j = (j + 1) & s.mask {
		if s.index[j] == 0 {
			s.index[j] = uint32(i + 1)
			return
		}
	}
}

// remove deletes entry i from the index with backward-shift deletion, so
// the table needs no tombstones and never degrades under churn.
func (s *shard) remove(i int) {
	j := s.entries[i].hash & s.mask
	for s.index[j] != uint32(i+1) {
		j = (j + 1) & s.mask
	}
	for {
		s.index[j] = 0
		k := j
		for {
			k = (k + 1) & s.mask
			v := s.index[k]
			if v == 0 {
				s.entries[i] = entry{}
				s.used--
				return
			}
			home := s.entries[v-1].hash & s.mask
			// Move v back to j unless its home lies cyclically in (j, k].
			if (k-home)&s.mask >= (k-j)&s.mask {
				s.index[j] = v
				j = k
				break
			}
		}
	}
}

// lowerCopy returns s lower-cased: s itself when it has no upper-case
// letter (the names DNS answers are learned for are the query names
// dissectors already copied out of the packet, one string per flow kept by
// every address answered), else a copy in one allocation.
func lowerCopy(s string) string {
	upper := false
	for i := 0; i < len(s) && !upper; i++ {
		upper = s[i] >= 'A' && s[i] <= 'Z'
	}
	if !upper {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// equalFold compares a stored (lower-case) name with a new one, ASCII only.
func equalFold(stored, s string) bool {
	if len(stored) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if stored[i] != c {
			return false
		}
	}
	return true
}
