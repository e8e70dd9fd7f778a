package enforce

import (
	"context"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/weirnet/weir/internal/flow"
)

// setWriter publishes decided flows to the nftables sets (both directions
// of each flow) in batches, off the packet path: the queued packet is
// answered at once, and the flow's next packets meet the set a few
// milliseconds later (until then they are queued and answered from Weir's
// own table).
type setWriter struct {
	ch      chan string
	logf    func(string, ...any)
	dropped uint64
}

func newSetWriter(logf func(string, ...any)) *setWriter {
	return &setWriter{ch: make(chan string, 4096), logf: logf}
}

// add queues the flow's elements; it never blocks.
func (w *setWriter) add(f *flow.Flow, mark uint32) {
	set, value := "", ""
	switch {
	case mark == markAllow:
		set = "allow"
	case mark == markDrop:
		set = "drop"
	case mark&markMaskThrottle == markThrottleBase:
		set, value = "shape", " : 0x"+strconv.FormatUint(uint64(mark), 16)
	default:
		return
	}
	if f.Key.Proto != 6 && f.Key.Proto != 17 {
		return
	}
	c := f.Key.Addr(f.ClientIsLo)
	sv := f.Key.Addr(!f.ClientIsLo)
	fam := "4"
	if c.Is6() && !c.Is4In6() {
		fam = "6"
	}
	proto := strconv.Itoa(int(f.Key.Proto))
	elem := func(a, b netip.Addr, ap, bp uint16) string {
		return a.Unmap().String() + " . " + b.Unmap().String() + " . " + proto + " . " +
			strconv.Itoa(int(ap)) + " . " + strconv.Itoa(int(bp)) + value
	}
	line := "add element inet " + Table + " " + set + fam + " { " +
		elem(c, sv, f.ClientPort(), f.ServerPort()) + ", " + elem(sv, c, f.ServerPort(), f.ClientPort()) + " }\n"
	select {
	case w.ch <- line:
	default:
		w.dropped++ // the flow stays queued and is answered from Weir's table
	}
}

// run writes batches until ctx ends.
func (w *setWriter) run(ctx context.Context) {
	var batch strings.Builder
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	flush := func() {
		if batch.Len() == 0 {
			return
		}
		cmd := exec.Command("nft", "-f", "-")
		cmd.Stdin = strings.NewReader(batch.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			w.logf("enforce: nft add element: %v: %s", err, strings.TrimSpace(string(out)))
		}
		batch.Reset()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-w.ch:
			// Publish at once: every millisecond a flow waits here its
			// packets take the slow path. Take what else is pending first.
			batch.WriteString(line)
			for more := true; more && batch.Len() < 64<<10; {
				select {
				case l := <-w.ch:
					batch.WriteString(l)
				default:
					more = false
				}
			}
			flush()
		case <-t.C:
			flush()
		}
	}
}
