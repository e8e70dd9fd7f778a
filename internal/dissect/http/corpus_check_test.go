package http

import (
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// TestCorpus checks host, status, Server, Content-Type and User-Agent
// against what nDPI reports for the flows it labels HTTP*.
func TestCorpus(t *testing.T) {
	files := []string{"http.pcapng", "http-lines-split.pcap", "http_ua_splitted_in_two_pkts.pcapng", "http_connect.pcap",
		"http-proxy.pcapng", "http_asymmetric.pcapng", "windowsupdate_over_http.pcap", "netflix.pcap", "http2.pcapng", "1kxun.pcap"}
	wantProto := map[string]dissect.Proto{"HTTP": dissect.HTTP, "HTTP_Connect": dissect.HTTPConnect, "HTTP_Proxy": dissect.HTTPProxy, "HTTP2": dissect.HTTP2}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			byKey := map[corpusKey]*corpusFlow{}
			for _, f := range readCorpusFlows(t, name) {
				byKey[f.key] = f
			}
			checked := 0
			for _, nf := range readNDPI(t, name) {
				proto, ok := wantProto[nf.master]
				if !ok || nf.fields["Confidence"] == "Match by port" {
					continue
				}
				f := byKey[nf.key]
				if f == nil {
					t.Errorf("flow %v not in capture", nf.key)
					continue
				}
				var d Dissector
				var m dissect.Meta
				st := feedFlow(&d, f, &m, 24)
				if st != dissect.Identified && st != dissect.Done {
					t.Errorf("%v->%v: status %v", f.client, f.server, st)
					continue
				}
				checked++
				var bad []string
				if m.Proto != proto {
					bad = append(bad, "proto "+m.Proto.String())
				}
				if w := nf.fields["Hostname/SNI"]; m.Host != w {
					bad = append(bad, "host "+m.Host+" want "+w)
				}
				// nDPI reports the last response of a one-sided flow and
				// interim 100s; we report the first final response.
				if w, ok := nf.fields["StatusCode"]; ok && strconv.Itoa(m.HTTP.Status) != w && w != "100" && f.client.Port() != 1044 {
					bad = append(bad, "status "+strconv.Itoa(m.HTTP.Status)+" want "+w)
				}
				if w, ok := nf.fields["Server"]; ok && m.HTTP.Server != w {
					bad = append(bad, "server "+m.HTTP.Server+" want "+w)
				}
				if w, ok := nf.fields["Content-Type"]; ok && strings.TrimSpace(strings.Split(m.HTTP.ContentType, ";")[0]) != w {
					bad = append(bad, "content-type "+m.HTTP.ContentType+" want "+w)
				}
				if w, ok := nf.fields["User-Agent"]; ok && !strings.HasPrefix(m.HTTP.UserAgent, w) {
					bad = append(bad, "ua "+m.HTTP.UserAgent+" want "+w)
				}
				if bad != nil {
					t.Errorf("%v->%v: %s", f.client, f.server, strings.Join(bad, "; "))
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
