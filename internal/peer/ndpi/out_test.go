package ndpi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	const in = "Undetected flows:\n\t1\tUDP [2001:db8::1]:62976 -> [ff02::1]:62976 [proto: 0/Unknown][IP: 0/Unknown][Confidence: Unknown][2 pkts/782 bytes -> 0 pkts/0 bytes]\n" +
		"\t2\tTCP 10.10.20.4:45228 <-> 157.240.224.35:443 [VLAN: 5][proto: VXLAN:91.119/TLS.Facebook][Confidence: DPI][35 pkts/4938 bytes <-> 56 pkts/71223 bytes][Hostname/SNI: www.facebook.com][JA4: t13d1516h2_8daaf6152771_e5627efa2ab1]\n"
	got, err := Read(strings.NewReader(in))
	if err != nil || len(got) != 2 {
		t.Fatalf("Read: %v, %d flows", err, len(got))
	}
	f := got[1]
	if f.L4 != "TCP" || f.A.String() != "10.10.20.4:45228" || f.B.Port() != 443 || f.VLAN != 5 ||
		f.Tunnel != "VXLAN" || f.Master != "TLS" || f.App != "Facebook" || f.Confidence != "DPI" ||
		f.APackets != 35 || f.ABytes != 4938 || f.BPackets != 56 || f.BBytes != 71223 ||
		f.Host != "www.facebook.com" || f.JA4 != "t13d1516h2_8daaf6152771_e5627efa2ab1" {
		t.Errorf("flow = %+v", f)
	}
	if u := got[0]; !u.Undetected || u.A.Addr().String() != "2001:db8::1" || u.APackets != 2 || u.BBytes != 0 || u.Master != "Unknown" {
		t.Errorf("undetected flow = %+v", u)
	}
}

// TestReadCorpus parses every .out file of the peer corpus.
func TestReadCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "corpus", "ndpi", "result")
	files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	if len(files) == 0 {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	total := 0
	for _, p := range files {
		fl, err := ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
		if len(fl) == 0 {
			raw, _ := os.ReadFile(p)
			if strings.Contains(string(raw), "pkts/") {
				t.Errorf("%s: no flows parsed", filepath.Base(p))
			}
		}
		total += len(fl)
	}
	t.Logf("%d files, %d flows", len(files), total)
	if total < 1100 {
		t.Errorf("only %d flows parsed", total)
	}
}
