package ssh

import (
	"reflect"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// TestCorpus checks the banners nDPI reports as Hostname/SNI and Server.
// nDPI's roles follow its own packet direction: in ssh.pcap the side on
// port 22 sends "OpenSSH_5.3" and nDPI calls it the client, so banners are
// compared as a set; we assign them by Packet.Dir.
func TestCorpus(t *testing.T) {
	for _, name := range []string{"ssh.pcap", "ssh_unidirectional.pcap"} {
		t.Run(name, func(t *testing.T) {
			byKey := map[corpusKey]*corpusFlow{}
			for _, f := range readCorpusFlows(t, name) {
				byKey[f.key] = f
			}
			checked := 0
			for _, nf := range readNDPI(t, name) {
				if nf.master != "SSH" {
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
				checked++
				got := map[string]bool{m.SSH.ClientBanner: true, m.SSH.ServerBanner: true}
				want := map[string]bool{nf.fields["Hostname/SNI"]: true, nf.fields["Server"]: true}
				if st != dissect.Identified && st != dissect.Done || m.Proto != dissect.SSH || !reflect.DeepEqual(got, want) {
					t.Errorf("%v->%v: %v %+v, nDPI %q %q", f.client, f.server, st, m.SSH, nf.fields["Hostname/SNI"], nf.fields["Server"])
				}
			}
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
