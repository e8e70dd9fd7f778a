package probe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weirnet/weir/internal/marker"
)

// Thresholds tune the throughput comparison.
type Thresholds struct {
	// MinRate (bytes/s): a valid sample below it is throttled. 0 = off.
	MinRate float64
	// ThrottleRatio: a valid sample below ratio × the control's rate is
	// throttled. 0 = off.
	ThrottleRatio float64
}

// finding is one check's conclusion; the first check in step order wins.
type finding struct {
	verdict  Verdict
	attr     Attribution
	evidence []string
}

// Decide fills m.Verdict, m.Attribution, m.Evidence and adds to m.Notes
// from m.TestKeys (including the control's answer, if any). It is pure:
// the same test keys always give the same verdict.
func Decide(m *Measurement, th Thresholds) {
	tk := &m.TestKeys
	ctl := tk.Control
	var notes []string
	if ctl == nil {
		why := "no control configured"
		if tk.ControlFailure != "" {
			why = "the control did not answer (" + tk.ControlFailure + ")"
		}
		notes = append(notes, why+": decided on local evidence only (markers, injected packets, racing DNS answers)")
	}
	checks := []func(*TestKeys, *ControlResponse, *[]string) *finding{
		checkDNS, checkTCP, checkTLS, checkHTTP, checkQUIC,
		func(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
			return checkThroughput(tk, ctl, th, notes)
		},
	}
	var f *finding
	for _, c := range checks {
		if f = c(tk, ctl, &notes); f != nil {
			break
		}
	}
	if f == nil {
		f = &finding{verdict: Inconclusive, attr: ByNone}
		if r := firstRequest(tk); r != nil && r.Failure == "" && r.StatusCode > 0 {
			f.verdict = Accessible
			e := fmt.Sprintf("http: %d %s, %d bytes, %.3fs via %s", r.StatusCode, r.Proto, r.BodyLength, r.T, r.Address)
			if ctl != nil {
				e += fmt.Sprintf("; control: %d, %d bytes", ctl.HTTPRequest.StatusCode, ctl.HTTPRequest.BodyLength)
			}
			f.evidence = append(f.evidence, e)
		} else if len(notes) > 0 {
			f.evidence = append(f.evidence, "no step shows interference, but the page was not fetched (see notes)")
		}
	}
	m.Verdict, m.Attribution, m.Evidence = f.verdict, f.attr, f.evidence
	if m.Evidence == nil {
		m.Evidence = []string{}
	}
	m.Notes = append(m.Notes, notes...)
}

func firstRequest(tk *TestKeys) *HTTPRequest {
	if len(tk.Requests) == 0 {
		return nil
	}
	return &tk.Requests[0]
}

