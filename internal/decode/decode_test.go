package decode

import (
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
)

// Annotated packet pieces shared by the table below.
const (
	macs = `
02 00 00 00 00 02  02 00 00 00 00 01   # dst, src MAC
`
	ethIPv4 = macs + "08 00  # IPv4\n"
	ethIPv6 = macs + "86 dd  # IPv6\n"

	// 192.0.2.1:12345 -> 192.0.2.2:53 UDP "abcd" (32 bytes)
	ipv4UDP = `
45 00 00 20  12 34 00 00  40 11 00 00   # v4 ihl=5 len=32 id=0x1234 ttl=64 proto=UDP
c0 00 02 01  c0 00 02 02                # 192.0.2.1 -> 192.0.2.2
30 39 00 35  00 0c 00 00                # UDP 12345 -> 53 len=12
61 62 63 64                             # "abcd"
`
	// 192.0.2.1:54321 -> 192.0.2.2:443 TCP PSH|ACK "hi" (42 bytes)
	ipv4TCP = `
45 00 00 2a  12 34 40 00  40 06 00 00   # len=42 DF ttl=64 proto=TCP
c0 00 02 01  c0 00 02 02
d4 31 01 bb  00 00 00 01  00 00 00 02   # 54321 -> 443 seq=1 ack=2
50 18 ff ff  00 00 00 00                # off=5 PSH|ACK win=65535
68 69                                   # "hi"
`
	// [2001:db8::1]:12345 -> [2001:db8::2]:53 UDP "abcd" (52 bytes)
	ipv6UDP = `
60 00 00 00  00 0c 11 40                # v6 plen=12 nh=UDP hlim=64
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01   # 2001:db8::1
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02   # 2001:db8::2
30 39 00 35  00 0c 00 00  61 62 63 64   # UDP 12345 -> 53 "abcd"
`
	// Inner packets for tunnels, on other addresses to prove which one won.
	// 10.0.0.1:54321 -> 10.0.0.2:443 TCP SYN "hi" (42 bytes)
	inner4TCP = `
45 00 00 2a  00 07 00 00  3f 06 00 00   # inner v4 len=42 proto=TCP
0a 00 00 01  0a 00 00 02                # 10.0.0.1 -> 10.0.0.2
d4 31 01 bb  00 00 00 01  00 00 00 00   # 54321 -> 443
50 02 ff ff  00 00 00 00                # SYN
68 69
`
	// [2001:db8:1::1]:40000 -> [2001:db8:1::2]:53 UDP "abcd" (52 bytes)
	inner6UDP = `
60 00 00 00  00 0c 11 3f                # inner v6 plen=12 nh=UDP
20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 02
9c 40 00 35  00 0c 00 00  61 62 63 64   # UDP 40000 -> 53 "abcd"
`
	innerEth = macs + "08 00  # inner Ethernet, IPv4\n"
)

var (
	v4UDP  = view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 17, SPort: 12345, DPort: 53, Payload: "abcd"}
	v4TCP  = view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 6, SPort: 54321, DPort: 443, Flags: 0x18, Payload: "hi"}
	v6UDP  = view{Res: OK, Family: 6, Src: "2001:db8::1", Dst: "2001:db8::2", Proto: 17, SPort: 12345, DPort: 53, Payload: "abcd"}
	in4TCP = view{Res: OK, Family: 4, Src: "10.0.0.1", Dst: "10.0.0.2", Proto: 6, SPort: 54321, DPort: 443, Flags: 0x02, Payload: "hi"}
	in6UDP = view{Res: OK, Family: 6, Src: "2001:db8:1::1", Dst: "2001:db8:1::2", Proto: 17, SPort: 40000, DPort: 53, Payload: "abcd"}
)

func with(v view, f func(*view)) view { f(&v); return v }
func vlan(id uint16) func(*view)      { return func(v *view) { v.VLAN = id } }
func tun(t Tunnel, id uint16) func(*view) {
	return func(v *view) { v.Tunnel, v.VLAN = t, id }
}
func bad(r Reason) view { return view{Res: Malformed, Reason: r} }

var notIP = view{Res: NotIP}

type tcase struct {
	name  string
	link  capture.LinkType
	frame string
	wire  int // 0: len(frame)
	want  view
}

