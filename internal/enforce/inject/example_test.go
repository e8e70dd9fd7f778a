package inject_test

import (
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/enforce/inject"
	"github.com/weirnet/weir/internal/marker"
)

func ExampleTCPReset() {
	// 192.0.2.1:50000 -> 198.51.100.7:443, seq 1000 ack 7000, PSH|ACK, 5 bytes.
	pkt, _ := hex.DecodeString("4500002d000100004006f6c9c0000201c6336407" +
		"c35001bb000003e800001b58501801f600000000" + "68656c6c6f")
	d, _ := decode.New(decode.DefaultConfig())
	var p decode.Parsed
	d.Decode(capture.LinkRaw, pkt, len(pkt), 0, &p)

	toClient, toServer := inject.TCPReset(pkt, &p, "block-social", "https://notices.example/weir")
	for _, b := range [][]byte{toClient, toServer} {
		var q decode.Parsed
		d.Decode(capture.LinkRaw, b, len(b), 0, &q)
		rule, notice, _ := marker.ParseRST(q.Payload)
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(q.Src[:4])), q.SrcPort)
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(q.Dst[:4])), q.DstPort)
		fmt.Printf("%v -> %v id %#x flags %#02x seq %d ack %d rule %s notice %s\n",
			src, dst, q.IPID, q.TCPFlags, q.TCPSeq, q.TCPAck, rule, notice)
	}
	// Output:
	// 198.51.100.7:443 -> 192.0.2.1:50000 id 0x5745 flags 0x14 seq 7000 ack 1005 rule block-social notice https://notices.example/weir
	// 192.0.2.1:50000 -> 198.51.100.7:443 id 0x5745 flags 0x04 seq 1005 ack 0 rule block-social notice https://notices.example/weir
}
