package decode

import "encoding/binary"

// fragBufSize is the largest datagram payload we rebuild: an IPv4 total
// length or IPv6 payload length cannot exceed 65535.
const (
	fragBufSize = 65535
	fragBlocks  = (fragBufSize + 7) / 8 // fragment offsets count 8-byte blocks
)

// fragBuf is one datagram's reassembly area and which 8-byte blocks of it
// have arrived. Allocated on a slot's first use and kept for reuse.
type fragBuf struct {
	data [fragBufSize]byte
	bits [(fragBlocks + 63) / 64]uint64
}

// fragKey identifies a datagram (RFC 791 / RFC 8200), plus the VLAN so
// that two segments reusing addresses do not mix.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	vlan     uint16
	proto    uint8 // IPv4 only; IPv6 keys on addresses and id alone
	family   uint8
}

type fragSlot struct {
	key    fragKey
	buf    *fragBuf
	first  int64 // packet time of the first fragment seen
	wire   int   // sum of the wire lengths of the frames held
	frames int
	total  int // payload length, known once the last fragment arrived; -1 before
	maxEnd int // highest byte offset received
	// covered counts the set bits; complete when it equals ceil(total/8).
	covered int
	next    uint8 // protocol (IPv4) or next header (IPv6) of the offset-0 fragment
	ttl     uint8

	bucket              uint64
	hnext, aprev, anext int32 // hash chain; age list (or free list via anext)
}

// fragTable holds the datagrams in progress. Slots and buckets are
// allocated once in init; buffers on a slot's first use. A slot is in one
// of: the free list, the hash + age list (active), or drain (just
// completed: its buffer backs p.Payload until the next Decode).
type fragTable struct {
	slots   []fragSlot
	buckets []int32
	mask    uint64
	seed    uint64
	timeout int64

	free       int32
	head, tail int32 // age list, oldest first
	active     int

	// Completions in one Decode: at most one per IP layer of the frame.
	drain  [MaxTunnelDepth + 2]int32
	ndrain int
}

func (t *fragTable) init(n int, timeout int64, seed uint64) {
	t.slots = make([]fragSlot, n)
	nb := 1
	for nb < 2*n {
		nb <<= 1
	}
	t.buckets = make([]int32, nb)
	for i := range t.buckets {
		t.buckets[i] = -1
	}
	t.mask = uint64(nb - 1)
	t.seed = seed
	t.timeout = timeout
	for i := range t.slots {
		t.slots[i].anext = int32(i + 1)
	}
	t.slots[n-1].anext = -1
	t.free = 0
	t.head, t.tail = -1, -1
}

// release frees the slots completed by the previous Decode: their data is
// no longer promised to the caller.
func (t *fragTable) release() {
	for _, i := range t.drain[:t.ndrain] {
		t.slots[i].anext = t.free
		t.free = i
	}
	t.ndrain = 0
}

// expire drops datagrams whose first fragment is older than the timeout.
// The age list is in arrival order, so only its head needs checking.
func (t *fragTable) expire(ts int64, st *Stats) {
	for t.head >= 0 && ts-t.slots[t.head].first > t.timeout {
		t.drop(t.head, FragTimeout, st)
	}
}

func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>32
}

// hash is keyed by a per-Decoder random seed so that an attacker cannot
// aim fragments at one bucket (chains stay bounded by the slot count anyway).
func (t *fragTable) hash(k *fragKey) uint64 {
	le := binary.LittleEndian
	h := mix(t.seed, le.Uint64(k.src[:8]))
	h = mix(h, le.Uint64(k.src[8:]))
	h = mix(h, le.Uint64(k.dst[:8]))
	h = mix(h, le.Uint64(k.dst[8:]))
	h = mix(h, uint64(k.id)<<32|uint64(k.vlan)<<16|uint64(k.proto)<<8|uint64(k.family))
	return h & t.mask
}

func (t *fragTable) lookup(k *fragKey) int32 {
	for i := t.buckets[t.hash(k)]; i >= 0; i = t.slots[i].hnext {
		if t.slots[i].key == *k {
			return i
		}
	}
	return -1
}

// alloc starts a datagram, evicting the oldest one when the table is full
// (so a flood of never-completed fragments cannot block new datagrams for a
// whole timeout). It returns -1 only when every slot is draining.
func (t *fragTable) alloc(k *fragKey, ts int64, st *Stats) int32 {
	if t.free < 0 {
		if t.head < 0 {
			return -1
		}
		t.drop(t.head, FragTableFull, st)
	}
	i := t.free
	s := &t.slots[i]
	t.free = s.anext
	if s.buf == nil {
		s.buf = new(fragBuf)
	} else {
		clear(s.buf.bits[:(s.maxEnd+511)/512])
	}
	s.key = *k
	s.first = ts
	s.wire, s.frames = 0, 0
	s.total, s.maxEnd, s.covered = -1, 0, 0
	s.next, s.ttl = 0, 0
	s.bucket = t.hash(k)
	s.hnext = t.buckets[s.bucket]
	t.buckets[s.bucket] = i
	s.aprev, s.anext = t.tail, -1
	if t.tail >= 0 {
		t.slots[t.tail].anext = i
	} else {
		t.head = i
	}
	t.tail = i
	t.active++
	return i
}

