package dns

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

func pack(t testing.TB, m *mdns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	return b
}

func query(name string, qtype uint16) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.Id = 0x1234
	return m
}

func rr(t testing.TB, s string) mdns.RR {
	t.Helper()
	r, err := mdns.NewRR(s)
	if err != nil {
		t.Fatalf("NewRR(%q): %v", s, err)
	}
	return r
}

func reply(t testing.TB, q *mdns.Msg, rrs ...string) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(q)
	m.Compress = true
	for _, s := range rrs {
		m.Answer = append(m.Answer, rr(t, s))
	}
	return m
}

func udp(dir dissect.Dir, port uint16, b []byte) dissect.Packet {
	return dissect.Packet{Dir: dir, L4: 17, ClientPort: 40000, ServerPort: port, Payload: b}
}

func httpsResponse(t testing.TB) []byte {
	q := query("Cloudflare.com", mdns.TypeHTTPS)
	r := reply(t, q)
	r.Answer = append(r.Answer, &mdns.HTTPS{SVCB: mdns.SVCB{
		Hdr:      mdns.RR_Header{Name: "cloudflare.com.", Rrtype: mdns.TypeHTTPS, Class: mdns.ClassINET, Ttl: 300},
		Priority: 1, Target: ".",
		Value: []mdns.SVCBKeyValue{
			&mdns.SVCBAlpn{Alpn: []string{"h3", "h2"}},
			&mdns.SVCBIPv4Hint{Hint: []net.IP{net.ParseIP("104.16.132.229"), net.ParseIP("104.16.133.229")}},
			&mdns.SVCBIPv6Hint{Hint: []net.IP{net.ParseIP("2606:4700::6810:84e5")}},
		},
	}})
	return pack(t, r)
}

func edeResponse(t testing.TB) []byte {
	q := query("blocked.example", mdns.TypeA)
	r := reply(t, q)
	r.Rcode = mdns.RcodeNameError
	r.SetEdns0(1232, false)
	opt := r.IsEdns0()
	opt.Option = append(opt.Option, &mdns.EDNS0_EDE{InfoCode: 15, ExtraText: "blocked by policy\x00\x1b[31m"})
	return pack(t, r)
}