var linkCases = []tcase{
	{"ethernet/ipv4-udp", capture.LinkEthernet, ethIPv4 + ipv4UDP, 0, v4UDP},
	{"ethernet/ipv4-tcp-padded", capture.LinkEthernet, ethIPv4 + ipv4TCP + "00 00 00 00  # Ethernet padding to 60 bytes", 0, v4TCP},
	{"ethernet/ipv6-udp", capture.LinkEthernet, ethIPv6 + ipv6UDP, 0, v6UDP},
	{"ethernet/802.3-stp", capture.LinkEthernet, `
01 80 c2 00 00 00  02 00 00 00 00 01   # STP multicast
00 26                                  # 802.3 length=38
42 42 03  00 00 00 00                  # LLC: DSAP/SSAP=STP, UI; BPDU...`, 0, notIP},
	{"ethernet/arp", capture.LinkEthernet, macs + `
08 06                                  # ARP
00 01 08 00 06 04 00 01                # Ethernet/IPv4 request`, 0, notIP},
	{"ethernet/lldp", capture.LinkEthernet, macs + "88 cc  02 07 04 00 00 00 00 00 01", 0, notIP},
	{"ethernet/eapol", capture.LinkEthernet, macs + "88 8e  01 00 00 00", 0, notIP},
	{"ethernet/pppoe-discovery", capture.LinkEthernet, macs + "88 63  11 09 00 00 00 00", 0, notIP},
	{"ethernet/other-ethertype", capture.LinkEthernet, macs + "88 b5  de ad be ef", 0, notIP},
	{"ethernet/short", capture.LinkEthernet, "02 00 00 00 00 02  02 00 00 00 00 01  08", 0, bad(ShortEthernet)},

	{"null/le-ipv4", capture.LinkNull, "02 00 00 00  # AF_INET, little-endian writer" + ipv4UDP, 0, v4UDP},
	{"null/be-ipv4", capture.LinkNull, "00 00 00 02  # AF_INET, big-endian writer" + ipv4UDP, 0, v4UDP},
	{"null/be-ipv6-darwin", capture.LinkNull, "00 00 00 1e  # AF_INET6=30 (Darwin), big-endian" + ipv6UDP, 0, v6UDP},
	{"null/le-ipv6-openbsd", capture.LinkNull, "18 00 00 00  # AF_INET6=24" + ipv6UDP, 0, v6UDP},
	{"null/le-ipv6-freebsd", capture.LinkNull, "1c 00 00 00  # AF_INET6=28" + ipv6UDP, 0, v6UDP},
	{"null/other-family", capture.LinkNull, "07 00 00 00  de ad", 0, notIP},
	{"null/short", capture.LinkNull, "02 00 00", 0, bad(ShortLinkHeader)},
	{"loop/ipv4", capture.LinkLoop, "00 00 00 02  # AF_INET, network order" + ipv4UDP, 0, v4UDP},
	{"loop/ipv6", capture.LinkLoop, "00 00 00 18  # AF_INET6=24" + ipv6UDP, 0, v6UDP},

	{"raw/ipv4", capture.LinkRaw, ipv4UDP, 0, v4UDP},
	{"raw/ipv6", capture.LinkRaw, ipv6UDP, 0, v6UDP},
	{"raw/bad-version", capture.LinkRaw, "55 00 00 14", 0, bad(BadIPVersion)},
	{"raw/empty", capture.LinkRaw, "", 0, bad(BadIPVersion)},
	{"ipv4-link", capture.LinkIPv4, ipv4UDP, 0, v4UDP},
	{"ipv6-link", capture.LinkIPv6, ipv6UDP, 0, v6UDP},
	{"ipv4-link/carrying-v6", capture.LinkIPv4, ipv6UDP, 0, bad(BadIPVersion)},

	{"sll/ipv4", capture.LinkSLL, `
00 00                      # packet type: to us
00 01                      # ARPHRD_ETHER
00 06                      # address length
02 00 00 00 00 01 00 00    # address, padded to 8
08 00                      # protocol: IPv4` + ipv4UDP, 0, v4UDP},
	{"sll/vlan", capture.LinkSLL, `
00 00 00 01 00 06  02 00 00 00 00 01 00 00
81 00                      # protocol: 802.1Q, tag follows
00 64  08 00               # VLAN 100, IPv4` + ipv4UDP, 0, with(v4UDP, vlan(100))},
	{"sll/netlink", capture.LinkSLL, "00 04  03 38  00 00  00 00 00 00 00 00 00 00  00 00  # ARPHRD_NETLINK\n 14 00 00 00", 0, notIP},
	{"sll/llc", capture.LinkSLL, "00 00 00 01 00 06 02 00 00 00 00 01 00 00  00 04  # 802.2 LLC\n 42 42 03", 0, notIP},
	{"sll/short", capture.LinkSLL, "00 00 00 01 00 06 02 00", 0, bad(ShortLinkHeader)},
	{"sll2/ipv6", capture.LinkSLL2, `
86 dd  00 00               # protocol: IPv6, reserved
00 00 00 02                # interface index
00 01  00  06              # ARPHRD_ETHER, packet type, address length
02 00 00 00 00 01 00 00    # address` + ipv6UDP, 0, v6UDP},
	{"sll2/qinq", capture.LinkSLL2, `
88 a8  00 00  00 00 00 02  00 01 00 06  02 00 00 00 00 01 00 00   # protocol: 802.1ad
01 a5  81 00               # S-tag 421, then a C-tag
03 11  08 00               # C-tag 785, IPv4` + ipv4UDP, 0, with(v4UDP, vlan(785))},
	{"sll2/short", capture.LinkSLL2, "08 00 00 00", 0, bad(ShortLinkHeader)},
	{"unsupported-link", capture.LinkType(105), "80 00 00 00", 0, bad(UnsupportedLink)},
}

