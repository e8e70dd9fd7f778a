package dns

import (
	"regexp"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
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
			flows := readCorpusFlows(t, name)
			byKey := map[corpusKey]*corpusFlow{}
			for _, f := range flows {
				byKey[f.key] = f
			}
			checked := 0
			for _, nf := range readNDPI(t, name) {
				proto, ok := wantProto[nf.master]
				if !ok {
					continue
				}
				f := byKey[nf.key]
				if f == nil {
					t.Errorf("flow %v not found in capture", nf.key)
					continue
				}
				var d Dissector
				var m dissect.Meta
				st := feedFlow(&d, f, &m, 24)
				if st != dissect.Identified && st != dissect.Done {
					t.Errorf("%v: status %v", nf.key, st)
					continue
				}
				checked++
				host, want := escDDD.ReplaceAllString(m.Host, "?"), nf.fields["Hostname/SNI"]
				if alt, ok := differs[f.client.String()]; ok {
					host, want = m.Host, alt
				}
				if m.Proto != proto || host != want {
					t.Errorf("%v->%v: got %v %q, nDPI %s %q", f.client, f.server, m.Proto, m.Host, nf.label, nf.fields["Hostname/SNI"])
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
