package ipfix

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/anon"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)

func tlsRecord() *record.Record {
	cls := &classify.Result{App: "facebook", Category: "social", Host: "www.facebook.com"}
	cls.Meta.Proto = dissect.TLS
	return &record.Record{
		L4:         6,
		Client:     netip.MustParseAddrPort("192.0.2.77:40000"),
		Server:     netip.MustParseAddrPort("198.51.100.1:443"),
		VLAN:       7,
		First:      t0.UnixNano(),
		Last:       t0.Add(1500 * time.Millisecond).UnixNano(),
		C2SPackets: 10, C2SBytes: 1000, S2CPackets: 8, S2CBytes: 9000,
		End:   flow.EndIdle,
		Class: cls, Verdict: "block", Rule: "no-social",
	}
}

func dnsRecord6() *record.Record {
	cls := &classify.Result{Host: "example.org"}
	cls.Meta.Proto = dissect.DNS
	return &record.Record{
		L4:         17,
		Client:     netip.MustParseAddrPort("[2001:db8::7]:5353"),
		Server:     netip.MustParseAddrPort("[2001:db8:1::53]:53"),
		First:      t0.UnixNano(),
		Last:       t0.Add(20 * time.Millisecond).UnixNano(),
		C2SPackets: 1, C2SBytes: 80, S2CPackets: 1, S2CBytes: 120,
		End:   flow.EndFlush,
		Class: cls,
	}
}

func oneWayRecord() *record.Record {
	return &record.Record{
		L4:         1,
		Client:     netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), 0),
		Server:     netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 0),
		First:      t0.UnixNano(),
		Last:       t0.UnixNano(),
		C2SPackets: 3, C2SBytes: 294,
		End: flow.EndEvicted,
	}
}

// encodeAll runs records through an encoder-only exporter and returns the
// finished messages.
func encodeAll(t testing.TB, cfg Config, recs ...*record.Record) [][]byte {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:4739"
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 4096
	}
	e, err := newExporter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.now = func() time.Time { return t0 }
	for _, r := range recs {
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	e.mu.Lock()
	if e.cur != nil {
		e.enqueue(e.finish())
	}
	e.mu.Unlock()
	var out [][]byte
	for len(e.out) > 0 {
		m := <-e.out
		out = append(out, bytes.Clone(m.b))
	}
	if d := e.dropped.Load(); d != 0 {
		t.Fatalf("%d records dropped", d)
	}
	return out
}

func decodeAll(t testing.TB, msgs [][]byte) ([]decMsg, []exported) {
	t.Helper()
	d := newDecoder()
	var ms []decMsg
	var recs []exported
	for i, b := range msgs {
		m, err := d.decode(b)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		ms = append(ms, m)
		for _, r := range m.records {
			recs = append(recs, r.exported())
		}
	}
	return ms, recs
}

func appID(sel dissect.Proto) []byte {
	return []byte{AppEngineID, 0, 0, 0x7e, 0xd9, 0, byte(sel)}
}

