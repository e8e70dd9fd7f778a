package enforce

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// nfqFlagBypass is NFQ_FLAG_BYPASS: without a listener, packets pass.
const nfqFlagBypass = 0x01

// addQueueRules appends, to Weir's own nftables chain, the rules that send
// unmarked TCP and UDP packets (flows in no set) to NFQUEUE. nftables' native
// queue statement is not built into these kernels, so the rule carries the
// xtables NFQUEUE target (revision 3) through nft_compat; keeping it in
// Weir's chain spares every forwarded packet a second base chain.
func addQueueRules(queue uint16, bypass bool) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("enforce: nftables: %w", err)
	}
	tbl := &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
	ch := &nftables.Chain{Name: "forward", Table: tbl}
	// struct xt_NFQ_info_v3 { __u16 queuenum; __u16 queues_total; __u16 flags; },
	// host byte order, padded to 8 bytes (XT_ALIGN).
	info := make([]byte, 8)
	binary.NativeEndian.PutUint16(info[0:], queue)
	binary.NativeEndian.PutUint16(info[2:], 1)
	if bypass {
		binary.NativeEndian.PutUint16(info[4:], nfqFlagBypass)
	}
	for _, proto := range []byte{6, 17} {
		unk := xt.Unknown(info)
		c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 0, 0, 0}},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Target{Name: "NFQUEUE", Rev: 3, Info: &unk},
		}})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("enforce: add NFQUEUE rules: %w", err)
	}
	return nil
}
