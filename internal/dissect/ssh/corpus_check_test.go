package ssh

import (
	"reflect"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// TestCorpus checks the banners nDPI reports as Hostname/SNI and Server.
// nDPI's roles follow its own packet direction: in ssh.pcap the side on
// port 22 sends "OpenSSH_5.3" and nDPI calls it the client, so banners are
// compared as a set; we assign them by Packet.Dir.
func TestCorpus(t *testing.T) {
	for _, name := range []string{"ssh.pcap", "ssh_unidirectional.pcap"} {
		t.Run(name, func(t *testing.T) {
			checked := 0
			for _, nf := range dissecttest.Load(t, name).NDPI {
				if nf.Master != "SSH" {
					continue
				}
				f := nf.Match
				if f == nil {
					t.Errorf("flow %v not in capture", nf)
					continue
				}
				st, m := dissecttest.Feed(&Dissector{}, f)
				checked++
				got := map[string]bool{m.SSH.ClientBanner: true, m.SSH.ServerBanner: true}
				want := map[string]bool{nf.Host: true, nf.Fields["Server"]: true}
				if st != dissect.Identified && st != dissect.Done || m.Proto != dissect.SSH || !reflect.DeepEqual(got, want) {
					t.Errorf("%v->%v: %v %+v, nDPI %q %q", f.Client, f.Server, st, m.SSH, nf.Host, nf.Fields["Server"])
				}
			}
			if checked == 0 {
				t.Error("no flows checked")
			}
		})
	}
}