var vlanCases = []tcase{
	{"vlan/1", capture.LinkEthernet, macs + "81 00  00 64  # VLAN 100\n 08 00" + ipv4UDP, 0, with(v4UDP, vlan(100))},
	{"vlan/priority-tag", capture.LinkEthernet, macs + "81 00  a0 00  # PCP 5, VLAN 0\n 08 00" + ipv4UDP, 0, v4UDP},
	{"vlan/qinq-88a8", capture.LinkEthernet, macs + `
88 a8  01 a5               # S-tag 421
81 00  03 11               # C-tag 785: the flow's VLAN, as nDPI reports it
08 00` + ipv4UDP, 0, with(v4UDP, vlan(785))},
	{"vlan/3-9100", capture.LinkEthernet, macs + `
91 00  00 0a               # old QinQ TPID, VLAN 10
88 a8  00 14               # VLAN 20
81 00  f0 1e               # PCP 7 DEI 1, VLAN 30
86 dd` + ipv6UDP, 0, with(v6UDP, vlan(30))},
	{"vlan/8", capture.LinkEthernet, macs + strings.Repeat("81 00  00 08\n", 8) + "08 00" + ipv4UDP, 0, with(v4UDP, vlan(8))},
	{"vlan/9-too-deep", capture.LinkEthernet, macs + strings.Repeat("81 00  00 09\n", 9) + "08 00" + ipv4UDP, 0, bad(VLANTooDeep)},
	{"vlan/short", capture.LinkEthernet, macs + "81 00  00", 0, bad(ShortVLAN)},
	{"vlan/802.3-inside", capture.LinkEthernet, macs + "81 00 00 64  00 26  42 42 03", 0, notIP},
}

