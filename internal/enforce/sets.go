package enforce

import (
	"context"
	"encoding/binary"

	"github.com/google/nftables"

	"github.com/weirnet/weir/internal/flow"
)

// setWriter publishes decided flows to the nftables sets (both directions
// of each flow) over one netlink socket, off the packet path: the queued
// packet is answered at once, and the flow's next packets meet the set
// well under a millisecond later (until then they are queued and answered
// from Weir's own table). Writing through the `nft` command instead cost a
// fork and ~10 ms per batch, during which a bulk flow's packets all took
// the slow path.
type setWriter struct {
	ch      chan setElem
	logf    func(string, ...any)
	dropped uint64
}

// Set indexes, in the order of setNames.
const (
	setAllow4 = iota
	setAllow6
	setDrop4
	setDrop6
	setShape4
	setShape6
	numSets
)

var setNames = [numSets]string{"allow4", "allow6", "drop4", "drop6", "shape4", "shape6"}

// nftSets describes Weir's sets for google/nftables element writes.
func nftSets() (sets [numSets]*nftables.Set) {
	tbl := &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
	for i, name := range setNames {
		sets[i] = &nftables.Set{Table: tbl, Name: name, IsMap: i == setShape4 || i == setShape6, HasTimeout: true}
	}
	return sets
}

// setElem is one element: the key laid out as the kernel compares it.
// Concatenated keys give every field a 4-byte-aligned slot: address,
// address, protocol (1 byte + 3 zero), port (2 bytes big-endian + 2 zero),
// port: 20 bytes for IPv4, 44 for IPv6.
type setElem struct {
	set  uint8
	klen uint8
	key  [44]byte
	mark uint32 // the value, for the shape maps
}

func newSetWriter(logf func(string, ...any)) *setWriter {
	return &setWriter{ch: make(chan setElem, 8192), logf: logf}
}

// add queues the flow's elements; it never blocks and does not allocate.
func (w *setWriter) add(f *flow.Flow, mark uint32) {
	var set uint8
	switch {
	case mark == markAllow:
		set = setAllow4
	case mark == markDrop:
		set = setDrop4
	case mark&markMaskThrottle == markThrottleBase:
		set = setShape4
	default:
		return
	}
	if f.Key.Proto != 6 && f.Key.Proto != 17 {
		return
	}
	alen := 4
	if f.Key.Family != 4 {
		set++ // the IPv6 twin
		alen = 16
	}
	lo, hi := f.Key.Lo[:alen], f.Key.Hi[:alen]
	for _, e := range [2]struct {
		src, dst         []byte
		srcPort, dstPort uint16
	}{{lo, hi, f.Key.LoPort, f.Key.HiPort}, {hi, lo, f.Key.HiPort, f.Key.LoPort}} {
		el := setElem{set: set, mark: mark}
		n := copy(el.key[:], e.src)
		n += copy(el.key[n:], e.dst)
		el.key[n] = f.Key.Proto
		binary.BigEndian.PutUint16(el.key[n+4:], e.srcPort)
		binary.BigEndian.PutUint16(el.key[n+8:], e.dstPort)
		el.klen = uint8(n + 12)
		select {
		case w.ch <- el:
		default:
			w.dropped++ // the flow stays queued and is answered from Weir's table
		}
	}
}

// maxBatch bounds the elements of one netlink batch.
const maxBatch = 1024

// run writes batches until ctx ends. It wakes only when there is work: a
// router's CPU belongs to forwarding.
func (w *setWriter) run(ctx context.Context) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		w.logf("enforce: nftables netlink: %v; decided flows stay on the queue", err)
		return
	}
	defer c.CloseLasting()
	sets := nftSets()
	var batch [numSets][]nftables.SetElement
	for {
		var el setElem
		select {
		case <-ctx.Done():
			return
		case el = <-w.ch:
		}
		// Publish at once: every millisecond a flow waits here its packets
		// take the slow path. Take what else is pending first.
		for n := 0; ; n++ {
			e := nftables.SetElement{Key: append([]byte(nil), el.key[:el.klen]...)}
			if sets[el.set].IsMap {
				e.Val = binary.NativeEndian.AppendUint32(nil, el.mark) // meta mark is host-endian
			}
			batch[el.set] = append(batch[el.set], e)
			if n == maxBatch {
				break
			}
			select {
			case el = <-w.ch:
				continue
			default:
			}
			break
		}
		for i := range batch {
			if len(batch[i]) > 0 {
				if err := c.SetAddElements(sets[i], batch[i]); err != nil {
					w.logf("enforce: add elements to %s: %v", setNames[i], err)
				}
				batch[i] = batch[i][:0]
			}
		}
		if err := c.Flush(); err != nil {
			w.logf("enforce: add set elements: %v", err)
		}
	}
}
