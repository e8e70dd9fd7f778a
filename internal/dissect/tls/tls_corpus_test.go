package tls

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// ndpiJA4 rewrites our spec-conformant JA4 into what nDPI (commit 3b1286ab)
// prints, so the rest of the fingerprint can be compared exactly. Known
// nDPI deviations from FoxIO's JA4 spec:
//   - SNI flag: nDPI prints 'd' unless the SNI is an IP literal; the spec
//     says 'd' iff the server_name extension is present.
//   - ALPN: nDPI takes the first two characters ("http/1.1" -> "ht",
//     "webrtc" -> "we"); the spec takes first and last ("h1", "wc").
//   - DTLS: nDPI uses the legacy version (d2) even when supported_versions
//     offers DTLS 1.3; the spec uses the highest supported version (d3).
func ndpiJA4(ja4 string, m *dissect.Meta) string {
	if len(ja4) < 10 {
		return ja4
	}
	b := []byte(ja4)
	if b[0] == 'd' && string(b[1:3]) == "d3" {
		b[2] = '2'
	}
	b[3] = 'd'
	if _, err := netip.ParseAddr(m.Host); err == nil {
		b[3] = 'i'
	}
	if alpn := m.TLS.ALPN(); len(alpn) > 0 && len(alpn[0]) >= 2 {
		p := alpn[0]
		if isAlnum(p[0]) && isAlnum(p[len(p)-1]) {
			b[8], b[9] = p[0], p[1]
		}
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

var corpusFiles = []string{
	"443-chrome.pcap", "443-curl.pcap", "443-firefox.pcap", "443-safari.pcap", "chrome.pcap",
	"tls_2_reasms.pcapng", "tls_2_reasms_b.pcapng", "tls_with_huge_ch.pcapng", "tls_ech.pcapng",
	"tls_esni_sni_both.pcap", "tls_missing_ch_frag.pcap", "tls_1.2_unidirectional_client.pcapng",
	"tls_1.3_unidirectional_server.pcapng", "tls-appdata.pcap", "tls_alert.pcap",
	"long_tls_certificate.pcap", "dtls.pcap", "stun_dtls_rtp.pcapng", "facebook.pcap", "reddit.pcap",
	"tor.pcap", "dns_dot.pcap", "smtps.pcapng", "imaps.pcap",
}

// tlsMasters are nDPI master protocols our TLS dissectors must produce.
var tlsMasters = map[string]dissect.Proto{
	"TLS": dissect.TLS, "DTLS": dissect.DTLS, "SMTPS": dissect.SMTPS, "IMAPS": dissect.IMAPS, "POP3S": dissect.POP3S,
}

func TestCorpus(t *testing.T) {
	dissecttest.CorpusDir(t)
	checked := 0
	for _, file := range corpusFiles {
		t.Run(file, func(t *testing.T) {
			for _, f := range dissecttest.Load(t, file).Flows {
				o := f.NDPI
				if o == nil || len(f.Packets) == 0 || strings.HasPrefix(o.Confidence, "Match by") {
					continue
				}
				master, ok := tlsMasters[o.Master]
				if !ok {
					continue
				}
				if master == dissect.TLS && o.Label == "TLS.DoH_DoT" {
					master = dissect.DoT
				}
				var d dissect.Dissector = &Dissector{}
				if f.L4 == 17 {
					d = &DTLSDissector{}
				}
				st, m := dissecttest.Feed(d, f)
				checked++
				if st != dissect.Identified && st != dissect.Done {
					t.Errorf("%s: status %d, nDPI says %s", f, st, o.Label)
					continue
				}
				if m.Proto != master {
					t.Errorf("%s: proto %v, nDPI %s", f, m.Proto, o.Label)
				}
				if h := o.Host; h != m.Host {
					t.Errorf("%s: host %q, nDPI %q", f, m.Host, h)
				}
				if j := o.JA4; j != "" && ndpiJA4(m.TLS.JA4(), &m) != j {
					t.Errorf("%s: JA4 %s (as nDPI: %s), nDPI %s", f, m.TLS.JA4(), ndpiJA4(m.TLS.JA4(), &m), j)
				}
				if j := o.JA3; j != "" && m.TLS.JA3() != j {
					t.Errorf("%s: JA3 %s, nDPI %s", f, m.TLS.JA3(), j)
				}
				if a := o.ALPN; a != strings.Join(m.TLS.ALPN(), ";") {
					t.Errorf("%s: ALPN %v, nDPI %s", f, m.TLS.ALPN(), a)
				}
				if s := o.Fields["Subject"]; s != "" && !strings.Contains(s, "CN="+m.TLS.CertSubject) {
					t.Errorf("%s: subject %q, nDPI %q", f, m.TLS.CertSubject, s)
				}
				if sn := o.Fields["ServerNames"]; sn != "" && strings.Join(m.TLS.CertSANs(), ",") != sn {
					t.Errorf("%s: SANs %v, nDPI %s", f, m.TLS.CertSANs(), sn)
				}
				if strings.HasSuffix(o.Label, ".Tor") && m.AppHint != "tor" {
					t.Errorf("%s: nDPI says Tor, AppHint %q", f, m.AppHint)
				}
			}
		})
	}
	t.Logf("%d flows checked", checked)
}
