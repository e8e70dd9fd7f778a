package http

import (
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// TestCorpus checks host, status, Server, Content-Type and User-Agent
// against what nDPI reports for the flows it labels HTTP*.
func TestCorpus(t *testing.T) {
	files := []string{"http.pcapng", "http-lines-split.pcap", "http_ua_splitted_in_two_pkts.pcapng", "http_connect.pcap",
		"http-proxy.pcapng", "http_asymmetric.pcapng", "windowsupdate_over_http.pcap", "netflix.pcap", "http2.pcapng", "1kxun.pcap"}
	wantProto := map[string]dissect.Proto{"HTTP": dissect.HTTP, "HTTP_Connect": dissect.HTTPConnect, "HTTP_Proxy": dissect.HTTPProxy, "HTTP2": dissect.HTTP2}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			checked := 0
			for _, nf := range dissecttest.Load(t, name).NDPI {
				proto, ok := wantProto[nf.Master]
				if !ok || nf.Confidence == "Match by port" {
					continue
				}
				f := nf.Match
				if f == nil {
					t.Errorf("flow %v not in capture", nf)
					continue
				}
				st, m := dissecttest.Feed(&Dissector{}, f)
				if st != dissect.Identified && st != dissect.Done {
					t.Errorf("%v->%v: status %v", f.Client, f.Server, st)
					continue
				}
				checked++
				var bad []string
				if m.Proto != proto {
					bad = append(bad, "proto "+m.Proto.String())
				}
				if w := nf.Host; m.Host != w {
					bad = append(bad, "host "+m.Host+" want "+w)
				}
				// nDPI reports the last response of a one-sided flow and
				// interim 100s; we report the first final response.
				if w, ok := nf.Fields["StatusCode"]; ok && strconv.Itoa(m.HTTP.Status) != w && w != "100" && f.Client.Port() != 1044 {
					bad = append(bad, "status "+strconv.Itoa(m.HTTP.Status)+" want "+w)
				}
				if w, ok := nf.Fields["Server"]; ok && m.HTTP.Server != w {
					bad = append(bad, "server "+m.HTTP.Server+" want "+w)
				}
				if w, ok := nf.Fields["Content-Type"]; ok && strings.TrimSpace(strings.Split(m.HTTP.ContentType, ";")[0]) != w {
					bad = append(bad, "content-type "+m.HTTP.ContentType+" want "+w)
				}
				if w, ok := nf.Fields["User-Agent"]; ok && !strings.HasPrefix(m.HTTP.UserAgent, w) {
					bad = append(bad, "ua "+m.HTTP.UserAgent+" want "+w)
				}
				if bad != nil {
					t.Errorf("%v->%v: %s", f.Client, f.Server, strings.Join(bad, "; "))
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