func TestFeedUDP(t *testing.T) {
	q := query("WWW.Example.COM", mdns.TypeA)
	qb := pack(t, q)
	resp := pack(t, reply(t, q,
		"www.example.com. 60 IN CNAME edge.example.net.",
		"edge.example.net. 30 IN A 192.0.2.7",
		"edge.example.net. 30 IN AAAA 2001:db8::7"))
	other := query("x.test", mdns.TypeA)
	other.Id = 99
	otherResp := pack(t, reply(t, other, "x.test. 1 IN A 10.0.0.1"))

	tests := []struct {
		name    string
		pkts    []dissect.Packet
		want    []dissect.Status
		wantDNS dissect.DNSInfo
		proto   dissect.Proto
		host    string
	}{
		{
			name: "query then response",
			pkts: []dissect.Packet{udp(dissect.ToServer, 53, qb), udp(dissect.ToClient, 53, resp)},
			want: []dissect.Status{dissect.Identified, dissect.Done},
			wantDNS: dissect.DNSInfo{QName: "www.example.com", QType: 1, QClass: 1, Response: true, Answers: []dissect.DNSAnswer{
				{Name: "www.example.com", Type: 5, TTL: 60, Target: "edge.example.net"},
				{Name: "edge.example.net", Type: 1, TTL: 30, Addr: netip.MustParseAddr("192.0.2.7")},
				{Name: "edge.example.net", Type: 28, TTL: 30, Addr: netip.MustParseAddr("2001:db8::7")},
			}},
			proto: dissect.DNS, host: "www.example.com",
		},
		{
			name:    "response with another id is ignored",
			pkts:    []dissect.Packet{udp(dissect.ToServer, 53, qb), udp(dissect.ToClient, 53, otherResp), udp(dissect.ToServer, 53, qb)},
			want:    []dissect.Status{dissect.Identified, dissect.Identified, dissect.Identified},
			wantDNS: dissect.DNSInfo{QName: "www.example.com", QType: 1, QClass: 1},
			proto:   dissect.DNS, host: "www.example.com",
		},
		{
			name:    "response first",
			pkts:    []dissect.Packet{udp(dissect.ToServer, 53, otherResp)},
			want:    []dissect.Status{dissect.Done},
			wantDNS: dissect.DNSInfo{QName: "x.test", QType: 1, QClass: 1, Response: true, Answers: []dissect.DNSAnswer{{Name: "x.test", Type: 1, TTL: 1, Addr: netip.MustParseAddr("10.0.0.1")}}},
			proto:   dissect.DNS, host: "x.test",
		},
		{
			name:    "mdns",
			pkts:    []dissect.Packet{udp(dissect.ToServer, 5353, pack(t, query("_googlecast._tcp.local", mdns.TypePTR)))},
			want:    []dissect.Status{dissect.Identified},
			wantDNS: dissect.DNSInfo{QName: "_googlecast._tcp.local", QType: 12, QClass: 1},
			proto:   dissect.MDNS, host: "_googlecast._tcp.local",
		},
		{
			name:    "llmnr",
			pkts:    []dissect.Packet{udp(dissect.ToServer, 5355, pack(t, query("wpad", mdns.TypeA)))},
			want:    []dissect.Status{dissect.Identified},
			wantDNS: dissect.DNSInfo{QName: "wpad", QType: 1, QClass: 1},
			proto:   dissect.LLMNR, host: "wpad",
		},
		{
			name: "https record hints",
			pkts: []dissect.Packet{udp(dissect.ToClient, 53, httpsResponse(t))},
			want: []dissect.Status{dissect.Done},
			wantDNS: dissect.DNSInfo{QName: "cloudflare.com", QType: 65, QClass: 1, Response: true, Answers: []dissect.DNSAnswer{
				{Name: "cloudflare.com", Type: 65, TTL: 300, Target: ".", Addr: netip.MustParseAddr("104.16.132.229")},
			}},
			proto: dissect.DNS, host: "cloudflare.com",
		},
		{
			name: "extended dns error",
			pkts: []dissect.Packet{udp(dissect.ToClient, 53, edeResponse(t))},
			want: []dissect.Status{dissect.Done},
			wantDNS: dissect.DNSInfo{QName: "blocked.example", QType: 1, QClass: 1, RCode: 3, Response: true,
				EDNS: []dissect.EDNSOption{{Code: 15, Len: 2 + 23, InfoCode: 15, Text: "blocked by policy??[31m"}}},
			proto: dissect.DNS, host: "blocked.example",
		},
		{
			name: "netbios port is left alone",
			pkts: []dissect.Packet{udp(dissect.ToServer, 137, qb)},
			want: []dissect.Status{dissect.NotMine},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dissector
			var m dissect.Meta
			for i := range tc.pkts {
				if got := d.Feed(&tc.pkts[i], &m); got != tc.want[i] {
					t.Fatalf("packet %d: status %v, want %v", i, got, tc.want[i])
				}
			}
			if m.Proto != tc.proto || m.Host != tc.host {
				t.Errorf("proto/host = %v %q, want %v %q", m.Proto, m.Host, tc.proto, tc.host)
			}
			if !reflect.DeepEqual(m.DNS, tc.wantDNS) {
				t.Errorf("DNS (-got, +want):\n-%+v\n+%+v", m.DNS, tc.wantDNS)
			}
		})
	}
}

