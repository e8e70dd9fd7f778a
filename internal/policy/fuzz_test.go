package policy

import (
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

func FuzzLoad(f *testing.F) {
	if src, err := os.ReadFile("testdata/example.yaml"); err == nil {
		f.Add(src)
	}
	f.Add([]byte("default: allow\n"))
	f.Add([]byte("default: allow\nrules:\n  - {name: a, match: {host: [\".a.test\", \"*.b.test\"], port: 1-9}, action: drop}\n"))
	f.Add([]byte("default: allow\ndns: {block_answer: sinkhole, sinkhole: {a: 192.0.2.1}}\n"))
	f.Add([]byte("default: allow\nrules:\n  - {name: a, when: {from: \"22:00\", to: \"04:00\", tz: Asia/Tokyo}, action: throttle, rate: 1mbit, per: group}\n"))
	f.Add([]byte("x: &a [1]\ny: *a\n"))
	f.Add([]byte("default: allow\nrules: [\n"))
	in := Input{Host: "b.a.test", SNI: "x.b.test", DNSQName: "casino.test", App: "facebook", Category: "video",
		Protocol: dissect.TLS, Client: netip.MustParseAddr("10.200.1.1"), ServerPort: 443, L4: 6, Time: wedEvening}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.yaml", src, fakeCatalog{})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not an ErrorList: %v", err)
			}
			for _, e := range list {
				if e.Msg == "" || e.Line < 0 || e.Col < 0 {
					t.Fatalf("bad error %+v", e)
				}
			}
			return
		}
		v1, w1 := p.Evaluate(&in)
		v2, w2 := oracle(t, src).Evaluate(&in)
		if v1 != v2 || w1.Rule != w2.Rule {
			t.Fatalf("indexed %v %v, oracle %v %v", v1, w1, v2, w2)
		}
		_ = w1.String()
		_ = p.Rules()
	})
}

// fuzzPolicy overlaps host patterns, keywords and conditions so that
// FuzzEvaluate reaches every index and the layer logic.
const fuzzPolicy = `
default: allow
groups: {lab: [10.0.0.0/8, "fd00::/8"]}
rules:
  - {name: r0, match: {host: a.test, l4: tcp}, action: drop}
  - {name: r1, match: {host: .a.test, port: 443}, action: reset}
  - {name: r2, match: {sni: ["*.b.a.test", x.test]}, action: block}
  - {name: r3, match: {dns_qname: .test, group: lab}, action: drop}
  - {name: r4, match: {host_contains: [a.t, casino, bet], protocol: [TLS, QUIC]}, action: block}
  - {name: r5, match: {app: [facebook, youtube], server: [192.0.2.0/24]}, action: drop}
  - {name: r6, match: {category: video}, when: {days: [mon, fri], from: "20:00", to: "02:00", tz: Europe/Minsk}, action: throttle, rate: 1mbit}
  - {name: r7, match: {protocol: DNS, port: 53-54}, action: reset}
  - {name: r8, match: {host: [.test], client: ["2001:db8::/32"]}, action: block}
  - {name: r9, match: {host_contains: test}, action: drop}
`

func FuzzEvaluate(f *testing.F) {
	f.Add("b.a.test", "x.b.a.test", "casino.test", "facebook", "video", uint8(dissect.TLS), []byte{10, 1, 2, 3}, []byte{192, 0, 2, 1}, uint16(443), uint8(6), int64(1715900000))
	f.Add("A.TEST.", "", "", "", "", uint8(0), []byte{}, []byte{}, uint16(0), uint8(17), int64(0))
	f.Add("", "", "x.test", "youtube", "video", uint8(dissect.DNS), []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{}, uint16(53), uint8(17), int64(-1))
	p := mustParse(f, fuzzPolicy)
	o := oracle(f, []byte(fuzzPolicy))
	f.Fuzz(func(t *testing.T, host, sni, qn, app, cat string, proto uint8, client, server []byte, port uint16, l4 uint8, ts int64) {
		c, _ := netip.AddrFromSlice(client)
		s, _ := netip.AddrFromSlice(server)
		in := Input{Host: host, SNI: sni, DNSQName: qn, App: app, Category: cat, Protocol: dissect.Proto(proto),
			Client: c, Server: s, ServerPort: port, L4: l4}
		if ts != 0 {
			in.Time = unixTime(ts)
		} else {
			in.Time = wedEvening // keep the oracle and p on the same clock
		}
		v1, w1 := p.Evaluate(&in)
		v2, w2 := o.Evaluate(&in)
		if v1 != v2 || w1.Rule != w2.Rule {
			t.Fatalf("%+v: indexed %v %v, oracle %v %v", in, v1, w1, v2, w2)
		}
	})
}
