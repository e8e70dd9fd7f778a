package dissecttest

import (
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// TestLoad checks that a tunnelled, VLAN-tagged capture decodes into flows
// that every nDPI line finds.
func TestLoad(t *testing.T) {
	for _, name := range []string{"dns.pcap", "vxlan.pcap", "6in4tunnel.pcap", "gre.pcapng"} {
		t.Run(name, func(t *testing.T) {
			c := Load(t, name)
			if len(c.Flows) == 0 || len(c.NDPI) == 0 {
				t.Fatalf("%d flows, %d nDPI lines", len(c.Flows), len(c.NDPI))
			}
			for _, n := range c.NDPI {
				if n.Match == nil {
					t.Errorf("nDPI flow %v not in capture", n)
				}
			}
			for _, f := range c.Flows {
				for i, p := range f.Packets {
					if len(p.Payload) == 0 || p.L4 != f.L4 || p.Index < 1 || p.Index > f.Total || (i > 0 && p.Index <= f.Packets[i-1].Index) {
						t.Fatalf("%v: bad packet %d: %+v", f, i, p)
					}
				}
			}
		})
	}
}

func TestLoadAllKeepsEmpty(t *testing.T) {
	c := LoadAll(t, "443-chrome.pcap")
	for _, f := range c.Flows {
		if len(f.Packets) != f.Total {
			t.Fatalf("%v: %d packets, total %d", f, len(f.Packets), f.Total)
		}
	}
}

func TestRunStopsAtDone(t *testing.T) {
	d := &stub{after: 2}
	st, _ := Run(d, 17, []Step{{0, []byte{1}}, {1, []byte{2}}, {0, []byte{3}}})
	if st != dissect.Done || d.n != 2 {
		t.Fatalf("status %v after %d packets", st, d.n)
	}
}

type stub struct{ n, after int }

func (s *stub) Reset() { s.n = 0 }
func (s *stub) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if s.n++; s.n >= s.after {
		return dissect.Done
	}
	return dissect.Continue
}

// TestFieldsOneWay: a one-sided flow line ("->") keeps its bracket fields.
func TestFieldsOneWay(t *testing.T) {
	c := Load(t, "gquic.pcap")
	if len(c.NDPI) != 1 || c.NDPI[0].Fields["User-Agent"] == "" || c.NDPI[0].Match == nil {
		t.Fatalf("got %+v", c.NDPI)
	}
}
