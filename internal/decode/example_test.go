package decode_test

import (
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
)

func ExampleDecoder_Decode() {
	d, err := decode.New(decode.DefaultConfig())
	if err != nil {
		panic(err)
	}
	// Ethernet, VLAN 100, IPv4 192.0.2.1:12345 -> 192.0.2.2:53 UDP "abcd".
	frame, _ := hex.DecodeString("020000000002020000000001" + "81000064" + "0800" +
		"450000201234000040110000c0000201c0000202" + "30390035000c0000" + "61626364")
	var p decode.Parsed
	r := d.Decode(capture.LinkEthernet, frame, len(frame), 0, &p)
	src := netip.AddrFrom4([4]byte(p.Src[:4]))
	dst := netip.AddrFrom4([4]byte(p.Dst[:4]))
	fmt.Println(r, p.VLAN, p.Proto, netip.AddrPortFrom(src, p.SrcPort), netip.AddrPortFrom(dst, p.DstPort), string(p.Payload))
	fmt.Println(d.Stats().Results[decode.OK])
	// Output:
	// ok 100 17 192.0.2.1:12345 192.0.2.2:53 abcd
	// 1
}