// unlink removes an active slot from the hash chain and the age list.
func (t *fragTable) unlink(i int32) {
	s := &t.slots[i]
	for pp := &t.buckets[s.bucket]; *pp >= 0; pp = &t.slots[*pp].hnext {
		if *pp == i {
			*pp = s.hnext
			break
		}
	}
	if s.aprev >= 0 {
		t.slots[s.aprev].anext = s.anext
	} else {
		t.head = s.anext
	}
	if s.anext >= 0 {
		t.slots[s.anext].aprev = s.aprev
	} else {
		t.tail = s.aprev
	}
	t.active--
}

// drop discards an active datagram; r (if not ReasonNone) is counted.
func (t *fragTable) drop(i int32, r Reason, st *Stats) {
	s := &t.slots[i]
	if r != ReasonNone {
		st.Reasons[r]++
	}
	st.FragDroppedFrames += uint64(s.frames)
	t.unlink(i)
	s.anext = t.free
	t.free = i
}

// add stores one fragment's data at byte offset off. It reports false on a
// conflicting overlap: bytes that differ from what already arrived, or a
// datagram end that contradicts an earlier fragment. Identical overlap
// (a retransmitted or duplicated fragment) is accepted.
func (s *fragSlot) add(off int, data []byte, last bool) bool {
	end := off + len(data)
	if last {
		if (s.total >= 0 && s.total != end) || s.maxEnd > end {
			return false
		}
	} else if s.total >= 0 && end > s.total {
		return false
	}
	b := s.buf
	for blk := off >> 3; blk<<3 < end; blk++ {
		if b.bits[blk>>6]&(1<<(blk&63)) != 0 {
			bs := blk << 3
			be := min(bs+8, end)
			if string(b.data[bs:be]) != string(data[bs-off:be-off]) {
				return false
			}
		}
	}
	copy(b.data[off:end], data)
	for blk := off >> 3; blk<<3 < end; blk++ {
		w, bit := blk>>6, uint64(1)<<(blk&63)
		if b.bits[w]&bit == 0 {
			b.bits[w] |= bit
			s.covered++
		}
	}
	if last {
		s.total = end
	}
	s.maxEnd = max(s.maxEnd, end)
	return true
}

func (s *fragSlot) complete() bool {
	return s.total >= 0 && s.covered == (s.total+7)>>3
}

// fragment handles one IPv4 or IPv6 fragment: data is its payload (after
// the IPv4 header or the IPv6 fragment header) at byte offset off, last
// is MF=0, cut says the capture truncated it, hdr is the IPv4 header length
// (0 for IPv6), next the protocol or next header it announces.
func (d *Decoder) fragment(k *fragKey, off int, data []byte, last, cut bool, hdr int, next uint8, p *Parsed, depth int) Result {
	if !d.cfg.Reassemble {
		p.Unreassembled = true
		if off != 0 {
			p.Proto = next
			p.Payload = data
			return OK
		}
		// Decode the transport header from the first fragment like an
		// unreassembling peer would; its data is partial by nature.
		saved := d.truncated
		d.truncated = true
		var r Result
		if k.family == 4 {
			r = d.l4(next, data, p, depth)
		} else {
			r = d.ext6(next, data, true, p, depth)
		}
		d.truncated = saved
		return r
	}
	if cut {
		return d.bad(FragTruncated)
	}
	if d.frag.ndrain == len(d.frag.drain) {
		return d.bad(TunnelTooDeep) // unreachable with MaxTunnelDepth; keeps drain in bounds
	}
	end := off + len(data)
	if end+hdr > fragBufSize {
		return d.bad(FragTooBig)
	}
	if !last && len(data)&7 != 0 {
		return d.bad(FragBadLength)
	}
	t := &d.frag
	i := t.lookup(k)
	if i < 0 {
		if i = t.alloc(k, d.ts, &d.stats); i < 0 {
			return d.bad(FragTableFull)
		}
	}
	s := &t.slots[i]
	if !s.add(off, data, last) {
		// Policy: a conflicting overlap poisons the whole datagram (the
		// classic evasion is to send two versions and let the IDS pick the
		// wrong one); drop it and count this frame as Malformed.
		t.drop(i, ReasonNone, &d.stats)
		return d.bad(FragOverlap)
	}
	if off == 0 {
		s.next, s.ttl = next, p.TTL
	}
	s.frames += d.curFrames
	s.wire += d.curWire
	if !s.complete() {
		return Held
	}
	t.unlink(i)
	t.drain[t.ndrain] = i
	t.ndrain++
	d.stats.FragCompleted++
	p.Fragmented = true
	p.Frames, p.WireLen = s.frames, s.wire
	p.TTL = s.ttl
	d.curFrames, d.curWire = s.frames, s.wire
	d.truncated = false // the rebuilt datagram is whole
	pl := s.buf.data[:s.total]
	if k.family == 4 {
		return d.l4(s.next, pl, p, depth)
	}
	return d.ext6(s.next, pl, false, p, depth)
}
