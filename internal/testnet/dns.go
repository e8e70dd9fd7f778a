package testnet

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Zone answers A/AAAA for every name under "test." (authoritative, TTL 60):
// the primary server addresses, or the second ones for names registered with
// Second. Other zones get REFUSED. Safe for concurrent use.
type Zone struct {
	mu       sync.RWMutex
	v4, v6   netip.Addr
	second   map[string]bool
	override map[string]override
}

type override struct {
	rcode   int
	edeCode uint16
	edeText string
}

// NewZone returns a zone answering with ServerIP4/ServerIP6, and with
// Server2IP4/Server2IP6 for the names in second.
func NewZone(second ...string) *Zone {
	z := &Zone{v4: ServerIP4, v6: ServerIP6, second: map[string]bool{}, override: map[string]override{}}
	for _, s := range second {
		z.second[dns.Fqdn(strings.ToLower(s))] = true
	}
	return z
}

// Override makes name answer rcode with no records, plus an Extended DNS
// Error option when edeCode != 0 (lets tests check the client side parsing
// of what a blocking resolver sends).
func (z *Zone) Override(name string, rcode int, edeCode uint16, edeText string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.override[dns.Fqdn(strings.ToLower(name))] = override{rcode, edeCode, edeText}
}

// ServeDNS implements dns.Handler.
func (z *Zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if name != "test." && !strings.HasSuffix(name, ".test.") {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	}
	z.mu.RLock()
	ov, isOv := z.override[name]
	v4, v6 := z.v4, z.v6
	if z.second[name] {
		v4, v6 = Server2IP4, Server2IP6
	}
	z.mu.RUnlock()
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(1232, false)
	}
	if isOv {
		m.Rcode = ov.rcode
		if ov.edeCode != 0 {
			opt := m.IsEdns0()
			if opt == nil {
				m.SetEdns0(1232, false)
				opt = m.IsEdns0()
			}
			opt.Option = append(opt.Option, &dns.EDNS0_EDE{InfoCode: ov.edeCode, ExtraText: ov.edeText})
		}
		_ = w.WriteMsg(m)
		return
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
	switch q.Qtype {
	case dns.TypeA:
		hdr.Rrtype = dns.TypeA
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: v4.AsSlice()})
	case dns.TypeAAAA:
		hdr.Rrtype = dns.TypeAAAA
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: v6.AsSlice()})
	}
	_ = w.WriteMsg(m)
}

// DNS is the authoritative server for *.test on UDP and TCP port 53 of the
// server namespace (all addresses).
type DNS struct {
	Zone *Zone
	udp  *dns.Server
	tcp  *dns.Server
}

// Close stops the server (also done by the Net's cleanup).
func (d *DNS) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = d.udp.ShutdownContext(ctx)
	_ = d.tcp.ShutdownContext(ctx)
}

// StartDNS starts the DNS server for the Net's names; it returns once both
// sockets serve. The client namespace's resolv.conf points at it, so curl
// and other libc clients in the client namespace resolve *.test through the
// router.
func (n *Net) StartDNS() *DNS {
	n.t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	err := n.Go(n.Server, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", ":53"); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", ":53"); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		n.t.Fatalf("testnet: dns server: %v", err)
	}
	d := &DNS{Zone: NewZone(n.Names2...)}
	started := make(chan struct{}, 2)
	d.udp = &dns.Server{PacketConn: pc, Handler: d.Zone, NotifyStartedFunc: func() { started <- struct{}{} }}
	d.tcp = &dns.Server{Listener: ln, Handler: d.Zone, NotifyStartedFunc: func() { started <- struct{}{} }}
	errc := make(chan error, 2)
	go func() { errc <- d.udp.ActivateAndServe() }()
	go func() { errc <- d.tcp.ActivateAndServe() }()
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			n.t.Fatalf("testnet: dns server: %v", err)
		case <-time.After(5 * time.Second):
			n.t.Fatal("testnet: dns server did not start in 5s")
		}
	}
	n.t.Cleanup(d.Close)
	return d
}
