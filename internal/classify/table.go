package classify

import "github.com/weirnet/weir/internal/dissect"

// probes holds one value of every dissector; a flow borrows one while it is
// being dissected. Reaching a dissector through a pointer into this struct
// makes the interface conversion free.
type probes struct {
}

func (p *probes) reset() {
	for i := range table {
		table[i].get(p).Reset()
	}
}

const (
	onTCP = 1 << iota
	onUDP
)

// entry is one row of the dissector table.
type entry struct {
	name string
	on   uint8 // onTCP|onUDP
	get  func(*probes) dissect.Dissector
}

// table is the dissector order. Earlier rows win ties, so the most specific
// and cheapest-to-reject dissectors come first.
var table = []entry{}

// candidates returns the bitmask of table rows that apply to an L4 protocol.
func candidates(l4 uint8) (m uint64) {
	var on uint8
	switch l4 {
	case 6:
		on = onTCP
	case 17:
		on = onUDP
	default:
		return 0
	}
	for i, e := range table {
		if e.on&on != 0 {
			m |= 1 << i
		}
	}
	return m
}
