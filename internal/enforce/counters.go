package enforce

import (
	"encoding/binary"
	"time"

	"github.com/google/nftables"

	"github.com/weirnet/weir/internal/decode"
)

// countersEvery is how often the sets' per-element counters are read into
// Weir's flows (at most; a quarter of the set timeout when that is shorter).
const countersEvery = 5 * time.Second

// counterReader folds the kernel's per-element counters into Weir's flow
// table, so that records of flows the kernel forwarded from the sets count
// what it forwarded, not just the packets that reached Weir. Counters are
// cumulative per element; an element written again starts from zero,
// which shows as a counter below the last one read.
//
// Element timeouts run from when the element was written, whatever its
// traffic, and writing an existing element again does not extend them. So
// an element that carried traffic since the last read and would expire
// before the next one is replaced (deleted and written again in one
// transaction, after its counter was read): busy connections stay in the
// kernel and lose no counts; idle ones expire.
type counterReader struct {
	dump    *elemDumper    // reads
	conn    *nftables.Conn // renewals
	sets    [numSets]*nftables.Set
	last    map[counterKey]counterVal
	gen     uint32
	deltas  []counterDelta
	timeout time.Duration
}

// counterDelta is what one element carried since the last read.
type counterDelta struct {
	p              decode.Parsed
	packets, bytes uint64
}

type counterKey struct {
	set  uint8
	klen uint8
	key  [44]byte
}

type counterVal struct {
	packets, bytes uint64
	gen            uint32
}

// newCounterReader reads sets whose elements live setTimeout.
func newCounterReader(setTimeout time.Duration) (*counterReader, error) {
	d, err := newElemDumper()
	if err != nil {
		return nil, err
	}
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		d.close()
		return nil, err
	}
	return &counterReader{dump: d, conn: c, sets: nftSets(), last: make(map[counterKey]counterVal), timeout: setTimeout}, nil
}

func (r *counterReader) close() {
	r.dump.close()
	r.conn.CloseLasting()
}

// read dumps every set and returns what each element carried since the
// last read; busy elements that expire within renew are replaced. The
// slice is reused by the next call.
func (r *counterReader) read(renew time.Duration) ([]counterDelta, error) {
	r.gen++
	r.deltas = r.deltas[:0]
	var first error
	renewed := false
	for i, s := range r.sets {
		err := r.dump.dump(Table, s.Name, func(e *dumpedElem) {
			var d counterDelta
			if !e.counted || !parseSetKey(e.key, &d.p) {
				return
			}
			k := counterKey{set: uint8(i), klen: uint8(len(e.key))}
			copy(k.key[:], e.key)
			prev := r.last[k]
			dp, db := e.packets, e.bytes
			if dp >= prev.packets && db >= prev.bytes {
				dp, db = dp-prev.packets, db-prev.bytes
			}
			r.last[k] = counterVal{e.packets, e.bytes, r.gen}
			if dp == 0 {
				return
			}
			d.packets, d.bytes = dp, db
			r.deltas = append(r.deltas, d)
			if e.expires > 0 && e.expires < renew {
				key := append([]byte(nil), e.key...)
				fresh := nftables.SetElement{Key: key, Val: append([]byte(nil), e.val...), Timeout: r.timeout}
				if r.conn.SetDeleteElements(s, []nftables.SetElement{{Key: key}}) == nil &&
					r.conn.SetAddElements(s, []nftables.SetElement{fresh}) == nil {
					r.last[k] = counterVal{gen: r.gen} // the new element counts from zero
					renewed = true
				}
			}
		})
		if err != nil && first == nil {
			first = err
		}
	}
	if renewed {
		if err := r.conn.Flush(); err != nil && first == nil {
			first = err
		}
	}
	for k, v := range r.last {
		if v.gen != r.gen {
			delete(r.last, k) // expired
		}
	}
	return r.deltas, first
}

// parseSetKey fills p's addresses, protocol and ports from a set key (the
// layout setElem documents).
func parseSetKey(key []byte, p *decode.Parsed) bool {
	alen := 0
	switch len(key) {
	case 20:
		p.Family, alen = 4, 4
	case 44:
		p.Family, alen = 6, 16
	default:
		return false
	}
	copy(p.Src[:], key[:alen])
	copy(p.Dst[:], key[alen:2*alen])
	p.Proto = key[2*alen]
	p.SrcPort = binary.BigEndian.Uint16(key[2*alen+4:])
	p.DstPort = binary.BigEndian.Uint16(key[2*alen+8:])
	return true
}