func withLen(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

func TestFeedTCP(t *testing.T) {
	q1 := query("weberlab.de", mdns.TypeA)
	q2 := query("weberlab.de", mdns.TypeAAAA)
	q2.Id = 0x4321
	r1 := reply(t, q1, "weberlab.de. 3600 IN A 194.247.5.6")
	// A large response (> 1 segment): many TXT records after the answer.
	for i := 0; i < 40; i++ {
		r1.Extra = append(r1.Extra, rr(t, "weberlab.de. 60 IN TXT \"0123456789012345678901234567890123456789\""))
	}
	req := append(withLen(pack(t, q1)), withLen(pack(t, q2))...) // two messages in one segment
	resp := withLen(pack(t, r1))
	if len(resp) < 1500 {
		t.Fatalf("response too small to split: %d", len(resp))
	}
	seg := func(dir dissect.Dir, seq uint32, b []byte) dissect.Packet {
		return dissect.Packet{Dir: dir, L4: 6, ClientPort: 40000, ServerPort: 53, Seq: seq, Payload: b}
	}
	wantAns := []dissect.DNSAnswer{{Name: "weberlab.de", Type: 1, TTL: 3600, Addr: netip.MustParseAddr("194.247.5.6")}}

	tests := []struct {
		name string
		pkts []dissect.Packet
		want []dissect.Status
	}{
		{"two queries, response split in three", []dissect.Packet{
			seg(dissect.ToServer, 100, req),
			seg(dissect.ToClient, 9000, resp[:1]),
			seg(dissect.ToClient, 9001, resp[1:700]),
			seg(dissect.ToClient, 9700, resp[700:]),
		}, []dissect.Status{dissect.Identified, dissect.Identified, dissect.Identified, dissect.Done}},
		{"query split after the length, retransmission", []dissect.Packet{
			seg(dissect.ToServer, 100, req[:2]),
			seg(dissect.ToServer, 100, req[:2]),
			seg(dissect.ToServer, 102, req[2:10]),
			seg(dissect.ToServer, 102, req[2:]),
			seg(dissect.ToClient, 9000, resp),
		}, []dissect.Status{dissect.Continue, dissect.Continue, dissect.Continue, dissect.Identified, dissect.Done}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dissector
			var m dissect.Meta
			for i := range tc.pkts {
				if got := d.Feed(&tc.pkts[i], &m); got != tc.want[i] {
					t.Fatalf("packet %d: status %v, want %v", i, got, tc.want[i])
				}
			}
			if m.Host != "weberlab.de" || m.DNS.QType != 1 || !reflect.DeepEqual(m.DNS.Answers, wantAns) {
				t.Errorf("got host %q DNS %+v", m.Host, m.DNS)
			}
		})
	}

	t.Run("oversized message parses its prefix", func(t *testing.T) {
		big := reply(t, q1, "weberlab.de. 3600 IN A 194.247.5.6")
		for i := 0; i < 120; i++ {
			big.Extra = append(big.Extra, rr(t, "weberlab.de. 60 IN TXT \"0123456789012345678901234567890123456789\""))
		}
		b := withLen(pack(t, big))
		var d Dissector
		var m dissect.Meta
		seq := uint32(1)
		st := dissect.Continue
		for off := 0; off < len(b) && st != dissect.Done; off += 1000 {
			end := min(off+1000, len(b))
			p := seg(dissect.ToClient, seq, b[off:end])
			st = d.Feed(&p, &m)
			seq += uint32(end - off)
		}
		if st != dissect.Done || !reflect.DeepEqual(m.DNS.Answers, wantAns) {
			t.Errorf("status %v answers %+v", st, m.DNS.Answers)
		}
	})
}

// hand builds a message from a header and raw bytes after it.
func hand(flags, qd, an uint16, rest ...byte) []byte {
	b := []byte{0xab, 0xcd}
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, qd)
	b = binary.BigEndian.AppendUint16(b, an)
	b = append(b, 0, 0, 0, 0)
	return append(b, rest...)
}