func checkDNS(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
	for _, q := range tk.Queries {
		for _, r := range q.Responses {
			for _, e := range r.EDE {
				if e.Weir {
					return &finding{DNSBlocked, ByWeir, []string{fmt.Sprintf(
						"dns: %s %s answered %s with Weir's Extended DNS Error %d (rule=%s notice=%s)",
						q.QueryType, q.Hostname, r.Rcode, e.InfoCode, e.WeirRule, e.WeirNotice)}}
				}
			}
		}
	}
	for _, q := range tk.Queries {
		if q.Duplicate && len(q.Responses) > 1 {
			a, b := q.Responses[0], q.Responses[1]
			return &finding{DNSBlocked, Unmarked, []string{fmt.Sprintf(
				"dns: two different answers to one %s %s query from %s: %s %v at %.3fs, then %s %v at %.3fs: an on-path injector raced the resolver",
				q.QueryType, q.Hostname, q.ResolverAddress, a.Rcode, a.Answers, a.T, b.Rcode, b.Answers, b.T)}}
		}
	}
	for _, q := range tk.Queries {
		if len(q.Responses) == 0 {
			continue
		}
		for _, e := range q.Responses[0].EDE {
			if e.InfoCode >= 15 && e.InfoCode <= 17 {
				return &finding{DNSBlocked, Unmarked, []string{fmt.Sprintf(
					"dns: the resolver declares %s %s blocked: %s with EDE %d %q (not Weir's marker)",
					q.QueryType, q.Hostname, q.Responses[0].Rcode, e.InfoCode, e.ExtraText)}}
			}
		}
	}
	if tk.DNSFailure != "" {
		switch {
		case ctl == nil:
			*notes = append(*notes, "dns: lookup failed ("+tk.DNSFailure+"); without a control this may be a missing name")
		case len(ctl.DNS.Addrs) > 0:
			return &finding{DNSBlocked, Unmarked, []string{fmt.Sprintf(
				"dns: lookup failed (%s) while the control resolved %v", tk.DNSFailure, ctl.DNS.Addrs)}}
		default:
			*notes = append(*notes, fmt.Sprintf("dns: lookup failed (%s) for the control too (%s): the name does not resolve anywhere", tk.DNSFailure, ctl.DNS.Failure))
		}
		return nil
	}
	if ctl != nil && len(ctl.DNS.Addrs) > 0 && len(tk.Addrs) > 0 && !overlaps(tk.Addrs, ctl.DNS.Addrs) {
		for _, h := range tk.TLSHandshakes {
			if h.Failure == "" {
				*notes = append(*notes, "dns: addresses differ from the control's, but a TLS handshake validated the certificate: consistent")
				return nil
			}
		}
		return &finding{DNSBlocked, Unmarked, []string{fmt.Sprintf(
			"dns: the probe's addresses %v share none with the control's %v, and no TLS handshake validated them", tk.Addrs, ctl.DNS.Addrs)}}
	}
	return nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// describe renders sniffer evidence for the report.
func describe(r *ResetEvidence) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(r.Kind)
	if r.TTL > 0 {
		fmt.Fprintf(&b, " ttl=%d", r.TTL)
	}
	if r.IPID != nil {
		fmt.Fprintf(&b, " ip.id=0x%04x", *r.IPID)
	}
	if r.SynAckTTL > 0 {
		fmt.Fprintf(&b, " (server SYN-ACK ttl=%d", r.SynAckTTL)
		if r.SynAckIPID != nil {
			fmt.Fprintf(&b, " ip.id=0x%04x", *r.SynAckIPID)
		}
		b.WriteString(")")
	}
	if r.Payload != "" {
		fmt.Fprintf(&b, " payload %q", r.Payload)
	}
	switch {
	case r.Weir && (r.WeirRule != "" || r.WeirNotice != ""):
		fmt.Fprintf(&b, " Weir rule=%s notice=%s", r.WeirRule, r.WeirNotice)
	case r.Weir:
		b.WriteString(" Weir") // IP ID only: the packet names no rule
	}
	if r.Why != "" {
		b.WriteString(": " + r.Why)
	}
	return b.String()
}

func withReset(s string, r *ResetEvidence) string {
	if d := describe(r); d != "" {
		return s + "; " + d
	}
	return s
}

func isInjected(r *ResetEvidence) bool { return r != nil && r.Injected }

func attrOf(r *ResetEvidence) Attribution {
	if r != nil && r.Weir {
		return ByWeir
	}
	return Unmarked
}

func checkTCP(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
	var ok, failed int
	for _, c := range tk.TCPConnect {
		if c.Failure == "" {
			ok++
		} else {
			failed++
		}
	}
	for _, c := range tk.TCPConnect {
		if c.Failure == "" {
			continue
		}
		key := addrPortString(c.IP, c.Port)
		unreach := c.Failure == FailNetUnreachable || c.Failure == FailHostUnreachable
		switch {
		case c.Reset != nil && c.Reset.Weir:
			return &finding{TCPBlocked, ByWeir, []string{withReset("tcp: connect to "+key+" "+c.Failure, c.Reset)}}
		case ctl != nil && ctl.TCPConnect[key].Status && !(unreach && ok > 0):
			return &finding{TCPBlocked, attrOf(c.Reset), []string{withReset(
				"tcp: connect to "+key+" failed ("+c.Failure+") while the control connected", c.Reset)}}
		case ctl == nil && isInjected(c.Reset):
			return &finding{TCPBlocked, Unmarked, []string{withReset("tcp: connect to "+key+" "+c.Failure, c.Reset)}}
		}
	}
	if failed > 0 && ok == 0 {
		if ctl == nil {
			*notes = append(*notes, "tcp: every connect failed; without a control a dead server looks the same")
		} else {
			*notes = append(*notes, "tcp: every connect failed, for the control too: the server looks down")
		}
	}
	return nil
}

