package flow

import (
	"time"
	"unsafe"

	"github.com/weirnet/weir/internal/decode"
)

// ID addresses a live flow in its table. It is reused after the flow ends.
type ID int32

const nilID ID = -1

// Dir is a packet's direction relative to the flow's initiator.
type Dir uint8

const (
	FromClient Dir = 0
	FromServer Dir = 1
)

// TCP flag bits as they appear in the TCP header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Side holds one direction's counters. Bytes count whole frames as seen on
// the wire (as nDPI and IPFIX octetDeltaCount do).
type Side struct {
	Packets uint64
	Bytes   uint64
	First   int64 // ns; 0 until the first packet in this direction
	Last    int64
	Flags   uint8 // TCP flags seen, OR-ed
}

// Flow is the core state of one flow: 136 bytes on amd64.
type Flow struct {
	Key  Key
	Side [2]Side // indexed by Dir

	// ClientIsLo: the client (initiator) is Key.Lo.
	ClientIsLo bool
	// SawSYN: the initiator was chosen by a SYN, not by the first packet.
	SawSYN bool
	// Settled: the classifier needs none of this flow's further packets,
	// so the engine stops offering them (set by internal/classify).
	Settled bool
	class   class

	next             ID // hash chain
	lruPrev, lruNext ID
}

// Client and Server return the endpoints by role.
func (f *Flow) ClientPort() uint16 {
	if f.ClientIsLo {
		return f.Key.LoPort
	}
	return f.Key.HiPort
}

func (f *Flow) ServerPort() uint16 {
	if f.ClientIsLo {
		return f.Key.HiPort
	}
	return f.Key.LoPort
}

// First and Last are the flow's first and last packet times (ns).
func (f *Flow) First() int64 {
	a, b := f.Side[0].First, f.Side[1].First
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func (f *Flow) Last() int64 { return max(f.Side[0].Last, f.Side[1].Last) }

// Closed reports whether the TCP connection was torn down (RST, or FIN both ways).
func (f *Flow) Closed() bool {
	fl := f.Side[0].Flags | f.Side[1].Flags
	return fl&FlagRST != 0 || (f.Side[0].Flags&FlagFIN != 0 && f.Side[1].Flags&FlagFIN != 0)
}

// class groups flows that share an idle timeout.
type class uint8

const (
	classTCP class = iota
	classTCPClosed
	classUDP
	classOther
	numClasses
)

// EndReason says why a flow left the table.
type EndReason uint8

const (
	EndIdle    EndReason = iota // idle timeout
	EndActive                   // active timeout: an interim record; the flow goes on with fresh counters
	EndEvicted                  // table full: longest-idle flow evicted
	EndFlush                    // end of input
	// EndTimeJump: packet time went back further than Config.ClockJump
	// (captures joined end to end, a clock reset, pcap's 32-bit seconds
	// wrapping): flows last seen in the earlier time base end.
	EndTimeJump
	numEndReasons
)

func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle"
	case EndActive:
		return "active-timeout"
	case EndEvicted:
		return "evicted"
	case EndFlush:
		return "end"
	case EndTimeJump:
		return "time-jump"
	}
	return "unknown"
}

// Config sets timeouts and the cap. Zero fields take DefaultConfig's values.
type Config struct {
	MaxFlows      int           // hard cap on live flows
	TCPIdle       time.Duration // established or half-open TCP
	TCPClosedIdle time.Duration // after RST or FIN both ways
	UDPIdle       time.Duration
	OtherIdle     time.Duration // ICMP and everything else
	ActiveTimeout time.Duration // longest a flow record may span; 0 = no limit
	// ClockJump is how far packet time may go back (reordering across
	// capture interfaces, queues) before it counts as a new time base:
	// flows last seen more than this after the current packet then end
	// (EndTimeJump) instead of waiting out an idle timeout that the
	// clock would not reach for years.
	ClockJump time.Duration
}

// DefaultConfig returns the defaults. The idle timeouts are long because
// real traffic idles long: TLS keep-alives 27 minutes apart and SIP
// registrations 5 minutes apart in the peer corpus are one flow each, for
// nDPI as for conntrack. Flow exporters that want periodic records set
// ActiveTimeout (weir run does).
func DefaultConfig() Config {
	return Config{
		MaxFlows:      1 << 20,
		TCPIdle:       time.Hour,
		TCPClosedIdle: 2 * time.Minute,
		UDPIdle:       10 * time.Minute,
		OtherIdle:     2 * time.Minute,
		ActiveTimeout: 0,
		ClockJump:     10 * time.Minute,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
	if c.TCPIdle <= 0 {
		c.TCPIdle = d.TCPIdle
	}
	if c.TCPClosedIdle <= 0 {
		c.TCPClosedIdle = d.TCPClosedIdle
	}
	if c.UDPIdle <= 0 {
		c.UDPIdle = d.UDPIdle
	}
	if c.OtherIdle <= 0 {
		c.OtherIdle = d.OtherIdle
	}
	if c.ActiveTimeout < 0 {
		c.ActiveTimeout = 0
	}
	if c.ClockJump <= 0 {
		c.ClockJump = d.ClockJump
	}
}

// Stats are the table's counters.
type Stats struct {
	Created   uint64
	Ended     [numEndReasons]uint64 // by EndReason
	Live      int
	Peak      int
	SlabBytes int // bytes held by the slab and buckets
}

// Evicted returns the number of flows evicted at the cap.
func (s Stats) Evicted() uint64 { return s.Ended[EndEvicted] }

// CoreBytesPerFlow is the memory each tracked flow costs the table: its
// slab entry plus its share of the bucket array at the maximum load factor.
const CoreBytesPerFlow = int(unsafe.Sizeof(Flow{})) + 2*int(unsafe.Sizeof(ID(0)))

type lruList struct{ head, tail ID }

// Table is a flow table. Use New.
type Table struct {
	cfg     Config
	idle    [numClasses]int64 // ns
	active  int64
	flows   []Flow
	buckets []ID
	mask    uint64
	free    ID
	lru     [numClasses]lruList
	stats   Stats

	// OnEnd, if set, is called with each flow just before it leaves the
	// table (its ID may be reused right after the call returns).
	OnEnd func(id ID, f *Flow, why EndReason)
}

// New returns an empty table.
func New(cfg Config) *Table {
	cfg.fill()
	t := &Table{cfg: cfg, free: nilID}
	t.idle = [numClasses]int64{
		classTCP:       int64(cfg.TCPIdle),
		classTCPClosed: int64(cfg.TCPClosedIdle),
		classUDP:       int64(cfg.UDPIdle),
		classOther:     int64(cfg.OtherIdle),
	}
	t.active = int64(cfg.ActiveTimeout)
	for i := range t.lru {
		t.lru[i] = lruList{nilID, nilID}
	}
	t.resize(1024)
	return t
}

// Config returns the table's effective configuration.
func (t *Table) Config() Config { return t.cfg }

// Flow returns the flow with the given ID. The pointer is valid until the
// next call that may grow the table (Update).
func (t *Table) Flow(id ID) *Flow { return &t.flows[id] }

// Stats returns a snapshot of the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.SlabBytes = cap(t.flows)*int(unsafe.Sizeof(Flow{})) + len(t.buckets)*int(unsafe.Sizeof(ID(0)))
	return s
}

// Len returns the number of live flows.
func (t *Table) Len() int { return t.stats.Live }

