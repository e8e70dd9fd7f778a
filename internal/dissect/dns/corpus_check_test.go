package dns

import (
	"regexp"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

var escDDD = regexp.MustCompile(`\\[0-9]{3}`)

// TestCorpus checks the hosts nDPI reports for the flows it labels DNS,
// MDNS or LLMNR.
func TestCorpus(t *testing.T) {
	files := []string{"dns.pcap", "dns_long_domainname.pcap", "dns-invalid-chars.pcap", "dns_fragmented.pcap",
		"6in4tunnel.pcap", "vxlan.pcap", "netflix.pcap", "telegram.pcap", "1kxun.pcap", "http_connect.pcap"}
	// Where we knowingly differ from nDPI: nDPI names a later packet's
	// name (mDNS) or the response's question (which differs from the
	// query's in this crafted capture); we keep the first question.
	differs := map[string]string{ // client -> our host
		"192.168.1.53:5353":                "_spotify-connect._tcp.local",
		"[fe80::18a0:a412:8935:c01b]:5353": "_homekit._tcp.local",
		"127.0.0.1:35980":                  `www.allyourba\004\005\006arebelongto.cn`,
	}
	wantProto := map[string]dissect.Proto{"DNS": dissect.DNS, "MDNS": dissect.MDNS, "LLMNR": dissect.LLMNR}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			checked := 0
			for _, nf := range dissecttest.Load(t, name).NDPI {
				proto, ok := wantProto[nf.Master]
				if !ok {
					continue
				}
				f := nf.Match
				if f == nil {
					t.Errorf("flow %v not found in capture", nf)
					continue
				}
				st, m := dissecttest.Feed(&Dissector{}, f)
				if st != dissect.Identified && st != dissect.Done {
					t.Errorf("%v: status %v", nf, st)
					continue
				}
				checked++
				host, want := escDDD.ReplaceAllString(m.Host, "?"), nf.Host
				if alt, ok := differs[f.Client.String()]; ok {
					host, want = m.Host, alt
				}
				if m.Proto != proto || host != want {
					t.Errorf("%v->%v: got %v %q, nDPI %s %q", f.Client, f.Server, m.Proto, m.Host, nf.Label, nf.Host)
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
