package engine_test

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/engine"
)

// TestEngine_dnsLearnedHost: a DNS answer seen on the link names the
// server of a later flow that carries no name of its own (a ClientHello
// without SNI), marked as learned: the host, and the app when the catalog
// knows the name. A flow that carries its own name keeps it; an address
// nobody resolved gets no host.
func TestEngine_dnsLearnedHost(t *testing.T) {
	resolver := [4]byte{10, 9, 0, 53}
	fbAddr := [4]byte{192, 0, 2, 10}    // TEST-NET-1: in no app's published prefixes
	intraAddr := [4]byte{192, 0, 2, 11} // a name the catalog does not know
	unresolved := [4]byte{192, 0, 2, 99}

	got := map[netip.Addr]*classify.Result{}
	eng, err := engine.New(engine.DefaultConfig(), newTestClassifier(t, true), func(e *engine.FlowEnd) {
		if e.Class != nil {
			r := *e.Class
			got[e.Flow.Key.Addr(!e.Flow.ClientIsLo)] = &r
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC).UnixNano()
	step := func() int64 { ts += int64(time.Millisecond); return ts }

	sport := uint16(50000)
	answer := func(name string, addr [4]byte) {
		sport++
		q := new(mdns.Msg)
		q.SetQuestion(name, mdns.TypeA)
		r := new(mdns.Msg)
		r.SetReply(q)
		r.Answer = append(r.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300}, A: net.IP(addr[:])})
		query := frame{udp: true, src: [4]byte{10, 1, 0, 2}, dst: resolver, sport: sport, dport: 53}
		eng.Packet(query.packet(pack(t, q), step()))
		eng.Packet(query.reversed().packet(pack(t, r), step()))
	}
	handshake := func(server [4]byte, sni string) {
		sport++
		c := frame{src: [4]byte{10, 1, 0, 2}, dst: server, sport: sport, dport: 443}
		syn, synack, ack := c, c.reversed(), c
		syn.flags, syn.seq = 0x02, 1000
		synack.flags, synack.seq, synack.ack = 0x12, 5000, 1001
		ack.flags, ack.seq, ack.ack = 0x18, 1001, 5001
		eng.Packet(syn.packet(nil, step()))
		eng.Packet(synack.packet(nil, step()))
		eng.Packet(ack.packet(clientHello(t, sni), step()))
	}

	answer("www.facebook.com.", fbAddr)
	answer("intranet.example.", intraAddr)
	handshake(fbAddr, "")
	handshake(intraAddr, "")
	handshake(unresolved, "")
	eng.Flush()

	check := func(addr [4]byte, host string, hostConf classify.Confidence, app string, appConf classify.Confidence, why string) {
		t.Helper()
		a := netip.AddrFrom4(addr)
		r := got[a]
		if r == nil {
			t.Fatalf("no flow to %v", a)
		}
		if r.Host != host || r.HostConf() != hostConf || r.App != app || (app != "" && r.AppConf != appConf) {
			t.Errorf("%v: host %q (%v), app %q (%v); want host %q (%v), app %q (%v)", a, r.Host, r.HostConf(), r.App, r.AppConf, host, hostConf, app, appConf)
		}
		if w := r.Why(); !strings.Contains(w, why) {
			t.Errorf("%v: why %q, want it to contain %q", a, w, why)
		}
	}
	check(fbAddr, "www.facebook.com", classify.ConfDNSCache, "facebook", classify.ConfDNSCache,
		"server address answered for www.facebook.com in DNS → facebook")
	check(intraAddr, "intranet.example", classify.ConfDNSCache, "", 0,
		"TLS ClientHello; server address answered for intranet.example in DNS")
	check(unresolved, "", classify.ConfUnknown, "", 0, "TLS ClientHello")
	if w := got[netip.AddrFrom4(unresolved)].Why(); strings.Contains(w, "DNS") {
		t.Errorf("unresolved address: why %q mentions DNS", w)
	}

	// A flow to a resolved address that names its server itself keeps
	// its own name.
	handshake(intraAddr, "other.example")
	eng.Flush()
	check(intraAddr, "other.example", classify.ConfDPI, "", 0, "TLS ClientHello SNI")
	if w := got[netip.AddrFrom4(intraAddr)].Why(); strings.Contains(w, "DNS") {
		t.Errorf("flow with SNI: why %q mentions DNS", w)
	}
}

// clientHello is the first flight of Go's TLS client: a ClientHello, with
// server_name only when sni is not empty.
func clientHello(t *testing.T, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: sni == ""}).Handshake()
	buf := make([]byte, 8192)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func pack(t *testing.T, m *mdns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