var ipCases = []tcase{
	{"ipv4/options", capture.LinkRaw, `
46 00 00 24  12 34 00 00  40 11 00 00   # ihl=6 (24 bytes) len=36
c0 00 02 01  c0 00 02 02
01 01 01 00                             # options: NOP NOP NOP EOL
30 39 00 35  00 0c 00 00  61 62 63 64`, 0, v4UDP},
	{"ipv4/ihl-too-small", capture.LinkRaw, `
44 00 00 20  12 34 00 00  40 11 00 00   # ihl=4 (16 bytes)
c0 00 02 01  c0 00 02 02  30 39 00 35  00 0c 00 00  61 62 63 64`, 0, bad(BadIPv4HeaderLength)},
	{"ipv4/ihl-past-data", capture.LinkRaw, `
4f 00 00 20  12 34 00 00  40 11 00 00   # ihl=15 (60 bytes) in a 32-byte packet
c0 00 02 01  c0 00 02 02  30 39 00 35  00 0c 00 00  61 62 63 64`, 0, bad(BadIPv4HeaderLength)},
	{"ipv4/total-length-past-frame", capture.LinkRaw, `
45 00 00 40  12 34 00 00  40 11 00 00   # len=64 but the whole frame is 32
c0 00 02 01  c0 00 02 02  30 39 00 35  00 0c 00 00  61 62 63 64`, 0, bad(IPv4TotalLength)},
	{"ipv4/total-length-below-header", capture.LinkRaw, `
45 00 00 10  12 34 00 00  40 11 00 00   # len=16 < ihl
c0 00 02 01  c0 00 02 02  30 39 00 35  00 0c 00 00  61 62 63 64`, 0, bad(IPv4TotalLength)},
	{"ipv4/snaplen-truncated", capture.LinkRaw, `
45 00 00 40  12 34 00 00  40 11 00 00   # len=64, capture cut at 32 (wire 64)
c0 00 02 01  c0 00 02 02
30 39 00 35  00 2c 00 00  61 62 63 64   # UDP len=44`, 64, with(v4UDP, func(v *view) { v.WireLen = 64 })},
	{"ipv4/short", capture.LinkRaw, "45 00 00 20 12 34 00 00 40 11 00 00 c0 00 02 01 c0 00 02", 0, bad(ShortIPv4)},
	{"ipv4/esp", capture.LinkRaw, `
45 00 00 1c  12 34 00 00  40 32 00 00   # proto=ESP
c0 00 02 01  c0 00 02 02
00 00 10 01  00 00 00 05                # SPI, sequence`, 0,
		view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 50, Payload: "\x00\x00\x10\x01\x00\x00\x00\x05"}},
	{"ipv4/igmp", capture.LinkRaw, `
46 00 00 20  00 00 40 00  01 02 00 00   # ihl=6 proto=IGMP
c0 00 02 01  e0 00 00 16  94 04 00 00   # -> 224.0.0.22, router alert
22 00 fa 02  00 00 00 00`, 0,
		view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "224.0.0.22", Proto: 2, Payload: "\x22\x00\xfa\x02\x00\x00\x00\x00"}},

	{"ipv6/ext-chain", capture.LinkRaw, `
60 00 00 00  00 46 00 40                # plen=70 nh=hop-by-hop
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
3c 00 01 04 00 00 00 00                 # HBH: next=dest-opts len=0, PadN(4)
2b 00 01 04 00 00 00 00                 # dest opts: next=routing
33 00 04 00 00 00 00 00                 # routing: next=AH type=4 segleft=0
06 04 00 00  00 00 01 00  00 00 00 01   # AH: next=TCP len=4 (24 bytes) SPI seq
00 00 00 00  00 00 00 00  00 00 00 00   # ICV
d4 31 01 bb  00 00 00 01  00 00 00 02  50 02 ff ff 00 00 00 00   # TCP SYN
68 69`, 0, view{Res: OK, Family: 6, Src: "2001:db8::1", Dst: "2001:db8::2", Proto: 6, SPort: 54321, DPort: 443, Flags: 2, Payload: "hi"}},
	{"ipv6/mobility", capture.LinkRaw, `
60 00 00 00  00 08 87 40                # plen=8 nh=mobility
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
3b 00 05 00 00 00 00 00                 # MH: payload proto=none len=0 type=5`, 0,
		view{Res: OK, Family: 6, Src: "2001:db8::1", Dst: "2001:db8::2", Proto: 59}},
	{"ipv6/atomic-fragment", capture.LinkRaw, `
60 00 00 00  00 14 2c 40                # plen=20 nh=fragment
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
11 00 00 00  00 00 ab cd                # fragment: next=UDP offset=0 M=0
30 39 00 35  00 0c 00 00  61 62 63 64`, 0, v6UDP},
	{"ipv6/too-many-ext", capture.LinkRaw, `
60 00 00 00  00 48 3c 40                # plen=72 nh=dest-opts
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02` + strings.Repeat("3c 00 01 04 00 00 00 00  # dest opts -> dest opts\n", 9), 0, bad(BadIPv6Extension)},
	{"ipv6/ext-past-end", capture.LinkRaw, `
60 00 00 00  00 08 00 40                # plen=8 nh=hop-by-hop
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
11 01 01 04 00 00 00 00                 # HBH len=1 says 16 bytes`, 0, bad(BadIPv6Extension)},
	{"ipv6/payload-length-past-frame", capture.LinkRaw, `
60 00 00 00  00 40 11 40                # plen=64, frame holds 12
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
30 39 00 35  00 0c 00 00  61 62 63 64`, 0, bad(IPv6PayloadLength)},
	{"ipv6/short", capture.LinkRaw, "60 00 00 00 00 0c 11 40 20 01", 0, bad(ShortIPv6)},

	{"icmp/echo", capture.LinkRaw, `
45 00 00 20  00 01 00 00  40 01 00 00   # proto=ICMP
c0 00 02 01  c0 00 02 02
08 00 00 00  12 34 00 01                # echo request id=0x1234 seq=1
61 62 63 64`, 0, view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 1, SPort: 0x0800, DPort: 0x1234, Payload: "abcd"}},
	{"icmp/unreachable", capture.LinkRaw, `
45 00 00 20  00 01 00 00  40 01 00 00
c0 00 02 01  c0 00 02 02
03 01 00 00  00 00 00 00                # host unreachable: no id
61 62 63 64`, 0, view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 1, SPort: 0x0301, Payload: "abcd"}},
	{"icmp/short", capture.LinkRaw, `
45 00 00 17  00 01 00 00  40 01 00 00  c0 00 02 01  c0 00 02 02
08 00 00                                # 3 bytes of ICMP`, 0, bad(ShortICMP)},
	{"icmpv6/echo", capture.LinkRaw, `
60 00 00 00  00 0c 3a 40                # nh=ICMPv6
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
80 00 00 00  be ef 00 01  61 62 63 64   # echo request id=0xbeef`, 0,
		view{Res: OK, Family: 6, Src: "2001:db8::1", Dst: "2001:db8::2", Proto: 58, SPort: 0x8000, DPort: 0xbeef, Payload: "abcd"}},
	{"icmpv6/neighbor-solicitation", capture.LinkRaw, `
60 00 00 00  00 0c 3a ff
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
87 00 00 00  00 00 00 00  61 62 63 64   # NS: no id`, 0,
		view{Res: OK, Family: 6, Src: "2001:db8::1", Dst: "2001:db8::2", Proto: 58, SPort: 0x8700, Payload: "abcd"}},
	{"tcp/options", capture.LinkRaw, `
45 00 00 36  12 34 40 00  40 06 00 00   # len=54
c0 00 02 01  c0 00 02 02
d4 31 01 bb  00 00 00 01  00 00 00 02
80 18 ff ff  00 00 00 00                # off=8 (32 bytes)
02 04 05 b4  01 03 03 07  04 02 00 00   # MSS NOP WS SACK-permitted EOL
68 69`, 0, v4TCP},
	{"tcp/short", capture.LinkRaw, `
45 00 00 20  12 34 40 00  40 06 00 00  c0 00 02 01  c0 00 02 02
d4 31 01 bb  00 00 00 01  00 00 00 02   # 12 bytes of TCP`, 0, bad(ShortTCP)},
	{"tcp/offset-below-20", capture.LinkRaw, `
45 00 00 28  12 34 40 00  40 06 00 00  c0 00 02 01  c0 00 02 02
d4 31 01 bb  00 00 00 01  00 00 00 02  40 02 ff ff 00 00 00 00   # off=4`, 0, bad(BadTCPOffset)},
	{"tcp/offset-past-end", capture.LinkRaw, `
45 00 00 28  12 34 40 00  40 06 00 00  c0 00 02 01  c0 00 02 02
d4 31 01 bb  00 00 00 01  00 00 00 02  f0 02 ff ff 00 00 00 00   # off=15 (60 bytes)`, 0, bad(BadTCPOffset)},
	{"udp/short", capture.LinkRaw, `
45 00 00 1a  12 34 00 00  40 11 00 00  c0 00 02 01  c0 00 02 02
30 39 00 35  00 06                      # 6 bytes of UDP`, 0, bad(ShortUDP)},
	{"udp/length-shrinks-payload", capture.LinkRaw, `
45 00 00 20  12 34 00 00  40 11 00 00  c0 00 02 01  c0 00 02 02
30 39 00 35  00 0a 00 00  61 62 63 64   # UDP len=10: payload "ab"`, 0, with(v4UDP, func(v *view) { v.Payload = "ab" })},
}

