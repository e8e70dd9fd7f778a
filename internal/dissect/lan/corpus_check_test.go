package lan

import (
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// TestCorpus feeds the flows nDPI labels SSDP, NetBIOS, DHCP, DHCPV6 or
// NTP to the matching type and checks the protocol, the NetBIOS name and
// the SMBv1 hint.
func TestCorpus(t *testing.T) {
	files := []string{"telegram.pcap", "1kxun.pcap", "tor.pcap", "whatsapp_login_chat.pcap", "signal.pcap",
		"NTPv2.pcap", "NTPv3.pcap", "NTPv4.pcap", "smb_frags.pcap"}
	type want struct {
		d     func() dissect.Dissector
		proto dissect.Proto
	}
	byLabel := map[string]want{
		"SSDP":    {func() dissect.Dissector { return &SSDP{} }, dissect.SSDP},
		"NetBIOS": {func() dissect.Dissector { return &NetBIOS{} }, dissect.NetBIOS},
		"DHCP":    {func() dissect.Dissector { return &DHCP{} }, dissect.DHCP},
		"DHCPV6":  {func() dissect.Dissector { return &DHCPv6{} }, dissect.DHCPv6},
		"NTP":     {func() dissect.Dissector { return &NTP{} }, dissect.NTP},
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			byKey := map[corpusKey]*corpusFlow{}
			for _, f := range readCorpusFlows(t, name) {
				byKey[f.key] = f
			}
			checked := 0
			for _, nf := range readNDPI(t, name) {
				w, ok := byLabel[nf.master]
				if !ok || nf.fields["Confidence"] != "DPI" {
					continue
				}
				f := byKey[nf.key]
				if f == nil {
					t.Errorf("flow %v not in capture", nf.key)
					continue
				}
				var m dissect.Meta
				st := feedFlow(w.d(), f, &m, 24)
				checked++
				wantHost, wantHint := "", ""
				if nf.master == "NetBIOS" {
					wantHost = nf.fields["Hostname/SNI"]
					if nf.label == "NetBIOS.SMBv1" {
						wantHint = "smbv1"
					}
				}
				if st != dissect.Done || m.Proto != w.proto || m.Host != wantHost || m.AppHint != wantHint {
					t.Errorf("%v->%v: %v %v %q %q, nDPI %s %q", f.client, f.server, st, m.Proto, m.Host, m.AppHint, nf.label, wantHost)
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
