package enforce

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/testnet"
)

// BenchmarkCounterRead measures one read of the sets' counters with 10,000
// decided flows (20,000 elements): the work weir run does every few
// seconds, off the packet path. Root and network namespaces needed.
//
//	go test -run XXX -bench CounterRead -benchtime 5x ./internal/enforce
func BenchmarkCounterRead(b *testing.B) {
	n := testnet.New(b)
	const flows = 10000
	err := n.Go(n.Router, func() error {
		r := Rules{SetTimeout: time.Hour}
		if err := r.Install(); err != nil {
			return err
		}
		defer r.Remove()
		w := newSetWriter(b.Logf)
		w.ch = make(chan setElem, 2*flows)
		for i := range flows {
			for d := range 2 {
				el := setElem{set: setAllow4, klen: 20}
				binary.BigEndian.PutUint32(el.key[0:], 0x0ac80100+uint32(d))
				binary.BigEndian.PutUint32(el.key[4:], 0x0ac80200+uint32(1-d))
				el.key[8] = 6
				binary.BigEndian.PutUint16(el.key[12:], uint16(10000+i))
				binary.BigEndian.PutUint16(el.key[16:], 443)
				w.ch <- el
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		// The writer's socket must be opened in this namespace too.
		go n.Go(n.Router, func() error { w.run(ctx); return nil })
		for len(w.ch) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		cr, err := newCounterReader(time.Hour)
		if err != nil {
			return err
		}
		defer cr.close()
		var elems int
		b.ResetTimer()
		for range b.N {
			d, err := cr.read(10 * time.Second)
			if err != nil {
				return err
			}
			elems = len(cr.last)
			_ = d
		}
		b.StopTimer()
		if elems != 2*flows {
			b.Errorf("read %d elements, want %d", elems, 2*flows)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
