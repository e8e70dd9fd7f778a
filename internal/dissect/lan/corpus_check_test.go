package lan

import (
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
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
			checked := 0
			for _, nf := range dissecttest.Load(t, name).NDPI {
				w, ok := byLabel[nf.Master]
				if !ok || nf.Confidence != "DPI" {
					continue
				}
				f := nf.Match
				if f == nil {
					t.Errorf("flow %v not in capture", nf)
					continue
				}
				st, m := dissecttest.Feed(w.d(), f)
				checked++
				wantHost, wantHint := "", ""
				if nf.Master == "NetBIOS" {
					wantHost = nf.Host
					if nf.Label == "NetBIOS.SMBv1" {
						wantHint = "smbv1"
					}
				}
				if st != dissect.Done || m.Proto != w.proto || m.Host != wantHost || m.AppHint != wantHint {
					t.Errorf("%v->%v: %v %v %q %q, nDPI %s %q", f.Client, f.Server, st, m.Proto, m.Host, m.AppHint, nf.Label, wantHost)
				}
			}
			t.Logf("%d flows checked", checked)
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
