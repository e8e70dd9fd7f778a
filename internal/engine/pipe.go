package engine

import (
	"sync/atomic"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/flow"
)

// A pipe carries the classifier's work to a second goroutine (Config.
// Pipeline): the caller's goroutine reads, decodes and tracks flows; the
// other classifies and runs OnFlowEnd. Events cross in batches, in exactly
// the order a one-goroutine engine would make its classifier calls, so the
// results are the same (TestPipeline_sameAsSequential). Packets of a flow
// whose classification is final are not sent at all: the classifier
// ignores them, and they are most of the traffic.
type pipe struct {
	// Owned by the reading goroutine.
	cur  *batch
	gen  []uint32 // flows created so far on each flow ID
	full chan *batch

	// Shared: final[id/finalPage][id%finalPage] is the gen of the flow on
	// id once its classification is final. Pages are allocated by the
	// reading goroutine before it sends the first event naming them.
	final []*[finalPage]atomic.Uint32

	// Owned by the classifying goroutine.
	cls    *classify.Classifier
	onEnd  func(*FlowEnd)
	mirror []*[finalPage]flow.Flow // each flow as of its last event, in pages (never copied)
	parsed decode.Parsed
	end    FlowEnd
	flowOf func(flow.ID) *flow.Flow

	free chan *batch
	done chan struct{}
}

const (
	finalPage       = 4096
	batchEvents     = 512
	batchData       = 512 << 10 // payload bytes; a reassembled datagram is at most 64 KiB
	batchesInFlight = 8
)

type evKind uint8

const (
	evPacket evKind = iota
	evEnd
	evSweep
)

// event is one classifier call. It holds no pointers, so batches cost the
// garbage collector nothing to scan. A packet event carries only what the
// classifier reads; the whole flow travels when it is created and when it
// ends (batch.flows[off]).
type event struct {
	kind       evKind
	created    bool
	clientIsLo bool // may flip on a late SYN
	dir        flow.Dir
	reason     flow.EndReason
	l4         uint8
	family     uint8
	tcpFlags   uint8
	id         flow.ID
	gen        uint32
	seq        uint32
	off, n     int32 // payload in batch.data; for created and end events, off indexes batch.flows
	poff       int32
	ts         int64
}

type batch struct {
	ev    []event
	data  []byte
	flows []flow.Flow
}

func newPipe(cls *classify.Classifier, onEnd func(*FlowEnd), maxFlows int) *pipe {
	p := &pipe{
		cls:   cls,
		onEnd: onEnd,
		full:  make(chan *batch, batchesInFlight),
		free:  make(chan *batch, batchesInFlight+1),
		done:  make(chan struct{}),
		final: make([]*[finalPage]atomic.Uint32, (maxFlows+finalPage-1)/finalPage+1),
	}
	for range batchesInFlight + 1 {
		p.free <- &batch{ev: make([]event, 0, batchEvents), data: make([]byte, 0, batchData), flows: make([]flow.Flow, 0, batchEvents)}
	}
	p.cur = <-p.free
	p.flowOf = p.mirrored
	go p.classify()
	return p
}

// next returns a fresh event in the current batch with room for n payload
// bytes, sending the batch on first if it is full.
func (p *pipe) next(n int) *event {
	if len(p.cur.ev) == cap(p.cur.ev) || len(p.cur.data)+n > cap(p.cur.data) || len(p.cur.flows) == cap(p.cur.flows) {
		p.full <- p.cur
		p.cur = <-p.free
	}
	p.cur.ev = p.cur.ev[:len(p.cur.ev)+1]
	return &p.cur.ev[len(p.cur.ev)-1]
}

// packet forwards one packet of flow id, unless its flow is classified.
func (p *pipe) packet(id flow.ID, f *flow.Flow, created bool, dir flow.Dir, pk *decode.Parsed, ts int64) {
	for int(id) >= len(p.gen) {
		p.gen = append(p.gen, 0)
	}
	pg := int(id) / finalPage
	if created {
		p.gen[id]++
		if pg < len(p.final) && p.final[pg] == nil {
			p.final[pg] = new([finalPage]atomic.Uint32)
		}
	} else if pg < len(p.final) && p.final[pg][int(id)%finalPage].Load() == p.gen[id] {
		return
	}
	ev := p.next(len(pk.Payload))
	*ev = event{kind: evPacket, created: created, clientIsLo: f.ClientIsLo, dir: dir, l4: pk.Proto, family: pk.Family,
		tcpFlags: pk.TCPFlags, id: id, gen: p.gen[id], seq: pk.TCPSeq, ts: ts, poff: int32(len(p.cur.data)), n: int32(len(pk.Payload))}
	p.cur.data = append(p.cur.data, pk.Payload...)
	if created {
		ev.off = int32(len(p.cur.flows))
		p.cur.flows = append(p.cur.flows, *f)
	}
}

// flowEnded forwards the end of flow id with its final counters.
func (p *pipe) flowEnded(id flow.ID, f *flow.Flow, why flow.EndReason) {
	ev := p.next(0)
	*ev = event{kind: evEnd, reason: why, id: id, off: int32(len(p.cur.flows))}
	p.cur.flows = append(p.cur.flows, *f)
}

// sweep forwards a classifier sweep at packet time now.
func (p *pipe) sweep(now int64) {
	ev := p.next(0)
	*ev = event{kind: evSweep, ts: now}
}

// close sends what is pending and waits until every event is handled.
func (p *pipe) close() {
	if len(p.cur.ev) > 0 {
		p.full <- p.cur
	}
	close(p.full)
	<-p.done
}

// classify is the classifying goroutine.
func (p *pipe) classify() {
	defer close(p.done)
	for b := range p.full {
		for i := range b.ev {
			p.handle(b, &b.ev[i])
		}
		b.ev, b.data, b.flows = b.ev[:0], b.data[:0], b.flows[:0]
		p.free <- b
	}
}

// mirrored returns the classifying goroutine's copy of flow id.
func (p *pipe) mirrored(id flow.ID) *flow.Flow {
	for int(id)/finalPage >= len(p.mirror) {
		p.mirror = append(p.mirror, new([finalPage]flow.Flow))
	}
	return &p.mirror[int(id)/finalPage][int(id)%finalPage]
}

func (p *pipe) handle(b *batch, ev *event) {
	if ev.kind == evSweep {
		p.cls.Sweep(ev.ts, p.flowOf)
		return
	}
	f := p.mirrored(ev.id)
	switch {
	case ev.kind == evEnd || ev.created:
		*f = b.flows[ev.off]
	default:
		// What the classifier reads of a flow: its addresses and ports
		// (fixed), who the client is, and its last packet time. Mirror
		// the table: a late SYN swaps the sides.
		if f.ClientIsLo != ev.clientIsLo {
			f.ClientIsLo = ev.clientIsLo
			f.Side[0], f.Side[1] = f.Side[1], f.Side[0]
		}
		f.Side[ev.dir].Last = ev.ts
	}
	if ev.kind == evEnd {
		p.end = FlowEnd{ID: ev.id, Flow: f, Class: p.cls.End(ev.id, f), Reason: ev.reason}
		if p.onEnd != nil {
			p.onEnd(&p.end)
		}
		p.cls.Release(ev.id)
		return
	}
	pk := &p.parsed
	pk.Proto, pk.Family, pk.TCPFlags, pk.TCPSeq = ev.l4, ev.family, ev.tcpFlags, ev.seq
	pk.Payload = b.data[ev.poff : ev.poff+ev.n : ev.poff+ev.n]
	p.cls.Packet(ev.id, f, ev.created, ev.dir, pk, ev.ts)
	if pg := int(ev.id) / finalPage; pg < len(p.final) && p.cls.Done(ev.id) {
		p.final[pg][int(ev.id)%finalPage].Store(ev.gen)
	}
}