func TestParseNames(t *testing.T) {
	label63 := append([]byte{63}, make([]byte, 63)...)
	for i := range label63[1:] {
		label63[1+i] = 'a'
	}
	var long []byte // 4*63+4 = 256 octets: one too many
	for i := 0; i < 4; i++ {
		long = append(long, label63...)
	}
	long = append(long, 0)
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
		host    string
	}{
		{"escaped chars", hand(0x0100, 1, 0, 5, 'a', '.', 'B', 0x00, 0xff, 2, 'c', 'n', 0, 0, 1, 0, 1), nil, `a\.b\000\255.cn`},
		{"space and backslash", hand(0x0100, 1, 0, 3, ' ', '\\', 'x', 0, 0, 1, 0, 1), nil, `\032\\x`},
		{"root", hand(0x0100, 1, 0, 0, 0, 2, 0, 1), nil, ""},
		{"label 0x40 type", hand(0x0100, 1, 0, 0x41, 'a', 0, 0, 1, 0, 1), ErrLabel, ""},
		{"name too long", hand(0x0100, 1, 0, append(long, 0, 1, 0, 1)...), ErrNameLong, ""},
		{"pointer to itself", hand(0x0100, 1, 0, 0xc0, 12, 0, 1, 0, 1), ErrPointer, ""},
		{"forward pointer", hand(0x0100, 1, 0, 0xc0, 20, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0), ErrPointer, ""},
		{"pointer into header", hand(0x0100, 1, 0, 0xc0, 2, 0, 1, 0, 1), ErrPointer, ""},
		{"truncated label", hand(0x0100, 1, 0, 30, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), ErrShort, ""},
		{"qtype zero", hand(0x0100, 1, 0, 1, 'a', 0, 0, 0, 0, 1), ErrQuestion, ""},
		{"class 7", hand(0x0100, 1, 0, 1, 'a', 0, 0, 1, 0, 7), ErrQuestion, ""},
		{"opcode 3", hand(0x1900, 1, 0, 1, 'a', 0, 0, 1, 0, 1), ErrHeader, ""},
		{"no question", hand(0x8180, 0, 1, 1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0), ErrHeader, ""},
		{"query with answers", hand(0x0100, 1, 1, 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0), ErrHeader, ""},
		{"counts exceed size", hand(0x8180, 1, 40, 1, 'a', 0, 0, 1, 0, 1), ErrHeader, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var info dissect.DNSInfo
			host, err := Parse(tc.msg, &info)
			if !errors.Is(err, tc.wantErr) || host != tc.host {
				t.Errorf("Parse = %q, %v; want %q, %v", host, err, tc.host, tc.wantErr)
			}
		})
	}
}

// TestPointerLoop builds a cycle that points backwards at every hop: a
// label followed by a pointer back to the label.
func TestPointerLoop(t *testing.T) {
	// question name at 12: pointer to 14; 14: label "a", pointer to 14.
	msg := hand(0x8180, 1, 0, 0xc0, 14, 1, 'a', 0xc0, 14)
	var info dissect.DNSInfo
	if _, err := Parse(msg, &info); err == nil {
		t.Fatal("loop accepted")
	}
	// The classic two-pointer cycle: 12 -> 14 -> 12 (forward, rejected).
	msg = hand(0x8180, 1, 0, 0xc0, 14, 0xc0, 12, 0, 1, 0, 1)
	if _, err := Parse(msg, &info); !errors.Is(err, ErrPointer) {
		t.Fatalf("err = %v", err)
	}
}

func TestCompressedAnswers(t *testing.T) {
	q := query("a.very.long.name.example.org", mdns.TypeA)
	r := reply(t, q,
		"a.very.long.name.example.org. 5 IN CNAME b.long.name.example.org.",
		"b.long.name.example.org. 5 IN CNAME c.name.example.org.",
		"c.name.example.org. 5 IN A 198.51.100.1")
	b := pack(t, r)
	var info dissect.DNSInfo
	host, err := Parse(b, &info)
	if err != nil || host != "a.very.long.name.example.org" {
		t.Fatalf("Parse: %q %v", host, err)
	}
	if len(info.Answers) != 3 || info.Answers[1].Target != "c.name.example.org" || info.Answers[2].Addr != netip.MustParseAddr("198.51.100.1") {
		t.Fatalf("answers %+v", info.Answers)
	}
}

// TestRandomRejected feeds random payloads and asserts almost none are
// accepted, on the DNS, mDNS and LLMNR ports and a random one.
func TestRandomRejected(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 0, []uint16{53, 5353, 5355, 0}, 100000, 0.001)
}

func TestNoAllocsReject(t *testing.T) {
	junk := []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	dissecttest.NoAllocsReject(t, &Dissector{}, udp(dissect.ToServer, 53, junk), dissect.Packet{L4: 6, ServerPort: 53, Payload: junk})
}