func TestEncode(t *testing.T) {
	ms := t0.UnixMilli()
	tlsC2S := exported{
		Src: netip.MustParseAddr("192.0.2.77"), Dst: netip.MustParseAddr("198.51.100.1"),
		SPort: 40000, DPort: 443, Proto: 6, Bytes: 1000, Packets: 10,
		StartMs: uint64(ms), EndMs: uint64(ms + 1500), EndReason: 1, Fwd: FwdACLDeny, VLAN: 7,
		AppID: appID(dissect.TLS), AppName: "facebook", Host: "www.facebook.com", Rule: "no-social",
		ProtoName: "TLS", Categ: "social", Dir: 1,
	}
	tlsS2C := tlsC2S
	tlsS2C.Src, tlsS2C.Dst, tlsS2C.SPort, tlsS2C.DPort = tlsC2S.Dst, tlsC2S.Src, 443, 40000
	tlsS2C.Bytes, tlsS2C.Packets, tlsS2C.Dir = 9000, 8, 2

	dnsC2S := exported{
		Src: netip.MustParseAddr("2001:db8::7"), Dst: netip.MustParseAddr("2001:db8:1::53"),
		SPort: 5353, DPort: 53, Proto: 17, Bytes: 80, Packets: 1,
		StartMs: uint64(ms), EndMs: uint64(ms + 20), EndReason: 4, Fwd: FwdUnknown,
		AppID: appID(dissect.DNS), AppName: "DNS", Host: "example.org", ProtoName: "DNS", Dir: 1,
	}
	dnsS2C := dnsC2S
	dnsS2C.Src, dnsS2C.Dst, dnsS2C.SPort, dnsS2C.DPort = dnsC2S.Dst, dnsC2S.Src, 53, 5353
	dnsS2C.Bytes, dnsS2C.Dir = 120, 2

	icmp := exported{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: 1,
		Bytes: 294, Packets: 3, StartMs: uint64(ms), EndMs: uint64(ms), EndReason: 5,
		AppID: appID(0), Dir: 1,
	}

	for _, tc := range []struct {
		name string
		recs []*record.Record
		want []exported
	}{
		{"tls v4 both ways", []*record.Record{tlsRecord()}, []exported{tlsC2S, tlsS2C}},
		{"dns v6", []*record.Record{dnsRecord6()}, []exported{dnsC2S, dnsS2C}},
		{"one way, unclassified", []*record.Record{oneWayRecord()}, []exported{icmp}},
		{"mixed families", []*record.Record{tlsRecord(), dnsRecord6(), tlsRecord()},
			[]exported{tlsC2S, tlsS2C, dnsC2S, dnsS2C, tlsC2S, tlsS2C}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := encodeAll(t, Config{ObservationDomain: 42}, tc.recs...)
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			dm, got := decodeAll(t, msgs)
			if !reflect.DeepEqual(got, tc.want) {
				for i := range max(len(got), len(tc.want)) {
					var g, w exported
					if i < len(got) {
						g = got[i]
					}
					if i < len(tc.want) {
						w = tc.want[i]
					}
					if !reflect.DeepEqual(g, w) {
						t.Errorf("record %d (-got, +want):\n-%+v\n+%+v", i, g, w)
					}
				}
			}
			m := dm[0]
			if m.domain != 42 || m.seq != 0 || m.exportTime != uint32(t0.Unix()) {
				t.Errorf("header domain %d seq %d time %d", m.domain, m.seq, m.exportTime)
			}
			if !reflect.DeepEqual(m.templates, []uint16{TemplateIPv4, TemplateIPv6}) {
				t.Errorf("templates %v", m.templates)
			}
		})
	}
}

func TestAnonymisedClient(t *testing.T) {
	msgs := encodeAll(t, Config{Anon: anon.DefaultTruncate}, tlsRecord())
	_, got := decodeAll(t, msgs)
	if got[0].Src.String() != "192.0.2.0" || got[1].Dst.String() != "192.0.2.0" {
		t.Errorf("client not anonymised: %v -> %v, %v -> %v", got[0].Src, got[0].Dst, got[1].Src, got[1].Dst)
	}
	if got[0].Dst.String() != "198.51.100.1" {
		t.Errorf("server changed: %v", got[0].Dst)
	}
}

func TestBatchingAndSequence(t *testing.T) {
	for _, mtu := range []int{minMTU, 576, 1400, 9000} {
		t.Run(strconv.Itoa(mtu), func(t *testing.T) {
			var recs []*record.Record
			for i := range 300 {
				r := tlsRecord()
				if i%3 == 0 {
					r = dnsRecord6()
				}
				r.C2SBytes = uint64(i)
				r.Class.Host = strings.Repeat("h", i) // up to 299 bytes: truncated
				recs = append(recs, r)
			}
			msgs := encodeAll(t, Config{MTU: mtu, TemplateRefreshMessages: 1000}, recs...)
			dm, got := decodeAll(t, msgs)
			if len(got) != 600 {
				t.Fatalf("%d records, want 600", len(got))
			}
			seq := uint32(0)
			for i, m := range dm {
				if int(m.length) > mtu {
					t.Errorf("message %d is %d bytes > MTU %d", i, m.length, mtu)
				}
				if m.seq != seq {
					t.Errorf("message %d seq %d, want %d", i, m.seq, seq)
				}
				seq += uint32(len(m.records))
			}
			if mtu >= 1400 && len(dm) > 600/4 {
				t.Errorf("%d messages for 600 records: not batching", len(dm))
			}
			capn := stringCap(mtu)
			for i, r := range got {
				if r.Bytes != uint64(i/2) && r.Dir == 1 {
					t.Fatalf("record %d out of order: bytes %d", i, r.Bytes)
				}
				if want := min(i/2, capn); len(r.Host) != want {
					t.Fatalf("record %d host %d bytes, want %d", i, len(r.Host), want)
				}
			}
		})
	}
}

