package inject

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/marker"
)

// injected builds one of each packet Weir injects, IPv4 and IPv6, named
// for the test output.
func injected(t testing.TB) (names []string, pkts [][]byte) {
	add := func(name string, b ...[]byte) {
		for _, p := range b {
			if p == nil {
				t.Fatalf("%s: nothing built", name)
			}
			names, pkts = append(names, name), append(pkts, p)
		}
	}
	for _, v := range []struct{ fam, c, s, dns string }{
		{"v4", "192.0.2.1", "198.51.100.7", "192.0.2.53"},
		{"v6", "[2001:db8::1]", "[2001:db8::2]", "[2001:db8::53]"},
	} {
		tls := seg{src: v.c + ":50000", dst: v.s + ":443", proto: protoTCP, seq: 1000, ack: 7000, flags: flagACK | flagPSH, payload: clientHello}
		pkt := tls.build(t)
		c, s := TCPReset(pkt, decodeRaw(t, pkt), testRule, testNotice)
		add(v.fam+" reset", c, s)
		add(v.fam+" icmp", ICMPProhibited(pkt, decodeRaw(t, pkt), netip.Addr{}))

		http := seg{src: v.c + ":50001", dst: v.s + ":80", proto: protoTCP, seq: 2000, ack: 9000, flags: flagACK | flagPSH, payload: httpGet}
		pkt = http.build(t)
		hc, hs := HTTPBlock(pkt, decodeRaw(t, pkt), testRule, testNotice, "blocked.test")
		add(v.fam+" http", append(hc, hs)...)

		q := query(t, "blocked.test.", dns.TypeA, true)
		udp := seg{src: v.c + ":40000", dst: v.dns + ":53", proto: protoUDP, payload: q}
		pkt = udp.build(t)
		b, err := DNSBlock(pkt, decodeRaw(t, pkt), testRule, testNotice, marker.EDEBlocked, DNSAnswer{})
		if err != nil {
			t.Fatal(err)
		}
		add(v.fam+" dns udp", b)
		tcp := seg{src: v.c + ":40001", dst: v.dns + ":53", proto: protoTCP, seq: 5, ack: 6, flags: flagACK | flagPSH, payload: tcpDNS(q)}
		pkt = tcp.build(t)
		b, err = DNSBlock(pkt, decodeRaw(t, pkt), testRule, testNotice, marker.EDEBlocked, DNSAnswer{A: netip.MustParseAddr("192.0.2.99")})
		if err != nil {
			t.Fatal(err)
		}
		add(v.fam+" dns tcp", b)
	}
	return names, pkts
}

// TestTshark dissects every injected packet with Wireshark's dissectors,
// which share no code with ours: checksums must be good, and the DNS,
// HTTP and ICMP contents must read as intended.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; skipping the independent dissection")
	}
	names, pkts := injected(t)
	path := filepath.Join(t.TempDir(), "injected.pcap")
	var buf bytes.Buffer
	w := capture.NewPcapWriter(&buf, capture.LinkRaw, false)
	for i, p := range pkts {
		if err := w.WritePacket(int64(i)*1e6, p, len(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-V",
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	frames := strings.Split(string(out), "\nFrame ")
	if len(frames) != len(pkts) {
		t.Fatalf("tshark shows %d frames, wrote %d", len(frames), len(pkts))
	}
	if testing.Verbose() {
		t.Logf("tshark -V:\n%s", out)
	}
	for i, fr := range frames {
		name := names[i]
		t.Run(name, func(t *testing.T) {
			for _, bad := range []string{"[incorrect", "Bad]", "Status: Bad", "Malformed", "Expert Info (Error"} {
				if strings.Contains(fr, bad) {
					t.Errorf("frame %d %q: tshark reports %q:\n%s", i+1, name, bad, fr)
				}
			}
			var want []string
			switch {
			case strings.HasSuffix(name, "icmp") && strings.HasPrefix(name, "v4"):
				want = []string{"Type: 3 (Destination unreachable)", "Code: 13", "Checksum Status: Good", "Header checksum status: Good"}
			case strings.HasSuffix(name, "icmp"):
				want = []string{"Type: Destination Unreachable (1)", "Code: 1", "Checksum Status: Good"}
			case strings.Contains(name, "dns"):
				want = []string{"Option: Extended DNS Error", "Info Code: Blocked (15)", "Extra Text: " + marker.EDEText(testRule, testNotice), "UDP payload size: 1232", "Checksum Status: Good"}
			case strings.Contains(name, "reset"):
				want = []string{"[Checksum Status: Good]", "Reset: Set"}
			}
			if strings.HasPrefix(name, "v4") {
				want = append(want, "Identification: 0x5745", "Don't fragment: Set", "Time to Live: 64", "Header checksum status: Good")
			} else {
				want = append(want, "Hop Limit: 64")
			}
			for _, w := range want {
				if !strings.Contains(fr, w) {
					t.Errorf("frame %d %q: tshark does not show %q:\n%s", i+1, name, w, fr)
				}
			}
		})
	}
	// The 451 notice: HTTP in the first data segment to each client.
	http451 := regexp.MustCompile(`(?s)HTTP/1.1 451 Unavailable For Legal Reasons\\r\\n.*Status Code: 451\n.*Link: <` +
		regexp.QuoteMeta(testNotice) + `>; rel="blocked-by"\\r\\n.*Weir-Rule: ` + testRule)
	n := 0
	for _, fr := range frames {
		if http451.MatchString(fr) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("tshark parsed %d 451 responses with the Link header, want 2 (v4, v6)", n)
	}
}