var tunnelCases = []tcase{
	{"gre/ipv4", capture.LinkEthernet, ethIPv4 + `
45 00 00 42  00 01 00 00  40 2f 00 00   # outer len=66 proto=GRE
c0 00 02 01  c0 00 02 02
00 00 08 00                             # GRE v0, no options, IPv4` + inner4TCP, 0, with(in4TCP, tun(TunnelGRE, 0))},
	{"gre/checksum-key-seq", capture.LinkEthernet, ethIPv4 + `
45 00 00 58  00 01 00 00  40 2f 00 00   # len=88
c0 00 02 01  c0 00 02 02
b0 00 86 dd                             # C K S, IPv6
12 34 00 00                             # checksum, reserved
00 00 00 2a                             # key
00 00 00 07                             # sequence` + inner6UDP, 0, with(in6UDP, tun(TunnelGRE, 0))},
	{"gre/transparent-ethernet", capture.LinkEthernet, macs + "81 00 00 0a  08 00  # VLAN 10\n" + `
45 00 00 50  00 01 00 00  40 2f 00 00   # len=80
c0 00 02 01  c0 00 02 02
00 00 65 58                             # GRE: transparent Ethernet bridging` + innerEth + inner4TCP, 0, with(in4TCP, tun(TunnelGRE, 10))},
	{"gre/erspan-not-decapsulated", capture.LinkRaw, `
45 00 00 20  00 01 00 00  40 2f 00 00   # len=32
c0 00 02 01  c0 00 02 02
10 00 88 be  00 00 00 01                # GRE S, ERSPAN II
de ad be ef`, 0, view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 47, Payload: "\x10\x00\x88\xbe\x00\x00\x00\x01\xde\xad\xbe\xef"}},
	{"gre/pptp-ppp-ipv4", capture.LinkRaw, `
45 00 00 52  00 01 00 00  40 2f 00 00   # len=82
c0 00 02 01  c0 00 02 02
30 81 88 0b                             # K S A, version 1, PPP
00 2e 98 50                             # payload length=46, call id
00 00 00 6a  00 00 00 8c                # sequence, acknowledgment
ff 03 00 21                             # PPP address, control, protocol IPv4` + inner4TCP, 0, with(in4TCP, tun(TunnelGRE, 0))},
	{"gre/pptp-compressed-protocol", capture.LinkRaw, `
45 00 00 4b  00 01 00 00  40 2f 00 00   # len=75
c0 00 02 01  c0 00 02 02
30 01 88 0b  00 2b 98 50  00 00 00 6a   # K S, version 1, length=43
21                                      # PPP protocol field compressed: IPv4` + inner4TCP, 0, with(in4TCP, tun(TunnelGRE, 0))},
	{"gre/pptp-lcp", capture.LinkRaw, `
45 00 00 26  00 01 00 00  40 2f 00 00   # len=38
c0 00 02 01  c0 00 02 02
30 01 88 0b  00 06 98 50  00 00 00 01
ff 03 c0 21  01 01                      # PPP LCP: stays the GRE flow`, 0,
		view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 47, Payload: "\x30\x01\x88\x0b\x00\x06\x98\x50\x00\x00\x00\x01\xff\x03\xc0\x21\x01\x01"}},
	{"gre/short", capture.LinkRaw, `
45 00 00 17  00 01 00 00  40 2f 00 00  c0 00 02 01  c0 00 02 02
00 00 08                                # 3 bytes of GRE`, 0, bad(ShortGRE)},
	{"gre/key-past-end", capture.LinkRaw, `
45 00 00 1a  00 01 00 00  40 2f 00 00  c0 00 02 01  c0 00 02 02
20 00 08 00  00 00                      # K set, 2 of 4 key bytes`, 0, bad(ShortGRE)},

	{"vxlan/ipv4", capture.LinkEthernet, macs + "81 00 00 05  08 00  # VLAN 5\n" + `
45 00 00 5c  00 01 00 00  40 11 00 00   # outer len=92 UDP
c0 a8 16 04  c0 a8 16 05                # 192.168.22.4 -> .5
c0 00 12 b5  00 48 00 00                # UDP 49152 -> 4789 len=72
08 00 00 00  00 04 57 00                # VXLAN: I flag, VNI 1111` + innerEth + inner4TCP, 0, with(in4TCP, tun(TunnelVXLAN, 5))},
	{"vxlan/inner-vlan-wins", capture.LinkEthernet, macs + "81 00 00 05  08 00  # VLAN 5\n" + `
45 00 00 60  00 01 00 00  40 11 00 00   # len=96
c0 a8 16 04  c0 a8 16 05
c0 00 12 b5  00 4c 00 00                # len=76
08 00 00 00  00 04 57 00` + macs + "81 00 00 07  08 00  # inner VLAN 7\n" + inner4TCP, 0, with(in4TCP, tun(TunnelVXLAN, 7))},
	{"vxlan/no-i-flag-is-plain-udp", capture.LinkRaw, `
45 00 00 24  00 01 00 00  40 11 00 00  c0 00 02 01  c0 00 02 02
c0 00 12 b5  00 10 00 00                # UDP 49152 -> 4789
00 00 00 00  00 00 00 00                # flags without I`, 0,
		view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 17, SPort: 49152, DPort: 4789, Payload: "\x00\x00\x00\x00\x00\x00\x00\x00"}},
	{"vxlan/inner-arp", capture.LinkRaw, `
45 00 00 3a  00 01 00 00  40 11 00 00  c0 00 02 01  c0 00 02 02   # len=58
c0 00 12 b5  00 26 00 00                # len=38
08 00 00 00  00 04 57 00` + macs + "08 06  00 01 08 00 06 04 00 01  # inner ARP", 0, notIP},
	{"vxlan/inner-short-ethernet", capture.LinkRaw, `
45 00 00 2c  00 01 00 00  40 11 00 00  c0 00 02 01  c0 00 02 02
c0 00 12 b5  00 18 00 00
08 00 00 00  00 04 57 00  02 00 00 00 00 02 02 00   # 8 bytes of inner Ethernet`, 0, bad(ShortEthernet)},

	{"gtpu/ipv6", capture.LinkEthernet, ethIPv4 + `
45 00 00 58  00 01 00 00  ff 11 00 00   # len=88 UDP
0a ee 50 1a  0a ee fe 4b                # 10.238.80.26 -> 10.238.254.75
08 68 08 68  00 44 00 00                # UDP 2152 -> 2152 len=68
30 ff 00 34  12 80 8f b8                # GTPv1 PT, T-PDU, length=52, TEID` + inner6UDP, 0, with(in6UDP, tun(TunnelGTPU, 0))},
	{"gtpu/sequence", capture.LinkRaw, `
45 00 00 5c  00 01 00 00  ff 11 00 00  0a ee 50 1a  0a ee fe 4b   # len=92
08 68 08 68  00 48 00 00                # len=72
32 ff 00 38  12 80 8f b8                # S flag, length=56
00 01 00 00                             # sequence=1, N-PDU, next ext=none` + inner6UDP, 0, with(in6UDP, tun(TunnelGTPU, 0))},
	{"gtpu/extension-pdu-session", capture.LinkRaw, `
45 00 00 56  00 01 00 00  ff 11 00 00  0a ee 50 1a  0a ee fe 4b   # len=86
c3 50 08 68  00 42 00 00                # UDP 50000 -> 2152 len=66
34 ff 00 32  12 80 8f b8                # E flag, length=50
00 00 00 85                             # sequence, N-PDU, next ext=PDU session container
01 00 09 00                             # ext: len=1 (4 bytes), DL, QFI=9, next=none` + inner4TCP, 0, with(in4TCP, tun(TunnelGTPU, 0))},
	{"gtpu/echo-is-plain-udp", capture.LinkRaw, `
45 00 00 28  00 01 00 00  ff 11 00 00  0a ee 50 1a  0a ee fe 4b   # len=40
08 68 08 68  00 14 00 00
32 01 00 04  00 00 00 00  00 01 00 00   # echo request`, 0,
		view{Res: OK, Family: 4, Src: "10.238.80.26", Dst: "10.238.254.75", Proto: 17, SPort: 2152, DPort: 2152, Payload: "\x32\x01\x00\x04\x00\x00\x00\x00\x00\x01\x00\x00"}},
	{"gtpu/zero-extension-length", capture.LinkRaw, `
45 00 00 2c  00 01 00 00  ff 11 00 00  0a ee 50 1a  0a ee fe 4b   # len=44
08 68 08 68  00 18 00 00
34 ff 00 08  12 80 8f b8  00 00 00 85
00 00 00 00                             # ext len=0: invalid`, 0, bad(BadGTP)},
	{"gtpu/length-past-end", capture.LinkRaw, `
45 00 00 24  00 01 00 00  ff 11 00 00  0a ee 50 1a  0a ee fe 4b
08 68 08 68  00 10 00 00
30 ff 00 ff  12 80 8f b8                # length=255, nothing follows`, 0, bad(BadGTP)},

	{"ipip/4in4", capture.LinkRaw, `
45 00 00 3e  00 01 00 00  40 04 00 00   # len=62 proto=IPIP
c0 00 02 01  c0 00 02 02` + inner4TCP, 0, with(in4TCP, tun(TunnelIPinIP, 0))},
	{"ipip/6in4", capture.LinkRaw, `
45 00 00 48  00 01 00 00  40 29 00 00   # len=72 proto=IPv6
c0 00 02 01  c0 00 02 02` + inner6UDP, 0, with(in6UDP, tun(TunnelIPinIP, 0))},
	{"ipip/4in6", capture.LinkRaw, `
60 00 00 00  00 2a 04 40                # plen=42 nh=IPv4
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02` + inner4TCP, 0, with(in4TCP, tun(TunnelIPinIP, 0))},
	{"ipip/6in6", capture.LinkRaw, `
60 00 00 00  00 34 29 40                # plen=52 nh=IPv6
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02` + inner6UDP, 0, with(in6UDP, tun(TunnelIPinIP, 0))},
	{"ipip/gre-then-vxlan-outermost-wins", capture.LinkRaw, `
45 00 00 76  00 01 00 00  40 2f 00 00   # len=118 GRE
c0 00 02 01  c0 00 02 02
00 00 08 00
45 00 00 5e  00 01 00 00  40 11 00 00   # len=94 UDP
c0 a8 16 04  c0 a8 16 05
c0 00 12 b5  00 4a 00 00                # -> 4789 len=74
08 00 00 00  00 04 57 00` + innerEth + inner4TCP + "00 00  # trailer past the inner packet", 0, with(in4TCP, tun(TunnelGRE, 0))},

	{"mpls/ipv4", capture.LinkEthernet, macs + `
88 47                                   # MPLS unicast
00 01 01 40                             # label 16, bottom of stack, TTL 64` + ipv4UDP, 0, v4UDP},
	{"mpls/two-labels-ipv6", capture.LinkEthernet, macs + `
88 47  00 01 00 40  00 02 01 40         # labels 16, 32 (bottom)` + ipv6UDP, 0, v6UDP},
	{"mpls/pseudowire", capture.LinkEthernet, macs + "88 47  00 01 01 40  00 00 00 00  # control word", 0, notIP},
	{"mpls/too-many-labels", capture.LinkEthernet, macs + "88 47" + strings.Repeat("  00 01 00 40", 9), 0, bad(BadMPLS)},
	{"pppoe/ipv4", capture.LinkEthernet, macs + `
88 64                                   # PPPoE session
11 00 00 01 00 22                       # ver/type, code, session 1, length=34
00 21                                   # PPP: IPv4` + ipv4UDP, 0, v4UDP},
	{"pppoe/lcp", capture.LinkEthernet, macs + "88 64  11 00 00 01 00 06  c0 21 01 01 00 04  # PPP LCP", 0, notIP},
	{"pppoe/short", capture.LinkEthernet, macs + "88 64  11 00 00", 0, bad(ShortPPPoE)},
}

func allCases() []tcase {
	var all []tcase
	for _, cs := range [][]tcase{linkCases, vlanCases, ipCases, tunnelCases} {
		all = append(all, cs...)
	}
	return all
}

func TestDecodeTable(t *testing.T) {
	for _, tc := range allCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, DefaultConfig())
			frame := hx(tc.frame)
			wire := tc.wire
			if wire == 0 {
				wire = len(frame)
			}
			want := tc.want
			if want.Res == OK {
				if want.Frames == 0 {
					want.Frames = 1
				}
				if want.WireLen == 0 {
					want.WireLen = wire
				}
			}
			var p Parsed
			r := d.Decode(tc.link, frame, wire, 1, &p)
			diffView(t, viewOf(r, d, &p), want)
			st := d.Stats()
			if st.Results[r] != 1 {
				t.Errorf("Stats.Results[%v] = %d, want 1", r, st.Results[r])
			}
			if r == Malformed && st.Reasons[want.Reason] != 1 {
				t.Errorf("Stats.Reasons[%v] = %d, want 1", want.Reason, st.Reasons[want.Reason])
			}
		})
	}
}

// nest wraps an inner IPv4 packet in n IP-in-IP headers.
func nest(n int, inner []byte) []byte {
	for range n {
		inner = cat(ipv4Hdr(4, 9, 0, false, len(inner)), inner)
	}
	return inner
}

