package probe

import (
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/marker"
)

// Synthetic step results: each case builds the test keys a probe would
// have recorded and names the verdict and attribution Decide must give.

func okDNS(addrs ...string) []DNSQuery {
	var ans []string
	for _, a := range addrs {
		ans = append(ans, "A "+a)
	}
	return []DNSQuery{{Hostname: "x.test", QueryType: "A", ResolverAddress: "10.0.0.53:53",
		Responses: []DNSResponse{{Rcode: "NOERROR", Answers: ans, Addrs: addrs}}}}
}

func okHTTP() []HTTPRequest {
	return []HTTPRequest{{URL: "https://x.test/", Address: "10.0.0.2:443", StatusCode: 200, Proto: "HTTP/2.0", Title: "Hello world", BodyLength: 1000}}
}

func ctlOK() *ControlResponse {
	return &ControlResponse{
		DNS:          ControlDNS{Addrs: []string{"10.0.0.2"}},
		TCPConnect:   map[string]ControlStatus{"10.0.0.2:443": {Status: true}},
		TLSHandshake: map[string]ControlStatus{"10.0.0.2:443": {Status: true}},
		HTTPRequest:  HTTPRequest{StatusCode: 200, Title: "Hello world", BodyLength: 1000},
		QUIC:         &ControlStatus{Status: true},
		Throughput:   &Throughput{Rate: 100e6, Bytes: 4 << 20, Valid: true},
	}
}

func baseKeys() TestKeys {
	return TestKeys{
		Queries:        okDNS("10.0.0.2"),
		Addrs:          []string{"10.0.0.2"},
		TCPConnect:     []TCPConnect{{IP: "10.0.0.2", Port: 443}},
		TLSHandshakes:  []TLSHandshake{{Address: "10.0.0.2:443", ServerName: "x.test"}},
		Requests:       okHTTP(),
		QUICHandshakes: []QUICHandshake{{Address: "10.0.0.2:443", ServerName: "x.test"}},
		Throughput:     &Throughput{Rate: 90e6, Bytes: 4 << 20, Valid: true},
	}
}

func ptr(i int) *int { return &i }