func addrPortString(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func ctlTLSOK(ctl *ControlResponse, addr string) bool {
	if ctl == nil {
		return false
	}
	if s, ok := ctl.TLSHandshake[addr]; ok {
		return s.Status
	}
	for _, s := range ctl.TLSHandshake {
		if s.Status {
			return true
		}
	}
	return false
}

func checkTLS(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
	for _, h := range tk.TLSHandshakes {
		if h.Failure == "" {
			continue
		}
		what := "tls: handshake with " + h.Address + " (SNI " + h.ServerName + ") "
		switch h.Failure {
		case FailReset:
			what += "reset after the ClientHello"
		case FailTimeout:
			what += "timed out after the ClientHello"
		case FailEOF:
			what += "closed after the ClientHello"
		case FailSSLHostname, FailSSLAuthority, FailSSLCertificate:
			what += "got a certificate that does not validate (" + h.Failure + ")"
		default:
			what += "failed (" + h.Failure + ")"
		}
		switch {
		case h.Reset != nil && h.Reset.Weir:
			return &finding{TLSSNIBlocked, ByWeir, []string{withReset(what, h.Reset)}}
		case ctlTLSOK(ctl, h.Address):
			return &finding{TLSSNIBlocked, attrOf(h.Reset), []string{withReset(what+"; the control's handshake succeeded", h.Reset)}}
		case ctl == nil && isInjected(h.Reset):
			return &finding{TLSSNIBlocked, Unmarked, []string{withReset(what, h.Reset)}}
		case ctl == nil:
			*notes = append(*notes, withReset(what+"; no control to compare", h.Reset))
		}
	}
	return nil
}

func checkHTTP(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
	r := firstRequest(tk)
	if r == nil {
		return nil
	}
	if r.Failure == "" && (r.StatusCode == 451 || r.BlockedBy != "") {
		e := fmt.Sprintf("http: %d from %s", r.StatusCode, r.Address)
		if r.BlockedBy != "" {
			e += `, Link rel="blocked-by" <` + r.BlockedBy + ">"
		}
		if r.WeirRule != "" {
			return &finding{HTTPBlocked, ByWeir, []string{e + ", Weir-Rule: " + r.WeirRule}}
		}
		return &finding{HTTPBlocked, Unmarked, []string{e + " (RFC 7725 notice without Weir's rule header)"}}
	}
	ctlOK := ctl != nil && ctl.HTTPRequest.Failure == "" && ctl.HTTPRequest.StatusCode > 0
	if r.Failure != "" {
		what := fmt.Sprintf("http: GET %s via %s failed (%s)", r.URL, r.Address, r.Failure)
		switch {
		case r.Reset != nil && r.Reset.Weir:
			return &finding{HTTPBlocked, ByWeir, []string{withReset(what, r.Reset)}}
		case ctlOK:
			return &finding{HTTPBlocked, attrOf(r.Reset), []string{withReset(what+fmt.Sprintf("; the control got %d", ctl.HTTPRequest.StatusCode), r.Reset)}}
		case ctl == nil && isInjected(r.Reset):
			return &finding{HTTPBlocked, Unmarked, []string{withReset(what, r.Reset)}}
		default:
			*notes = append(*notes, withReset(what, r.Reset))
		}
		return nil
	}
	if !ctlOK {
		return nil
	}
	c := ctl.HTTPRequest
	if r.StatusCode != c.StatusCode {
		return &finding{HTTPBlocked, Unmarked, []string{fmt.Sprintf(
			"http: status %d (title %q, %d bytes) where the control got %d (title %q, %d bytes)",
			r.StatusCode, r.Title, r.BodyLength, c.StatusCode, c.Title, c.BodyLength)}}
	}
	// OONI's comparison: a body much shorter than the control's and a
	// different title look like a block page served with 200.
	if c.BodyLength > 0 && r.BodyLength < c.BodyLength && float64(r.BodyLength)/float64(c.BodyLength) < 0.7 && r.Title != c.Title {
		return &finding{HTTPBlocked, Unmarked, []string{fmt.Sprintf(
			"http: body %d bytes (title %q) against the control's %d bytes (title %q): a different page",
			r.BodyLength, r.Title, c.BodyLength, c.Title)}}
	}
	return nil
}

func checkQUIC(tk *TestKeys, ctl *ControlResponse, notes *[]string) *finding {
	if len(tk.QUICHandshakes) == 0 {
		return nil
	}
	q := tk.QUICHandshakes[0]
	if q.Failure == "" {
		return nil
	}
	what := fmt.Sprintf("quic: handshake with %s (SNI %s) failed (%s)", q.Address, q.ServerName, q.Failure)
	switch {
	case q.ICMP != nil && q.ICMP.Weir:
		return &finding{QUICBlocked, ByWeir, []string{withReset(what, q.ICMP)}}
	case ctl != nil && ctl.QUIC != nil && ctl.QUIC.Status:
		return &finding{QUICBlocked, attrOf(q.ICMP), []string{withReset(what+"; the control's QUIC handshake succeeded", q.ICMP)}}
	case ctl == nil:
		*notes = append(*notes, withReset(what+"; without a control the server may simply not speak QUIC", q.ICMP))
	}
	return nil
}

func checkThroughput(tk *TestKeys, ctl *ControlResponse, th Thresholds, notes *[]string) *finding {
	s := tk.Throughput
	if s == nil {
		return nil
	}
	if !s.Valid {
		if s.Failure == "" && s.Bytes > 0 {
			*notes = append(*notes, fmt.Sprintf("throughput: %d bytes in %.3fs is too small a sample to judge the rate (use --sample)", s.Bytes, s.Seconds))
		}
		return nil
	}
	// The rate says whether the path is slow; only Weir's DSCP marker on
	// the sample's own packets says who slowed it.
	attr, mark := Unmarked, dscpWhy(s.DSCP)
	if s.DSCP != nil && s.DSCP.Weir {
		attr = ByWeir
	}
	sample := fmt.Sprintf("throughput: %s (%d bytes in %.2fs)", fmtRate(s.Rate), s.Bytes, s.Seconds)
	if th.MinRate > 0 && s.Rate < th.MinRate {
		return &finding{Throttled, attr, []string{sample + " is below the expected " + fmtRate(th.MinRate) + mark}}
	}
	ctlRate := ctl != nil && ctl.Throughput != nil && ctl.Throughput.Valid && th.ThrottleRatio > 0
	if ctlRate && s.Rate < th.ThrottleRatio*ctl.Throughput.Rate {
		return &finding{Throttled, attr, []string{fmt.Sprintf("%s against the control's %s: below %.0f%% of it%s",
			sample, fmtRate(ctl.Throughput.Rate), th.ThrottleRatio*100, mark)}}
	}
	if attr == ByWeir {
		// Weir announces the throttle; with no rate to compare, its word
		// is the evidence (as a Weir EDE is without a control). With one,
		// a marked sample that is not slow is noted, not flagged: the
		// configured rate may exceed what the path carries anyway.
		if th.MinRate <= 0 && !ctlRate {
			return &finding{Throttled, ByWeir, []string{sample + ", no rate to compare with" + mark}}
		}
		*notes = append(*notes, sample+" is not below the thresholds"+mark)
	}
	return nil
}

// dscpWhy renders the sample's DSCP evidence for a throughput finding.
func dscpWhy(d *DSCPEvidence) string {
	switch {
	case d == nil:
		return ""
	case d.Weir:
		return fmt.Sprintf("; %d of %d data packets marked DSCP %d (Lower Effort): Weir's throttle marker", d.LowerEffort, d.Packets, marker.ThrottleDSCP)
	}
	return fmt.Sprintf("; data packets' DSCP %v (%d packets): no Weir throttle marker", d.Values, d.Packets)
}
