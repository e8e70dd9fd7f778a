package ipfix

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/record"
)

// FuzzRoundTrip encodes an arbitrary record and checks the test decoder
// reads back every field (strings subject to the documented truncation and
// UTF-8 repair).
func FuzzRoundTrip(f *testing.F) {
	f.Add(false, []byte{192, 0, 2, 1, 198, 51, 100, 1}, uint16(40000), uint16(443), uint8(6),
		uint64(1000), uint64(10), uint64(9000), uint64(8), int64(1e18), int64(5e8), uint8(0),
		"block", "no-social", "www.facebook.com", "facebook", "social", uint8(dissect.TLS), uint16(7), 0)
	f.Add(true, []byte("0123456789abcdef0123456789abcdef"), uint16(1), uint16(53), uint8(17),
		uint64(1), uint64(1), uint64(0), uint64(0), int64(-5), int64(0), uint8(3),
		"", "", "ex\xffample.\xc3", "", "", uint8(200), uint16(0), 600)
	f.Add(false, []byte{}, uint16(0), uint16(0), uint8(1), ^uint64(0), ^uint64(0), uint64(0), uint64(0),
		int64(0), int64(1), uint8(9), "drop", strings.Repeat("r€", 200), strings.Repeat("h", 300), "é", "c", uint8(1), uint16(4095), 1)
	f.Fuzz(func(t *testing.T, v6 bool, addrs []byte, sp, dp uint16, l4 uint8,
		cb, cp, sb, spk uint64, first, dur int64, end uint8,
		verdict, rule, host, app, category string, proto uint8, vlan uint16, mtuSel int) {
		var c, s netip.Addr
		if v6 {
			var a [32]byte
			copy(a[:], addrs)
			c, s = netip.AddrFrom16([16]byte(a[:16])), netip.AddrFrom16([16]byte(a[16:]))
			if c.Is4In6() && s.Is4In6() {
				c = netip.AddrFrom16([16]byte{0x20, 1})
			}
		} else {
			var a [8]byte
			copy(a[:], addrs)
			c, s = netip.AddrFrom4([4]byte(a[:4])), netip.AddrFrom4([4]byte(a[4:]))
		}
		var cls *classify.Result
		if proto != 0 {
			cls = &classify.Result{App: app, Category: category, Host: host}
			cls.Meta.Proto = dissect.Proto(proto)
		}
		r := &record.Record{
			L4: l4, Client: netip.AddrPortFrom(c, sp), Server: netip.AddrPortFrom(s, dp), VLAN: vlan,
			First: first, Last: first + dur, C2SBytes: cb, C2SPackets: cp, S2CBytes: sb, S2CPackets: spk,
			End: flow.EndReason(end), Class: cls, Verdict: verdict, Rule: rule,
		}
		mtu := []int{512, 1400, 9000}[uint(mtuSel)%3]
		msgs := encodeAll(t, Config{MTU: mtu, QueueLen: 4}, r, r)
		dm, got := decodeAll(t, msgs)
		want := 2
		if spk > 0 {
			want = 4
		}
		if len(got) != want {
			t.Fatalf("%d records, want %d", len(got), want)
		}
		for _, m := range dm {
			if int(m.length) > mtu {
				t.Fatalf("message %d bytes > MTU %d", m.length, mtu)
			}
		}
		strMax := stringCap(mtu)
		checkStr := func(name, got, in string) {
			if !utf8.ValidString(got) || len(got) > strMax {
				t.Fatalf("%s %q: invalid or over %d bytes", name, got, strMax)
			}
			if utf8.ValidString(in) {
				if len(in) <= strMax && got != in {
					t.Fatalf("%s = %q, want %q", name, got, in)
				}
				if len(in) > strMax && (!strings.HasPrefix(in, got) || len(got) < strMax-3) {
					t.Fatalf("%s = %q, not a long prefix of %q", name, got, in)
				}
			} else if len(in) <= strMax && len(got) != len(in) {
				t.Fatalf("%s repaired to %d bytes from %d", name, len(got), len(in))
			}
		}
		for i, x := range got {
			dir := uint8(1 + i%2)
			if want == 2 {
				dir = 1
			}
			src, dst, ps, pd, b, p := c, s, sp, dp, cb, cp
			if dir == 2 {
				src, dst, ps, pd, b, p = s, c, dp, sp, sb, spk
			}
			if x.Src != src || x.Dst != dst || x.SPort != ps || x.DPort != pd || x.Bytes != b || x.Packets != p {
				t.Fatalf("record %d: %+v", i, x)
			}
			if x.Proto != l4 || x.VLAN != vlan || x.Dir != dir || x.Fwd != ForwardingStatus(verdict) ||
				x.EndReason != EndReason(flow.EndReason(end)) {
				t.Fatalf("record %d scalars: %+v", i, x)
			}
			if x.StartMs != nsToMs(first) || x.EndMs != nsToMs(first+dur) {
				t.Fatalf("record %d times %d %d", i, x.StartMs, x.EndMs)
			}
			checkStr("rule", x.Rule, rule)
			if cls != nil {
				name := app
				if name == "" {
					name = dissect.Proto(proto).String()
				}
				checkStr("appName", x.AppName, name)
				checkStr("host", x.Host, host)
				checkStr("category", x.Categ, category)
				if sel := uint16(x.AppID[5])<<8 | uint16(x.AppID[6]); sel != uint16(proto) {
					t.Fatalf("selector %d, want %d", sel, proto)
				}
			} else if x.AppName != "" || x.Host != "" {
				t.Fatalf("unclassified record carries names: %+v", x)
			}
		}
	})
}
