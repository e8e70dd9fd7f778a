package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/marker"
)

// resolver asks one DNS server directly over UDP (TCP when truncated), so
// every response is seen; addr == "" uses Go's resolver (no raw view).
type resolver struct {
	addr    string // ip:port
	dupWait time.Duration
}

// SystemResolver returns the first nameserver of /etc/resolv.conf as
// ip:port, or "" when there is none.
func SystemResolver() string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return ""
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port)
}

// lookup resolves host (A and AAAA). It returns the queries with every
// response, the addresses a normal client would use (the first answer of
// each query) and a failure when there are none.
func (r *resolver) lookup(ctx context.Context, host string, timeout time.Duration) ([]DNSQuery, []netip.Addr, string) {
	if r.addr == "" {
		return r.lookupGo(ctx, host, timeout)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout+r.dupWait)
	defer cancel()
	fqdn := dns.Fqdn(host)
	queries := []DNSQuery{
		{Hostname: host, QueryType: "A", ResolverAddress: r.addr, Engine: "udp"},
		{Hostname: host, QueryType: "AAAA", ResolverAddress: r.addr, Engine: "udp"},
	}
	qtypes := []uint16{dns.TypeA, dns.TypeAAAA}
	msgs := make([]*dns.Msg, 2)
	// Connected socket: the kernel drops datagrams from other sources, so
	// what we see claims to come from the resolver (as injected ones do).
	conn, err := net.Dial("udp", r.addr)
	if err != nil {
		f := classify(err)
		for i := range queries {
			queries[i].Failure = f
		}
		return queries, nil, f
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	for i, qt := range qtypes {
		m := new(dns.Msg)
		m.SetQuestion(fqdn, qt)
		m.RecursionDesired = true
		m.SetEdns0(1232, false) // EDE needs EDNS (RFC 8914)
		msgs[i] = m
		wire, err := m.Pack()
		if err == nil {
			_, err = conn.Write(wire)
		}
		if err != nil {
			queries[i].Failure = classify(err)
		}
	}
	deadline, _ := ctx.Deadline()
	firstDeadline := start.Add(timeout)
	_ = conn.SetReadDeadline(firstDeadline)
	buf := make([]byte, 65535)
	extended := false
	var truncated [2]bool
	for {
		n, err := conn.Read(buf)
		if err != nil {
			break // deadline, ICMP, cancel
		}
		in := new(dns.Msg)
		if in.Unpack(buf[:n]) != nil || len(in.Question) != 1 {
			continue
		}
		i := slices.IndexFunc(msgs, func(m *dns.Msg) bool {
			return m.Id == in.Id && strings.EqualFold(in.Question[0].Name, fqdn) && in.Question[0].Qtype == m.Question[0].Qtype
		})
		if i < 0 || len(queries[i].Responses) >= 8 {
			continue
		}
		if in.Truncated {
			truncated[i] = true
		}
		queries[i].Responses = append(queries[i].Responses, responseOf(in, time.Since(start)))
		if !extended && len(queries[0].Responses) > 0 && len(queries[1].Responses) > 0 {
			// Keep listening a little: an injector's answer wins the
			// race, the real one arrives after it.
			extended = true
			_ = conn.SetReadDeadline(minTime(time.Now().Add(r.dupWait), deadline))
		}
	}
	for i := range queries {
		q := &queries[i]
		q.T = seconds(time.Since(start))
		if len(q.Responses) == 0 {
			if q.Failure == "" {
				q.Failure = FailTimeout
				if ctx.Err() == context.Canceled {
					q.Failure = FailInterrupted
				}
			}
			continue
		}
		if truncated[i] {
			c := &dns.Client{Net: "tcp", Timeout: timeout}
			if in, _, err := c.ExchangeContext(ctx, msgs[i], r.addr); err == nil {
				q.Engine = "tcp"
				q.Responses = append(q.Responses, responseOf(in, time.Since(start)))
			}
		}
		q.Duplicate = responsesDiffer(q.Responses)
		q.Failure = rcodeFailure(q.Responses[0])
	}
	addrs := firstAddrs(queries)
	if len(addrs) > 0 {
		return queries, addrs, ""
	}
	return queries, nil, overallFailure(queries)
}

func (r *resolver) lookupGo(ctx context.Context, host string, timeout time.Duration) ([]DNSQuery, []netip.Addr, string) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	q := DNSQuery{Hostname: host, QueryType: "ANY", ResolverAddress: "system", Engine: "go", T: seconds(time.Since(start))}
	if err != nil {
		q.Failure = classify(err)
		var de *net.DNSError
		if errors.As(err, &de) && de.IsTimeout {
			q.Failure = FailTimeout
		}
		return []DNSQuery{q}, nil, q.Failure
	}
	resp := DNSResponse{T: q.T, Rcode: "NOERROR"}
	for _, ip := range ips {
		ip = ip.Unmap()
		resp.Addrs = append(resp.Addrs, ip.String())
	}
	q.Responses = []DNSResponse{resp}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return []DNSQuery{q}, ips, ""
}

