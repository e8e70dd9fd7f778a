package inject

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/marker"
)

// query packs a DNS query with miekg/dns (an independent encoder).
func query(t testing.TB, name string, qtype uint16, edns bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0xbeef
	m.CheckingDisabled = true
	if edns {
		m.SetEdns0(4096, true)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tcpDNS(msg []byte) []byte {
	return append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func TestDNSBlock(t *testing.T) {
	sink := DNSAnswer{A: netip.MustParseAddr("192.0.2.99"), AAAA: netip.MustParseAddr("2001:db8::99"), TTL: 30}
	for _, tc := range []struct {
		name    string
		src     string
		dst     string
		proto   uint8
		qname   string
		qtype   uint16
		edns    bool
		answer  DNSAnswer
		rcode   int
		answers []string
	}{
		{"v4 udp nxdomain", "192.0.2.1:40000", "192.0.2.53:53", protoUDP, "Blocked.TEST.", dns.TypeA, true, DNSAnswer{}, dns.RcodeNameError, nil},
		{"v6 udp nxdomain no edns", "[2001:db8::1]:40000", "[2001:db8::53]:53", protoUDP, "blocked.test.", dns.TypeAAAA, false, DNSAnswer{}, dns.RcodeNameError, nil},
		{"v4 udp sinkhole A", "192.0.2.1:40000", "192.0.2.53:53", protoUDP, "blocked.test.", dns.TypeA, true, sink, dns.RcodeSuccess, []string{"192.0.2.99"}},
		{"v6 udp sinkhole AAAA", "[2001:db8::1]:40000", "[2001:db8::53]:53", protoUDP, "blocked.test.", dns.TypeAAAA, true, sink, dns.RcodeSuccess, []string{"2001:db8::99"}},
		{"sinkhole nodata", "192.0.2.1:40000", "192.0.2.53:53", protoUDP, "blocked.test.", dns.TypeHTTPS, true, sink, dns.RcodeSuccess, nil},
		{"sinkhole A only, AAAA asked", "192.0.2.1:40000", "192.0.2.53:53", protoUDP, "blocked.test.", dns.TypeAAAA, true, DNSAnswer{A: sink.A}, dns.RcodeSuccess, nil},
		{"v4 tcp", "192.0.2.1:40000", "192.0.2.53:53", protoTCP, "blocked.test.", dns.TypeA, true, DNSAnswer{}, dns.RcodeNameError, nil},
		{"v6 tcp sinkhole", "[2001:db8::1]:40000", "[2001:db8::53]:53", protoTCP, "blocked.test.", dns.TypeAAAA, false, sink, dns.RcodeSuccess, []string{"2001:db8::99"}},
		{"long name", "192.0.2.1:40000", "192.0.2.53:53", protoUDP, strings.Repeat("a23456789.", 24) + "abcdefghijklm.", dns.TypeA, true, DNSAnswer{}, dns.RcodeNameError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := query(t, tc.qname, tc.qtype, tc.edns)
			in := seg{src: tc.src, dst: tc.dst, proto: tc.proto, seq: 300, ack: 800, flags: flagPSH | flagACK, payload: q}
			if tc.proto == protoTCP {
				in.payload = tcpDNS(q)
			}
			pkt := in.build(t)
			p := decodeRaw(t, pkt)
			out, err := DNSBlock(pkt, p, testRule, testNotice, marker.EDECensored, tc.answer)
			if err != nil {
				t.Fatal(err)
			}
			r := checkInjected(t, out)
			if addrPort(r, true) != addrPort(p, false) || addrPort(r, false) != addrPort(p, true) {
				t.Errorf("response %v -> %v", addrPort(r, true), addrPort(r, false))
			}
			msg := r.Payload
			if tc.proto == protoTCP {
				if r.TCPSeq != 800 || r.TCPAck != 300+uint32(len(in.payload)) || r.TCPFlags != flagPSH|flagACK {
					t.Errorf("tcp seq %d ack %d flags %#x", r.TCPSeq, r.TCPAck, r.TCPFlags)
				}
				if len(msg) < 2 || int(be.Uint16(msg)) != len(msg)-2 {
					t.Fatalf("bad length prefix in % x", msg)
				}
				msg = msg[2:]
			}
			var m dns.Msg
			if err := m.Unpack(msg); err != nil {
				t.Fatal(err)
			}
			if m.Id != 0xbeef || !m.Response || m.Opcode != dns.OpcodeQuery || !m.RecursionDesired || !m.RecursionAvailable ||
				!m.CheckingDisabled || m.Authoritative || m.Truncated || m.Rcode != tc.rcode {
				t.Errorf("header %+v", m.MsgHdr)
			}
			if len(m.Question) != 1 || m.Question[0].Name != tc.qname || m.Question[0].Qtype != tc.qtype {
				t.Errorf("question %v", m.Question)
			}
			var got []string
			for _, rr := range m.Answer {
				if rr.Header().Name != tc.qname || rr.Header().Ttl != 30 {
					t.Errorf("answer header %v", rr.Header())
				}
				switch rr := rr.(type) {
				case *dns.A:
					got = append(got, rr.A.String())
				case *dns.AAAA:
					got = append(got, rr.AAAA.String())
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.answers, ",") {
				t.Errorf("answers %v, want %v", got, tc.answers)
			}
			opt := m.IsEdns0()
			if opt == nil || opt.UDPSize() != EDNSSize || opt.Version() != 0 || len(m.Extra) != 1 {
				t.Fatalf("OPT %v", m.Extra)
			}
			if len(opt.Option) != 1 {
				t.Fatalf("options %v", opt.Option)
			}
			ede, ok := opt.Option[0].(*dns.EDNS0_EDE)
			if !ok || ede.InfoCode != marker.EDECensored {
				t.Fatalf("EDE %v", opt.Option[0])
			}
			if rule, notice, ok := marker.ParseEDEText(ede.ExtraText); !ok || rule != testRule || notice != testNotice {
				t.Errorf("EXTRA-TEXT %q", ede.ExtraText)
			}
		})
	}
}

func TestDNSBlockMalformed(t *testing.T) {
	good := query(t, "blocked.test.", dns.TypeA, false)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	long := []byte{0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	long = append(long, 0, 0, 1, 0, 1)
	for _, tc := range []struct {
		name    string
		proto   uint8
		payload []byte
		flags   uint8
		want    Reason
	}{
		{"empty", protoUDP, nil, flagACK, ReasonShort},
		{"header only", protoUDP, good[:12], flagACK, ReasonShort},
		{"cut name", protoUDP, good[:16], flagACK, ReasonShort},
		{"cut type", protoUDP, good[:len(good)-2], flagACK, ReasonShort},
		{"response", protoUDP, mod(func(b []byte) []byte { b[2] |= 0x80; return b }), flagACK, ReasonNotQuery},
		{"notify", protoUDP, mod(func(b []byte) []byte { b[2] |= 4 << 3; return b }), flagACK, ReasonNotQuery},
		{"two questions", protoUDP, mod(func(b []byte) []byte { b[5] = 2; return b }), flagACK, ReasonQuestionCount},
		{"no question", protoUDP, mod(func(b []byte) []byte { b[5] = 0; return b }), flagACK, ReasonQuestionCount},
		{"pointer", protoUDP, mod(func(b []byte) []byte { b[12] = 0xc0; return b }), flagACK, ReasonBadName},
		{"long name", protoUDP, long, flagACK, ReasonBadName},
		{"tcp short prefix", protoTCP, []byte{0}, flagACK, ReasonShort},
		{"tcp prefix past segment", protoTCP, append([]byte{0, byte(len(good) + 1)}, good...), flagACK, ReasonShort},
		{"tcp without ack", protoTCP, tcpDNS(good), flagPSH, ReasonNotApplicable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := seg{src: "192.0.2.1:40000", dst: "192.0.2.53:53", proto: tc.proto, flags: tc.flags, payload: tc.payload}
			pkt := in.build(t)
			out, err := DNSBlock(pkt, decodeRaw(t, pkt), "r", "n", marker.EDEBlocked, DNSAnswer{})
			var e *Error
			if out != nil || !errors.As(err, &e) || e.Reason != tc.want {
				t.Fatalf("got %v, %v; want reason %v", out, err, tc.want)
			}
			base := ErrMalformed
			if tc.want == ReasonNotApplicable {
				base = ErrNotApplicable
			}
			if !errors.Is(err, base) {
				t.Errorf("%v does not unwrap to %v", err, base)
			}
		})
	}
	if _, err := DNSBlock(nil, nil, "", "", 0, DNSAnswer{}); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("nil: %v", err)
	}
}