// Update accounts packet p (seen at ts, ns) to its flow, creating the flow
// if needed, and returns the flow's ID, the packet's direction and whether
// the flow is new. p must be an IP packet (p.Family != 0).
func (t *Table) Update(p *decode.Parsed, ts int64) (id ID, dir Dir, created bool) {
	k, srcIsLo := makeKey(p)
	h := k.Hash()
	id = t.lookup(&k, h)
	if id != nilID && t.active > 0 {
		if f := &t.flows[id]; ts-f.First() >= t.active {
			t.export(id, f)
		}
	}
	if id == nilID {
		id = t.insert(&k, h, ts)
		created = true
		f := &t.flows[id]
		// The initiator is the SYN sender; without a SYN, the first
		// packet's sender, unless that packet is a SYN-ACK (its receiver
		// then opened the connection).
		f.ClientIsLo = srcIsLo
		if p.Proto == 6 && p.TCPFlags&(FlagSYN|FlagACK) == FlagSYN|FlagACK {
			f.ClientIsLo = !srcIsLo
		}
		f.SawSYN = p.Proto == 6 && p.TCPFlags&FlagSYN != 0
	}
	f := &t.flows[id]
	if p.Proto == 6 && !f.SawSYN && p.TCPFlags&(FlagSYN|FlagACK) == FlagSYN {
		// A SYN after a mid-stream start: its sender is the real client.
		f.SawSYN = true
		if f.ClientIsLo != srcIsLo {
			f.ClientIsLo = srcIsLo
			f.Side[0], f.Side[1] = f.Side[1], f.Side[0]
		}
	}
	dir = FromServer
	if srcIsLo == f.ClientIsLo {
		dir = FromClient
	}
	s := &f.Side[dir]
	frames := uint64(p.Frames)
	if frames == 0 {
		frames = 1
	}
	s.Packets += frames
	s.Bytes += uint64(p.WireLen)
	if s.First == 0 {
		s.First = ts
	}
	s.Last = ts
	s.Flags |= p.TCPFlags
	t.touch(id, f)
	return id, dir, created
}

// export writes an interim record of a flow that has run for the active
// timeout (OnEnd with EndActive) and restarts its counters. The flow goes
// on under its ID, with whatever callers keep for it (classification,
// verdict); TCP flags are kept so its close is still recognised.
func (t *Table) export(id ID, f *Flow) {
	if t.OnEnd != nil {
		t.OnEnd(id, f, EndActive)
	}
	t.stats.Ended[EndActive]++
	for d := range f.Side {
		f.Side[d] = Side{Flags: f.Side[d].Flags}
	}
}

// Credit adds packets and bytes that bypassed the table (the kernel
// forwarded them on its own) to the live flow of p's addresses, ports and
// protocol, in p's direction, as seen at ts. It reports whether that flow
// is live. It never creates or ends a flow; like Update, it writes an
// interim record when the flow has run for the active timeout.
func (t *Table) Credit(p *decode.Parsed, packets, bytes uint64, ts int64) bool {
	k, srcIsLo := makeKey(p)
	id := t.lookup(&k, k.Hash())
	if id == nilID {
		return false
	}
	f := &t.flows[id]
	if t.active > 0 && f.First() != 0 && ts-f.First() >= t.active {
		t.export(id, f)
	}
	dir := FromServer
	if srcIsLo == f.ClientIsLo {
		dir = FromClient
	}
	s := &f.Side[dir]
	s.Packets += packets
	s.Bytes += bytes
	if s.First == 0 {
		s.First = ts
	}
	s.Last = max(s.Last, ts)
	t.touch(id, f)
	return true
}

// Expire ends every flow idle at now (ns) for longer than its class
// timeout, and every flow last seen more than ClockJump after now.
func (t *Table) Expire(now int64) {
	jump := int64(t.cfg.ClockJump)
	for c := range numClasses {
		for {
			id := t.lru[c].head
			if id == nilID {
				break
			}
			switch age := now - t.flows[id].Last(); {
			case age > t.idle[c]:
				t.end(id, EndIdle)
				continue
			case age < -jump:
				// The list is in touch order, and flows of the earlier
				// time base were touched first: they come off its head.
				t.end(id, EndTimeJump)
				continue
			}
			break
		}
	}
}

// ClockJump is the configured Config.ClockJump in ns.
func (t *Table) ClockJump() int64 { return int64(t.cfg.ClockJump) }

// Flush ends every live flow (end of input), oldest first.
func (t *Table) Flush() {
	for {
		id := t.oldest()
		if id == nilID {
			return
		}
		t.end(id, EndFlush)
	}
}

// Range calls fn for every live flow until fn returns false.
func (t *Table) Range(fn func(id ID, f *Flow) bool) {
	for c := range numClasses {
		for id := t.lru[c].head; id != nilID; id = t.flows[id].lruNext {
			if !fn(id, &t.flows[id]) {
				return
			}
		}
	}
}

func (t *Table) lookup(k *Key, h uint64) ID {
	for id := t.buckets[h&t.mask]; id != nilID; id = t.flows[id].next {
		if t.flows[id].Key == *k {
			return id
		}
	}
	return nilID
}

func (t *Table) insert(k *Key, h uint64, ts int64) ID {
	if t.stats.Live >= t.cfg.MaxFlows {
		t.end(t.oldest(), EndEvicted)
	}
	var id ID
	if t.free != nilID {
		id = t.free
		t.free = t.flows[id].next
	} else {
		if len(t.flows) == cap(t.flows) && len(t.flows) >= len(t.buckets)/2 {
			t.resize(2 * len(t.buckets))
			h = k.Hash()
		}
		t.flows = append(t.flows, Flow{})
		id = ID(len(t.flows) - 1)
	}
	f := &t.flows[id]
	*f = Flow{Key: *k, lruPrev: nilID, lruNext: nilID}
	f.class = classOf(k.Proto)
	b := &t.buckets[h&t.mask]
	f.next = *b
	*b = id
	t.lruPush(f.class, id)
	t.stats.Created++
	t.stats.Live++
	t.stats.Peak = max(t.stats.Peak, t.stats.Live)
	return id
}

func classOf(proto uint8) class {
	switch proto {
	case 6:
		return classTCP
	case 17:
		return classUDP
	}
	return classOther
}

// touch moves the flow to the tail of its class list, changing class when a
// TCP connection closes.
func (t *Table) touch(id ID, f *Flow) {
	c := f.class
	if c == classTCP && f.Closed() {
		c = classTCPClosed
	}
	if c == f.class && t.lru[c].tail == id {
		return
	}
	t.lruRemove(f.class, id)
	f.class = c
	t.lruPush(c, id)
}

// oldest returns the longest-idle live flow across all classes.
func (t *Table) oldest() ID {
	best := nilID
	var bestLast int64
	for c := range numClasses {
		id := t.lru[c].head
		if id == nilID {
			continue
		}
		if l := t.flows[id].Last(); best == nilID || l < bestLast {
			best, bestLast = id, l
		}
	}
	return best
}

func (t *Table) end(id ID, why EndReason) {
	f := &t.flows[id]
	if t.OnEnd != nil {
		t.OnEnd(id, f, why)
	}
	t.stats.Ended[why]++
	t.stats.Live--
	t.lruRemove(f.class, id)
	h := f.Key.Hash()
	for p := &t.buckets[h&t.mask]; *p != nilID; p = &t.flows[*p].next {
		if *p == id {
			*p = f.next
			break
		}
	}
	*f = Flow{next: t.free, lruPrev: nilID, lruNext: nilID}
	t.free = id
}

func (t *Table) lruPush(c class, id ID) {
	l := &t.lru[c]
	f := &t.flows[id]
	f.lruPrev, f.lruNext = l.tail, nilID
	if l.tail != nilID {
		t.flows[l.tail].lruNext = id
	} else {
		l.head = id
	}
	l.tail = id
}

func (t *Table) lruRemove(c class, id ID) {
	l := &t.lru[c]
	f := &t.flows[id]
	if f.lruPrev != nilID {
		t.flows[f.lruPrev].lruNext = f.lruNext
	} else {
		l.head = f.lruNext
	}
	if f.lruNext != nilID {
		t.flows[f.lruNext].lruPrev = f.lruPrev
	} else {
		l.tail = f.lruPrev
	}
	f.lruPrev, f.lruNext = nilID, nilID
}

// resize rebuilds the bucket array with n buckets (a power of two) and
// grows the slab's capacity to n/2 so the load factor stays at most 1/2.
func (t *Table) resize(n int) {
	limit := 1
	for limit < 2*t.cfg.MaxFlows {
		limit <<= 1
	}
	n = min(n, limit)
	t.buckets = make([]ID, n)
	for i := range t.buckets {
		t.buckets[i] = nilID
	}
	t.mask = uint64(n - 1)
	if want := min(n/2, t.cfg.MaxFlows); cap(t.flows) < want {
		nf := make([]Flow, len(t.flows), want)
		copy(nf, t.flows)
		t.flows = nf
	}
	// Rehash live flows; free slots keep their free-list links.
	for i := range t.flows {
		f := &t.flows[i]
		if f.Key.Family == 0 {
			continue
		}
		b := &t.buckets[f.Key.Hash()&t.mask]
		f.next = *b
		*b = ID(i)
	}
}