func TestStringSanitising(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		max            int
	}{
		{"ascii", "abc", "abc", 10},
		{"invalid bytes", "a\xffb\xc3", "a?b?", 10},
		{"cut at rune", "aé", "a", 2},
		{"cut exact", "aé", "aé", 3},
		{"euro cut", "€€", "€", 5},
		{"empty", "", "", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendString(nil, tc.in, tc.max)
			if int(b[0]) != len(b)-1 || string(b[1:]) != tc.want {
				t.Errorf("got len %d %q, want %q", b[0], b[1:], tc.want)
			}
		})
	}
}

func TestTemplateRefresh(t *testing.T) {
	e, err := newExporter(Config{Addr: "127.0.0.1:1", TemplateRefresh: time.Minute, TemplateRefreshMessages: 3, MTU: minMTU, QueueLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	e.now = func() time.Time { return now }
	var withTmpl []int
	d := newDecoder()
	for i := range 10 {
		if i == 7 {
			now = now.Add(2 * time.Minute)
		}
		e.Write(tlsRecord())
		e.mu.Lock()
		m := e.finish()
		e.mu.Unlock()
		dm, err := d.decode(m.b)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(dm.templates) > 0 {
			withTmpl = append(withTmpl, i)
		}
		e.free <- m
	}
	// Messages 0, 3, 6 by count; 7 by time (the clock jumped); then 10 would be next.
	if want := []int{0, 3, 6, 7}; !reflect.DeepEqual(withTmpl, want) {
		t.Errorf("templates in messages %v, want %v", withTmpl, want)
	}
}

func TestForwardingStatusAndEndReason(t *testing.T) {
	for _, tc := range []struct {
		verdict string
		want    uint8
	}{{"", 0}, {"allow", 64}, {"throttle", 64}, {"block", 129}, {"reset", 129}, {"drop", 130}, {"other", 0}} {
		if got := ForwardingStatus(tc.verdict); got != tc.want {
			t.Errorf("ForwardingStatus(%q) = %d, want %d", tc.verdict, got, tc.want)
		}
	}
	for _, tc := range []struct {
		r    flow.EndReason
		want uint8
	}{{flow.EndIdle, 1}, {flow.EndActive, 2}, {flow.EndFlush, 4}, {flow.EndEvicted, 5}} {
		if got := EndReason(tc.r); got != tc.want {
			t.Errorf("EndReason(%v) = %d, want %d", tc.r, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no addr", Config{}},
		{"bad transport", Config{Addr: "127.0.0.1:4739", Transport: "sctp"}},
		{"tiny mtu", Config{Addr: "127.0.0.1:4739", MTU: 100}},
		{"huge mtu", Config{Addr: "127.0.0.1:4739", MTU: 70000}},
		{"bad addr", Config{Addr: "nonsense"}},
		{"bad tcp addr", Config{Addr: "nonsense", Transport: "tcp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := New(tc.cfg); err == nil {
				e.Close()
				t.Error("accepted")
			}
		})
	}
}

// listenUDP returns a loopback collector socket.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readUDP(t *testing.T, c *net.UDPConn, n int) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 65536)
	for len(out) < n {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, bytes.Clone(buf[:k]))
	}
	return out
}

func TestExportUDP(t *testing.T) {
	c := listenUDP(t)
	e, err := New(Config{Addr: c.LocalAddr().String(), ObservationDomain: 7})
	if err != nil {
		t.Fatal(err)
	}
	e.Write(tlsRecord())
	e.Write(dnsRecord6())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Write(tlsRecord()); err == nil {
		t.Error("Write after Close succeeded")
	}
	dm, got := decodeAll(t, readUDP(t, c, 1))
	if len(got) != 4 || dm[0].domain != 7 {
		t.Fatalf("%d records, domain %d", len(got), dm[0].domain)
	}
	if st := e.Stats(); st.Records != 4 || st.Messages != 1 || st.Templates != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFlushInterval(t *testing.T) {
	c := listenUDP(t)
	e, err := New(Config{Addr: c.LocalAddr().String(), FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Write(tlsRecord())
	_, got := decodeAll(t, readUDP(t, c, 1)) // before Close: the ticker sent it
	if len(got) != 2 {
		t.Errorf("%d records", len(got))
	}
}

func TestExportTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		msgs [][]byte
		err  error
	}
	res := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer c.Close()
		var r result
		for {
			var h [16]byte
			if _, err := io.ReadFull(c, h[:]); err != nil {
				if err != io.EOF {
					r.err = err
				}
				res <- r
				return
			}
			b := make([]byte, binary.BigEndian.Uint16(h[2:]))
			copy(b, h[:])
			if _, err := io.ReadFull(c, b[16:]); err != nil {
				r.err = err
				res <- r
				return
			}
			r.msgs = append(r.msgs, b)
		}
	}()
	e, err := New(Config{Addr: ln.Addr().String(), Transport: "tcp", MTU: 512})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		e.Write(tlsRecord())
	}
	e.Close()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	dm, got := decodeAll(t, r.msgs)
	if len(got) != 40 {
		t.Errorf("%d records, want 40", len(got))
	}
	if len(dm[0].templates) != 2 || len(dm[0].records) != 0 {
		t.Errorf("first TCP message: %d templates, %d records", len(dm[0].templates), len(dm[0].records))
	}
	for i, m := range dm[1:] {
		if len(m.templates) != 0 {
			t.Errorf("message %d repeats templates on TCP", i+1)
		}
	}
	if dm[0].seq != dm[1].seq {
		t.Errorf("template message seq %d, first data seq %d", dm[0].seq, dm[1].seq)
	}
}

func TestTCPCollectorDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connects are refused
	var logs int
	e, err := New(Config{Addr: addr, Transport: "tcp", Logf: func(string, ...any) { logs++ }})
	if err != nil {
		t.Fatal(err)
	}
	e.Write(tlsRecord())
	e.Close()
	if st := e.Stats(); st.Dropped != 2 || st.SendErrors == 0 {
		t.Errorf("stats %+v", st)
	}
	if logs == 0 {
		t.Error("no log")
	}
}

func TestQueueFullDrops(t *testing.T) {
	e, err := newExporter(Config{Addr: "127.0.0.1:1", QueueLen: 2, MTU: minMTU})
	if err != nil {
		t.Fatal(err)
	}
	// No sender: after two full messages are queued the pool is empty.
	for range 100 {
		e.Write(tlsRecord())
	}
	st := e.Stats()
	if st.Dropped == 0 || st.Records+st.Dropped != 200 {
		t.Errorf("stats %+v", st)
	}
}

func TestNoAllocs(t *testing.T) {
	c := listenUDP(t)
	go func() { // drain so the socket buffer never fills
		buf := make([]byte, 65536)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	cp, _ := anon.NewCryptoPAn(make([]byte, 32))
	e, err := New(Config{Addr: c.LocalAddr().String(), Anon: cp})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r4, r6 := tlsRecord(), dnsRecord6()
	for range 100 {
		e.Write(r4)
	}
	if n := testing.AllocsPerRun(1000, func() {
		e.Write(r4)
		e.Write(r6)
	}); n != 0 {
		t.Errorf("allocs per Write pair = %v, want 0", n)
	}
}

// BenchmarkWrite measures Write against a live loopback UDP collector. Far
// more flows arrive than one socket can send, so most are dropped (by
// design: Write never waits); dropfrac reports how many.
//
//	BenchmarkWrite-2    8459874    266.9 ns/op    0.9092 dropfrac    3746145 flows/s    0 B/op    0 allocs/op
func BenchmarkWrite(b *testing.B) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	e, _ := New(Config{Addr: c.LocalAddr().String(), QueueLen: 1024})
	r := tlsRecord()
	b.ReportAllocs()
	for b.Loop() {
		e.Write(r)
	}
	e.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	st := e.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(max(1, st.Records+st.Dropped)), "dropfrac")
}

// BenchmarkEncode is the encoder alone: one flow = two data records.
//
//	BenchmarkEncode-2   8138353    536.8 ns/op    1862883 flows/s    0 B/op    0 allocs/op
func BenchmarkEncode(b *testing.B) {
	e, _ := newExporter(Config{Addr: "127.0.0.1:1", QueueLen: 4})
	r := tlsRecord()
	b.ReportAllocs()
	for b.Loop() {
		e.Write(r)
		if len(e.out) > 0 {
			e.free <- <-e.out
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