func TestDecide(t *testing.T) {
	injectedRST := &ResetEvidence{Kind: "rst", TTL: 64, IPID: ptr(0), SynAckTTL: 63, Injected: true, Why: "ttl differs"}
	weirRST := &ResetEvidence{Kind: "rst", TTL: 64, IPID: ptr(marker.IPID), Payload: string(marker.RSTPayload("r1", "https://n.test/r1")),
		Weir: true, WeirRule: "r1", WeirNotice: "https://n.test/r1", Injected: true}
	sameTTLRST := &ResetEvidence{Kind: "rst", TTL: 63, SynAckTTL: 63, Why: "ttl matches"}
	weirICMP := &ResetEvidence{Kind: "icmp 3/13", TTL: 64, IPID: ptr(marker.IPID), Weir: true, Injected: true, Why: "Weir marker (ip.id 0x5745)"}
	weirDSCP := &DSCPEvidence{Packets: 700, LowerEffort: 699, Values: []int{0, marker.ThrottleDSCP}, Weir: true}
	tests := []struct {
		name     string
		edit     func(tk *TestKeys)
		control  bool
		th       Thresholds
		verdict  Verdict
		attr     Attribution
		evidence string // substring of Evidence[0]
	}{
		{"accessible with control", func(*TestKeys) {}, true, Thresholds{ThrottleRatio: 0.2}, Accessible, ByNone, "http: 200"},
		{"accessible without control", func(*TestKeys) {}, false, Thresholds{}, Accessible, ByNone, "http: 200"},
		{"dns weir EDE", func(tk *TestKeys) {
			tk.Queries = []DNSQuery{{Hostname: "x.test", QueryType: "A", Responses: []DNSResponse{{Rcode: "NXDOMAIN",
				EDE: []EDE{{InfoCode: 15, ExtraText: marker.EDEText("r2", "https://n.test/r2"), Weir: true, WeirRule: "r2", WeirNotice: "https://n.test/r2"}}}}}}
			tk.DNSFailure, tk.Addrs, tk.TCPConnect, tk.TLSHandshakes, tk.Requests = FailNXDomain, nil, nil, nil, nil
		}, false, Thresholds{}, DNSBlocked, ByWeir, "rule=r2"},
		{"dns injection (racing answers)", func(tk *TestKeys) {
			tk.Queries[0].Responses = []DNSResponse{
				{T: 0.001, Rcode: "NOERROR", Answers: []string{"A 10.9.9.9"}, Addrs: []string{"10.9.9.9"}},
				{T: 0.004, Rcode: "NOERROR", Answers: []string{"A 10.0.0.2"}, Addrs: []string{"10.0.0.2"}},
			}
			tk.Queries[0].Duplicate = true
		}, false, Thresholds{}, DNSBlocked, Unmarked, "two different answers"},
		{"dns retransmit is not injection", func(tk *TestKeys) {
			r := tk.Queries[0].Responses[0]
			tk.Queries[0].Responses = append(tk.Queries[0].Responses, r)
		}, true, Thresholds{}, Accessible, ByNone, "http: 200"},
		{"dns nxdomain, control resolves", func(tk *TestKeys) {
			tk.Queries[0].Responses[0] = DNSResponse{Rcode: "NXDOMAIN"}
			tk.DNSFailure, tk.Addrs, tk.TCPConnect, tk.TLSHandshakes, tk.Requests, tk.Throughput = FailNXDomain, nil, nil, nil, nil, nil
		}, true, Thresholds{}, DNSBlocked, Unmarked, "control resolved"},
		{"dns nxdomain, no control", func(tk *TestKeys) {
			tk.DNSFailure, tk.Addrs, tk.TCPConnect, tk.TLSHandshakes, tk.Requests, tk.Throughput = FailNXDomain, nil, nil, nil, nil, nil
		}, false, Thresholds{}, Inconclusive, ByNone, ""},
		{"dns other resolver's EDE blocked", func(tk *TestKeys) {
			tk.Queries[0].Responses[0] = DNSResponse{Rcode: "NOERROR", EDE: []EDE{{InfoCode: 16, ExtraText: "censored by order 12"}}}
		}, false, Thresholds{}, DNSBlocked, Unmarked, "EDE 16"},
		{"dns inconsistent addresses, TLS failed", func(tk *TestKeys) {
			tk.Queries = okDNS("192.0.2.77")
			tk.Addrs = []string{"192.0.2.77"}
			tk.TCPConnect = []TCPConnect{{IP: "192.0.2.77", Port: 443, Failure: FailTimeout}}
			tk.TLSHandshakes, tk.Requests, tk.Throughput = nil, nil, nil
		}, true, Thresholds{}, DNSBlocked, Unmarked, "share none"},
		{"dns different addresses but TLS validated", func(tk *TestKeys) {
			tk.Queries = okDNS("10.0.0.3")
			tk.Addrs = []string{"10.0.0.3"}
		}, true, Thresholds{}, Accessible, ByNone, "http: 200"},
		{"tcp silent drop, control connects", func(tk *TestKeys) {
			tk.TCPConnect[0].Failure = FailTimeout
			tk.TLSHandshakes, tk.Requests, tk.Throughput, tk.QUICHandshakes = nil, nil, nil, nil
		}, true, Thresholds{}, TCPBlocked, Unmarked, "generic_timeout_error"},
		{"tcp drop without control", func(tk *TestKeys) {
			tk.TCPConnect[0].Failure = FailTimeout
			tk.TLSHandshakes, tk.Requests, tk.Throughput, tk.QUICHandshakes = nil, nil, nil, nil
		}, false, Thresholds{}, Inconclusive, ByNone, ""},
		{"tcp weir reset on SYN, no control", func(tk *TestKeys) {
			tk.TCPConnect[0].Failure, tk.TCPConnect[0].Reset = FailRefused, weirRST
			tk.TLSHandshakes, tk.Requests, tk.Throughput = nil, nil, nil
		}, false, Thresholds{}, TCPBlocked, ByWeir, "rule=r1"},
		{"tcp refused everywhere is a closed port", func(tk *TestKeys) {
			tk.TCPConnect[0].Failure = FailRefused
			tk.TLSHandshakes, tk.Requests, tk.Throughput = nil, nil, nil
		}, false, Thresholds{}, Inconclusive, ByNone, ""},
		{"tcp v6 unreachable but v4 fine", func(tk *TestKeys) {
			tk.TCPConnect = append(tk.TCPConnect, TCPConnect{IP: "fd00::2", Port: 443, Failure: FailNetUnreachable})
		}, true, Thresholds{}, Accessible, ByNone, ""},
		{"tls sni reset, control ok", func(tk *TestKeys) {
			tk.TLSHandshakes[0].Failure, tk.TLSHandshakes[0].Reset = FailReset, injectedRST
			tk.Requests, tk.Throughput, tk.QUICHandshakes = nil, nil, nil
		}, true, Thresholds{}, TLSSNIBlocked, Unmarked, "reset after the ClientHello"},
		{"tls sni reset, no control, injected TTL", func(tk *TestKeys) {
			tk.TLSHandshakes[0].Failure, tk.TLSHandshakes[0].Reset = FailReset, injectedRST
			tk.Requests, tk.Throughput = nil, nil
		}, false, Thresholds{}, TLSSNIBlocked, Unmarked, "ttl=64"},
		{"tls reset from the server itself, no control", func(tk *TestKeys) {
			tk.TLSHandshakes[0].Failure, tk.TLSHandshakes[0].Reset = FailReset, sameTTLRST
			tk.Requests, tk.Throughput = nil, nil
		}, false, Thresholds{}, Inconclusive, ByNone, ""},
		{"tls weir reset", func(tk *TestKeys) {
			tk.TLSHandshakes[0].Failure, tk.TLSHandshakes[0].Reset = FailReset, weirRST
			tk.Requests, tk.Throughput = nil, nil
		}, false, Thresholds{}, TLSSNIBlocked, ByWeir, "Weir rule=r1"},
		{"tls certificate substituted", func(tk *TestKeys) {
			tk.TLSHandshakes[0].Failure = FailSSLAuthority
			tk.Requests, tk.Throughput = nil, nil
		}, true, Thresholds{}, TLSSNIBlocked, Unmarked, "does not validate"},
		{"http weir 451", func(tk *TestKeys) {
			tk.Requests[0] = HTTPRequest{Address: "10.0.0.2:80", StatusCode: 451, BlockedBy: "https://n.test/r3", WeirRule: "r3"}
			tk.Throughput = nil
		}, false, Thresholds{}, HTTPBlocked, ByWeir, "Weir-Rule: r3"},
		{"http foreign 451", func(tk *TestKeys) {
			tk.Requests[0] = HTTPRequest{Address: "10.0.0.2:80", StatusCode: 451, BlockedBy: "https://gov.test/"}
			tk.Throughput = nil
		}, false, Thresholds{}, HTTPBlocked, Unmarked, "without Weir's rule header"},
		{"http keyword reset, control ok", func(tk *TestKeys) {
			tk.Requests[0] = HTTPRequest{URL: "http://x.test/", Address: "10.0.0.2:80", Failure: FailReset, Reset: injectedRST}
			tk.Throughput = nil
		}, true, Thresholds{}, HTTPBlocked, Unmarked, "connection_reset"},
		{"http weir reset", func(tk *TestKeys) {
			tk.Requests[0] = HTTPRequest{URL: "http://x.test/", Address: "10.0.0.2:80", Failure: FailReset, Reset: weirRST}
			tk.Throughput = nil
		}, false, Thresholds{}, HTTPBlocked, ByWeir, "rule=r1"},
		{"http block page with 200", func(tk *TestKeys) {
			tk.Requests[0].Title, tk.Requests[0].BodyLength = "Blocked", 120
		}, true, Thresholds{}, HTTPBlocked, Unmarked, "different page"},
		{"http status differs", func(tk *TestKeys) {
			tk.Requests[0].StatusCode = 302
		}, true, Thresholds{}, HTTPBlocked, Unmarked, "status 302"},
		{"quic blocked, control ok", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure = FailICMPUnreachable
		}, true, Thresholds{}, QUICBlocked, Unmarked, "icmp_unreachable"},
		{"quic fails without control: no verdict", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure = FailTimeout
		}, false, Thresholds{}, Accessible, ByNone, ""},
		{"quic fails for the control too", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure = FailTimeout
			tk.Control.QUIC = &ControlStatus{Failure: FailTimeout}
		}, true, Thresholds{}, Accessible, ByNone, ""},
		{"throttled vs control", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 120e3, Bytes: 240e3, Seconds: 2, Valid: true}
		}, true, Thresholds{ThrottleRatio: 0.2}, Throttled, Unmarked, "control's"},
		{"throttled vs expected rate", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 120e3, Bytes: 240e3, Seconds: 2, Valid: true}
		}, false, Thresholds{MinRate: 1e6}, Throttled, Unmarked, "below the expected"},
		{"weir throttle marker, below the control", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 1e6, Bytes: 1e6, Seconds: 1, Valid: true, DSCP: weirDSCP}
		}, true, Thresholds{ThrottleRatio: 0.2}, Throttled, ByWeir, "Weir's throttle marker"},
		{"weir throttle marker, below min rate", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 1e6, Bytes: 1e6, Seconds: 1, Valid: true, DSCP: weirDSCP}
		}, false, Thresholds{MinRate: 4e6}, Throttled, ByWeir, "marked DSCP 1"},
		{"weir throttle marker, nothing to compare", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 1e6, Bytes: 1e6, Seconds: 1, Valid: true, DSCP: weirDSCP}
		}, false, Thresholds{}, Throttled, ByWeir, "no rate to compare"},
		{"weir throttle marker, but not slow", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 90e6, Bytes: 4 << 20, Valid: true, DSCP: weirDSCP}
		}, true, Thresholds{ThrottleRatio: 0.2}, Accessible, ByNone, "http: 200"},
		{"unmarked throttle stays unmarked", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 120e3, Bytes: 240e3, Seconds: 2, Valid: true,
				DSCP: &DSCPEvidence{Packets: 170, Values: []int{0}}}
		}, true, Thresholds{ThrottleRatio: 0.2}, Throttled, Unmarked, "no Weir throttle marker"},
		{"a few marked packets are not the marker", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 120e3, Bytes: 240e3, Seconds: 2, Valid: true,
				DSCP: &DSCPEvidence{Packets: 170, LowerEffort: 3, Values: []int{0, 1}}}
		}, true, Thresholds{ThrottleRatio: 0.2}, Throttled, Unmarked, "control's"},
		{"quic weir icmp, control ok", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure, tk.QUICHandshakes[0].ICMP = FailICMPUnreachable, weirICMP
		}, true, Thresholds{}, QUICBlocked, ByWeir, "ip.id=0x5745"},
		{"quic weir icmp, no control", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure, tk.QUICHandshakes[0].ICMP = FailICMPUnreachable, weirICMP
		}, false, Thresholds{}, QUICBlocked, ByWeir, "icmp 3/13"},
		{"quic icmpv6 1/1 has no marker", func(tk *TestKeys) {
			tk.QUICHandshakes[0].Failure = FailICMPUnreachable
			tk.QUICHandshakes[0].ICMP = &ResetEvidence{Kind: "icmp 1/1", TTL: 64}
		}, true, Thresholds{}, QUICBlocked, Unmarked, "icmp 1/1"},
		{"small sample never throttled", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 5e3, Bytes: 16, Seconds: 0.003, Complete: true}
		}, true, Thresholds{MinRate: 1e6, ThrottleRatio: 0.2}, Accessible, ByNone, ""},
		{"fast enough", func(tk *TestKeys) {
			tk.Throughput = &Throughput{Rate: 50e6, Bytes: 4 << 20, Valid: true}
		}, true, Thresholds{MinRate: 1e6, ThrottleRatio: 0.2}, Accessible, ByNone, ""},
		{"precedence: dns before tls", func(tk *TestKeys) {
			tk.Queries[0].Responses = append(tk.Queries[0].Responses, DNSResponse{Rcode: "NOERROR", Answers: []string{"A 10.9.9.9"}})
			tk.Queries[0].Duplicate = true
			tk.TLSHandshakes[0].Failure = FailReset
		}, true, Thresholds{}, DNSBlocked, Unmarked, ""},
		{"site down for everyone", func(tk *TestKeys) {
			tk.TCPConnect[0].Failure = FailTimeout
			tk.TLSHandshakes, tk.Requests, tk.Throughput, tk.QUICHandshakes = nil, nil, nil, nil
			tk.Control.TCPConnect["10.0.0.2:443"] = ControlStatus{Failure: FailTimeout}
			tk.Control.HTTPRequest = HTTPRequest{Failure: FailTimeout}
		}, true, Thresholds{}, Inconclusive, ByNone, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Measurement{Input: "x.test", URL: "https://x.test/", TestKeys: baseKeys()}
			if tc.control {
				m.TestKeys.Control = ctlOK()
			}
			tc.edit(&m.TestKeys)
			Decide(m, tc.th)
			if m.Verdict != tc.verdict || m.Attribution != tc.attr {
				t.Fatalf("got %s/%s, want %s/%s\nevidence: %q\nnotes: %q", m.Verdict, m.Attribution, tc.verdict, tc.attr, m.Evidence, m.Notes)
			}
			if tc.evidence != "" && (len(m.Evidence) == 0 || !strings.Contains(m.Evidence[0], tc.evidence)) {
				t.Errorf("evidence %q does not contain %q", m.Evidence, tc.evidence)
			}
			if m.Verdict != Accessible && m.Verdict != Inconclusive && len(m.Evidence) == 0 {
				t.Error("a blocking verdict without evidence")
			}
			if !tc.control && !strings.Contains(strings.Join(m.Notes, "\n"), "local evidence only") {
				t.Errorf("no-control run does not say so: %q", m.Notes)
			}
		})
	}
}
