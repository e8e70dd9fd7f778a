package main

import (
	"slices"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/record"
)

// recordQueue hands ended flows' records to a writer goroutine in batches,
// so encoding and writing them (JSON or text lines, sinks) runs beside the
// packet path on a second CPU instead of in it. Records reach the writer in
// the order they were added.
//
// A record is copied with its classification: the classifier reuses a
// flow's state once the flow has ended.
type recordQueue struct {
	write      func(*record.Record)
	cur        *recordBatch
	free, full chan *recordBatch
	done       chan struct{}
}

// recordBatchLen is how many records cross at once: enough that handing a
// batch over costs little per record, small enough that the writer starts
// early.
const recordBatchLen = 256

type recordBatch struct {
	n       int
	recs    [recordBatchLen]record.Record
	classes [recordBatchLen]classify.Result
}

// newRecordQueue starts the writer goroutine; write runs on it.
func newRecordQueue(write func(*record.Record)) *recordQueue {
	const inFlight = 4
	q := &recordQueue{
		write: write,
		free:  make(chan *recordBatch, inFlight),
		full:  make(chan *recordBatch, inFlight),
		done:  make(chan struct{}),
	}
	for range inFlight - 1 {
		q.free <- new(recordBatch)
	}
	q.cur = new(recordBatch)
	go q.run()
	return q
}

// add queues a copy of rec (and of its classification).
func (q *recordQueue) add(rec *record.Record) {
	b := q.cur
	i := b.n
	b.n++
	b.recs[i] = *rec
	if rec.Class != nil {
		c := &b.classes[i]
		*c = *rec.Class
		if rec.End == flow.EndActive {
			// The flow goes on, and its DNS dissector may append to these
			// in place.
			c.Meta.DNS.Answers = slices.Clone(c.Meta.DNS.Answers)
			c.Meta.DNS.EDNS = slices.Clone(c.Meta.DNS.EDNS)
		}
		b.recs[i].Class = c
	}
	if b.n == recordBatchLen {
		q.full <- b
		q.cur = <-q.free
	}
}

// close writes what is queued and stops the writer.
func (q *recordQueue) close() {
	if q.cur.n > 0 {
		q.full <- q.cur
	}
	q.cur = nil
	close(q.full)
	<-q.done
}

func (q *recordQueue) run() {
	defer close(q.done)
	for b := range q.full {
		for i := range b.n {
			q.write(&b.recs[i])
		}
		b.n = 0
		q.free <- b
	}
}