// BenchmarkFeedQueryResponse-2  200000  2384 ns/op  256 B/op  6 allocs/op (loaded 2-core box)
func BenchmarkFeedQueryResponse(b *testing.B) {
	q := query("www.example.com", mdns.TypeA)
	qb := pack(b, q)
	rb := pack(b, reply(b, q, "www.example.com. 60 IN CNAME edge.example.net.", "edge.example.net. 30 IN A 192.0.2.7"))
	p1, p2 := udp(dissect.ToServer, 53, qb), udp(dissect.ToClient, 53, rb)
	b.ReportAllocs()
	var d Dissector
	for i := 0; i < b.N; i++ {
		var m dissect.Meta
		d.Reset()
		d.Feed(&p1, &m)
		d.Feed(&p2, &m)
	}
}

// BenchmarkReject-2  200000  26.15 ns/op  0 B/op  0 allocs/op
func BenchmarkReject(b *testing.B) {
	p := udp(dissect.ToServer, 53, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 random tls-ish bytes"))
	b.ReportAllocs()
	var d Dissector
	var m dissect.Meta
	for i := 0; i < b.N; i++ {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func FuzzFeed(f *testing.F) {
	q := query("www.example.com", mdns.TypeA)
	f.Add(pack(f, q), false)
	f.Add(pack(f, reply(f, q, "www.example.com. 60 IN CNAME edge.example.net.", "edge.example.net. 30 IN A 192.0.2.7")), false)
	f.Add(httpsResponse(f), false)
	f.Add(edeResponse(f), false)
	f.Add(withLen(pack(f, q)), true)
	f.Add(hand(0x8180, 1, 0, 0xc0, 14, 1, 'a', 0xc0, 14), false)
	f.Fuzz(func(t *testing.T, b []byte, tcp bool) {
		var d Dissector
		var m dissect.Meta
		p := udp(dissect.ToServer, 53, b)
		if tcp {
			p.L4 = 6
			// Feed in two segments to exercise reassembly.
			half := len(b) / 2
			p.Payload = b[:half]
			d.Feed(&p, &m)
			p.Seq = uint32(half)
			p.Payload = b[half:]
		}
		st := d.Feed(&p, &m)
		if st == dissect.Identified || st == dissect.Done {
			if m.Proto == dissect.Unknown {
				t.Fatal("identified without proto")
			}
		}
		var info dissect.DNSInfo
		host, err := Parse(b, &info)
		if err == nil && info.QName != host {
			t.Fatalf("QName %q != host %q", info.QName, host)
		}
		for i := 0; i < len(host); i++ {
			if host[i] <= ' ' || host[i] >= 0x7f || (host[i] >= 'A' && host[i] <= 'Z') {
				t.Fatalf("unsafe host %q", host)
			}
		}
	})
}

// TestRepeatFlowAllocs: a query and response for names seen before cost
// one allocation, the array of answers the flow's record keeps; over TCP
// the pooled dissector keeps its reassembly buffers too.
func TestRepeatFlowAllocs(t *testing.T) {
	q := query("Repeat.Example.COM", mdns.TypeA)
	qb, resp := pack(t, q), pack(t, reply(t, q,
		"repeat.example.com. 60 IN CNAME edge.example.net.",
		"edge.example.net. 30 IN A 192.0.2.7"))
	if n := dissecttest.RepeatAllocs(&Dissector{}, []dissect.Packet{udp(dissect.ToServer, 53, qb)}); n != 0 {
		t.Errorf("repeated query: %v allocations, want 0", n)
	}
	if n := dissecttest.RepeatAllocs(&Dissector{}, []dissect.Packet{udp(dissect.ToServer, 53, qb), udp(dissect.ToClient, 53, resp)}); n != 1 {
		t.Errorf("repeated query and response: %v allocations, want 1", n)
	}
	// Each message framed and split after one byte of its length prefix:
	// both directions buffer.
	split := func(dir dissect.Dir, seq uint32, msg []byte) []dissect.Packet {
		b := append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
		return []dissect.Packet{
			{Dir: dir, L4: 6, ServerPort: 53, Seq: seq, Payload: b[:1]},
			{Dir: dir, L4: 6, ServerPort: 53, Seq: seq + 1, Payload: b[1:]},
		}
	}
	tcp := append(split(dissect.ToServer, 100, qb), split(dissect.ToClient, 900, resp)...)
	if n := dissecttest.RepeatAllocs(&Dissector{}, tcp); n != 1 {
		t.Errorf("repeated TCP query and response: %v allocations, want 1", n)
	}
}
