package sip

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

const (
	register = "REGISTER sip:SIP.Cybercity.DK SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2;branch=z9hG4bKnp\r\n" +
		"From: <sip:voi18063@sip.cybercity.dk>;tag=903df0a\r\nTo: <sip:voi18063@sip.cybercity.dk>\r\nCall-ID: 578222729-4665d775@578222732-4665d772\r\nCSeq: 68 REGISTER\r\nContent-Length: 0\r\n\r\n"
	invite = "INVITE sip:97239287044@voip.brujula.net:5060;transport=udp SIP/2.0\r\nTo: <sip:97239287044@voip.brujula.net>\r\n\r\n"
	trying = "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 192.168.103.40:5060\r\nt: <sip:271@192.168.10.210>\r\nContent-Length: 0\r\n\r\n"
	ipv6   = "OPTIONS sip:[2001:db8::1]:5061 SIP/2.0\r\n\r\n"
)

func TestDissector(t *testing.T) {
	tests := []struct {
		name    string
		l4      uint8
		payload []string
		want    dissect.Status
		why     string
		host    string
	}{
		{"register", 17, []string{register}, dissect.Done, "SIP request", "sip.cybercity.dk"},
		{"invite with port and params", 17, []string{invite}, dissect.Done, "SIP request", "voip.brujula.net"},
		{"response uses To host", 17, []string{trying}, dissect.Done, "SIP response", "192.168.10.210"},
		{"ipv6 uri", 6, []string{ipv6}, dissect.Done, "SIP request", "2001:db8::1"},
		{"tel uri", 6, []string{"MESSAGE tel:+15551234 SIP/2.0\r\n\r\n"}, dissect.Done, "SIP request", ""},
		{"keepalive then request", 6, []string{"\r\n\r\n", register}, dissect.Done, "SIP request", "sip.cybercity.dk"},
		{"http", 6, []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n"}, dissect.NotMine, "", ""},
		{"unknown method", 17, []string{"FOO sip:x SIP/2.0\r\n"}, dissect.NotMine, "", ""},
		{"wrong version", 17, []string{"INVITE sip:x SIP/3.0\r\n"}, dissect.NotMine, "", ""},
		{"no scheme", 17, []string{"INVITE x@y SIP/2.0\r\n"}, dissect.NotMine, "", ""},
		{"bad status", 17, []string{"SIP/2.0 99 Odd\r\n"}, dissect.NotMine, "", ""},
		{"no line end", 17, []string{"INVITE sip:a@b SIP/2.0"}, dissect.NotMine, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dissector
			var m dissect.Meta
			st := dissect.Continue
			for _, p := range tc.payload {
				st = d.Feed(&dissect.Packet{L4: tc.l4, Payload: []byte(p)}, &m)
			}
			if st != tc.want {
				t.Fatalf("status = %v, want %v", st, tc.want)
			}
			if tc.why != "" && (m.Proto != dissect.SIP || m.Why != tc.why || m.Host != tc.host) {
				t.Fatalf("meta = (%v, %q, %q), want (SIP, %q, %q)", m.Proto, m.Why, m.Host, tc.why, tc.host)
			}
		})
	}
}

func TestHostDoesNotAlias(t *testing.T) {
	b := []byte(invite)
	var d Dissector
	var m dissect.Meta
	d.Feed(&dissect.Packet{L4: 17, Payload: b}, &m)
	for i := range b {
		b[i] = 'X'
	}
	if m.Host != "voip.brujula.net" {
		t.Fatalf("host changed with payload: %q", m.Host)
	}
}

func TestRejectNoAllocs(t *testing.T) {
	dissecttest.NoAllocsReject(t, &Dissector{}, dissect.Packet{L4: 6, Payload: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")})
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 17, nil, 100000, 0.001)
}

func FuzzFeed(f *testing.F) {
	for _, s := range []string{register, invite, trying, ipv6, "\r\n\r\n", "SIP/2.0 200 OK\r\nTo: <sip:[::1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Dissector
		var m dissect.Meta
		if d.Feed(&dissect.Packet{L4: 17, Payload: b}, &m) == dissect.Done && strings.ToLower(m.Host) != m.Host {
			t.Fatalf("host not lower-case: %q", m.Host)
		}
		URIHost(b)
	})
}

// Last run (2 vCPU): 384.1 ns/op 16 B/op 1 allocs/op (the Host string)
func BenchmarkFeed(b *testing.B) {
	p := dissect.Packet{L4: 17, Payload: []byte(register)}
	var d Dissector
	var m dissect.Meta
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func ExampleParseStartLine() {
	sl, ok := ParseStartLine([]byte("INVITE sip:alice@atlanta.example.com SIP/2.0\r\n"))
	fmt.Println(ok, string(sl.Method), string(URIHost(sl.URI)))
	// Output: true INVITE atlanta.example.com
}

func TestCorpus(t *testing.T) {
	for _, name := range []string{"sip.pcap", "gre.pcapng"} {
		t.Run(name, func(t *testing.T) {
			var want, got int
			for _, f := range dissecttest.Load(t, name).Flows {
				st, m := dissecttest.Feed(&Dissector{}, f)
				ok := st == dissect.Done && m.Proto == dissect.SIP
				if f.NDPI.HasLabel("SIP") {
					want++
					if ok && m.Host != "" {
						got++
						t.Logf("%s host %q", f, m.Host)
					} else {
						t.Logf("missed %s", f)
					}
				} else if ok {
					t.Errorf("false positive on %s [%s]", f, f.Label())
				}
			}
			t.Logf("%s: identified %d/%d nDPI SIP flows", name, got, want)
			if want == 0 || got*10 < want*9 {
				t.Fatalf("rate %d/%d below 90%%", got, want)
			}
		})
	}
}