func TestTunnelDepth(t *testing.T) {
	inner := cat(ipv4Hdr(17, 1, 0, false, 12), udpHdr(1, 2, 4), []byte("abcd"))
	for _, tc := range []struct {
		n    int
		want Result
	}{{MaxTunnelDepth, OK}, {MaxTunnelDepth + 1, Malformed}} {
		d := mustNew(t, DefaultConfig())
		var p Parsed
		f := nest(tc.n, inner)
		if r := d.Decode(capture.LinkRaw, f, len(f), 0, &p); r != tc.want {
			t.Errorf("%d levels: got %v (%v), want %v", tc.n, r, d.LastReason(), tc.want)
		}
		if tc.want == Malformed && d.LastReason() != TunnelTooDeep {
			t.Errorf("%d levels: reason %v, want tunnel-too-deep", tc.n, d.LastReason())
		}
	}
}

func TestStrings(t *testing.T) {
	seen := map[string]bool{}
	for r := range Reason(NumReasons) {
		s := r.String()
		if s == "" || s == "reason-invalid" || seen[s] {
			t.Errorf("Reason(%d).String() = %q", r, s)
		}
		seen[s] = true
	}
	if Reason(NumReasons).String() != "reason-invalid" || Result(NumResults).String() != "result-invalid" ||
		NotIPKind(NumNotIPKinds).String() != "kind-invalid" {
		t.Error("out-of-range String()")
	}
	for k := range NotIPKind(NumNotIPKinds) {
		if k.String() == "" {
			t.Errorf("NotIPKind(%d) has no name", k)
		}
	}
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{MaxFragDatagrams: -1}); err == nil {
		t.Error("negative MaxFragDatagrams accepted")
	}
	if _, err := New(Config{FragTimeout: -1}); err == nil {
		t.Error("negative FragTimeout accepted")
	}
	d := mustNew(t, Config{Reassemble: true})
	if d.cfg.MaxFragDatagrams != DefaultMaxFragDatagrams || d.cfg.FragTimeout != DefaultFragTimeout {
		t.Errorf("zero config not defaulted: %+v", d.cfg)
	}
}