func responseOf(m *dns.Msg, t time.Duration) DNSResponse {
	r := DNSResponse{T: seconds(t), Rcode: dns.RcodeToString[m.Rcode], Answers: []string{}}
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			r.Answers = append(r.Answers, "A "+v.A.String())
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
				r.Addrs = append(r.Addrs, a.String())
			}
		case *dns.AAAA:
			r.Answers = append(r.Answers, "AAAA "+v.AAAA.String())
			if a, ok := netip.AddrFromSlice(v.AAAA); ok {
				r.Addrs = append(r.Addrs, a.Unmap().String())
			}
		case *dns.CNAME:
			r.Answers = append(r.Answers, "CNAME "+v.Target)
		default:
			r.Answers = append(r.Answers, dns.TypeToString[rr.Header().Rrtype])
		}
	}
	if opt := m.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				x := EDE{InfoCode: e.InfoCode, ExtraText: printable([]byte(e.ExtraText), 300)}
				if rule, notice, ok := marker.ParseEDEText(e.ExtraText); ok {
					x.Weir, x.WeirRule, x.WeirNotice = true, rule, notice
				}
				r.EDE = append(r.EDE, x)
			}
		}
	}
	return r
}

// responsesDiffer: two responses to one query that disagree (rcode or
// record set) mean two senders; identical repeats are retransmissions.
func responsesDiffer(rs []DNSResponse) bool {
	for _, r := range rs[1:] {
		if r.Rcode != rs[0].Rcode || !sameSet(r.Answers, rs[0].Answers) {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func rcodeFailure(r DNSResponse) string {
	switch r.Rcode {
	case "NOERROR":
		if len(r.Addrs) == 0 {
			return FailNoAnswer
		}
		return ""
	case "NXDOMAIN":
		return FailNXDomain
	case "SERVFAIL":
		return FailDNSServFail
	case "REFUSED":
		return FailDNSRefused
	}
	return FailDNSOther
}

func firstAddrs(qs []DNSQuery) []netip.Addr {
	var out []netip.Addr
	for _, q := range qs {
		if len(q.Responses) == 0 {
			continue
		}
		for _, s := range q.Responses[0].Addrs {
			if a, err := netip.ParseAddr(s); err == nil && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// overallFailure picks the most telling failure among the queries:
// NXDOMAIN beats an empty answer beats a timeout.
func overallFailure(qs []DNSQuery) string {
	order := []string{FailNXDomain, FailDNSRefused, FailDNSServFail, FailDNSOther, FailNoAnswer, FailTimeout}
	for _, f := range order {
		for _, q := range qs {
			if q.Failure == f {
				return f
			}
		}
	}
	for _, q := range qs {
		if q.Failure != "" {
			return q.Failure
		}
	}
	return FailNoAnswer
}

func minTime(a, b time.Time) time.Time {
	if b.IsZero() || a.Before(b) {
		return a
	}
	return b
}

func seconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }
