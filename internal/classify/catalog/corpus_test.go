package catalog

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns <repo root>/../shared/corpus/ndpi, or "" when absent.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(c, "result")); err != nil {
		return ""
	}
	return c
}

// protocolLabels are nDPI names that name a protocol, not an app; apps.yaml
// says why they are not mapped. Flows whose app label is one of these are
// not catalog questions.
var protocolLabels = map[string]bool{
	"DNS": true, "HTTP": true, "HTTP2": true, "HTTP_Proxy": true, "HTTP_Connect": true,
	"TLS": true, "QUIC": true, "DTLS": true, "STUN": true, "RTP": true, "SRTP": true,
	"SIP": true, "SSH": true, "SMTP": true, "SMTPS": true, "POP3": true, "IMAP": true,
	"IMAPS": true, "NTP": true, "DHCP": true, "DHCPV6": true, "ICMP": true, "ICMPV6": true,
	"IGMP": true, "MDNS": true, "LLMNR": true, "SSDP": true, "NetBIOS": true, "SMBv1": true,
	"Unknown": true, "MpegDash": true,
}

// knownMisses are corpus flows where the catalog deliberately disagrees with
// nDPI, keyed by "label host".
var knownMisses = map[string]string{
	"GoogleCloud googleads.g.doubleclick.net":        "nDPI used the server IP (GCP range, partial confidence); the name is Google's ad host, labelled Google elsewhere in the corpus",
	"GoogleCloud pagead2.googlesyndication.com":      "same: IP-based GoogleCloud label for a Google ad host",
	"GoogleCloud www.googleadservices.com":           "same: IP-based GoogleCloud label for a Google ad host",
	"Google google.open-js.com":                      "open-js.com is not Google's; nDPI's substring match on \"google\"",
	"Skype_Teams api.microsoftstream.com":            "IP-based (Azure, partial); Microsoft Stream is a Microsoft 365 service",
	"Skype_Teams euno-1.api.microsoftstream.com":     "same as api.microsoftstream.com",
	"Skype_Teams gate.hockeyapp.net":                 "IP-based (Azure, partial); HockeyApp is Microsoft's app telemetry, not Skype",
	"Teams c-flightproxy-euno-01-teams.cloudapp.net": "a Teams host under Azure's generic cloudapp.net; no stable suffix",
	"Tor www.q4cyamnc6mtokjurvdclt.com":              "Tor uses random SNIs: found by the dissector, never by name",
	"Tor www.gfu7hbxpfp.com":                         "Tor random SNI",
	"Tor www.e6r5p57kbafwrxj3plz.com":                "Tor random SNI",
	"WindowsUpdate 151.99.72.125":                    "HTTP Host is a bare IP address (an ISP cache); nDPI matched the URL path, not the name",
}

var (
	protoRe = regexp.MustCompile(`\[proto: ([^\]]*)\]`)
	hostRe  = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
)

// appLabel turns "VXLAN:91.119/TLS.Facebook" into "Facebook" and "5/DNS" into "DNS".
func appLabel(proto string) string {
	if i := strings.LastIndexByte(proto, '/'); i >= 0 {
		proto = proto[i+1:]
	}
	if i := strings.IndexByte(proto, '.'); i >= 0 {
		proto = proto[i+1:]
	}
	return proto
}

// TestCorpusHostnames checks that for every nDPI corpus flow with a host
// name and an app label, ByHost (ByAddr for literal addresses) finds the app
// whose ndpi list holds that label.
func TestCorpusHostnames(t *testing.T) {
	dir := corpusDir(t)
	if dir == "" {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "result", "*.out"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .out files: %v", err)
	}
	var total, hits int
	var misses []string
	seenLabels := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			pm := protoRe.FindStringSubmatch(line)
			if pm == nil {
				continue
			}
			label := appLabel(pm[1])
			seenLabels[label] = true
			hm := hostRe.FindStringSubmatch(line)
			if hm == nil || protocolLabels[label] {
				continue
			}
			host := hm[1]
			total++
			want, ok := c.ByNDPIName(label)
			if !ok {
				misses = append(misses, label+" "+host+": label not in any ndpi list")
				continue
			}
			var got AppID
			if a, err := netip.ParseAddr(host); err == nil {
				got, _ = c.ByAddr(a)
			} else {
				got, _ = c.ByHost(host)
			}
			if got == want {
				hits++
				continue
			}
			key := label + " " + host
			why, known := knownMisses[key]
			if !known {
				why = "UNEXPECTED"
			}
			ga, _ := c.AppByID(got)
			misses = append(misses, key+" -> "+orNone(ga.ID)+": "+why)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(misses)
	rate := float64(hits) / float64(total)
	t.Logf("corpus host names: %d/%d flows = %.1f%% (gate 95%%)", hits, total, 100*rate)
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	if total < 300 || rate < 0.95 {
		t.Errorf("hit rate %.1f%% over %d flows, want >= 95%%", 100*rate, total)
	}
	// Every label in the corpus is either an app's ndpi name or a protocol.
	for l := range seenLabels {
		if _, ok := c.ByNDPIName(l); !ok && !protocolLabels[l] {
			t.Errorf("corpus label %q is neither mapped nor listed as a protocol", l)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
