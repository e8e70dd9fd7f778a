package classify

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
)

// ownerApps knows one address owner (google) and its calling app.
type ownerApps struct{}

func (ownerApps) ByHostName(string) (string, string, bool) { return "", "", false }
func (ownerApps) ByAddress(a netip.Addr) (string, string, bool) {
	if netip.MustParsePrefix("142.250.0.0/15").Contains(a) {
		return "google", "search", true
	}
	return "", "", false
}
func (ownerApps) ByID(app string) (string, bool) {
	switch app {
	case "google":
		return "search", true
	case "googlemeet":
		return "collaboration", true
	}
	return "", false
}

// TestCallRelay: DTLS to an address owner with call relays is named after
// the calling app, also when an early decision named the owner while the
// flow was still STUN; plain STUN to the same servers keeps the owner.
func TestCallRelay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []dissect.Proto // protocol at each decision
		app   string
		why   string
	}{
		{"dtls", []dissect.Proto{dissect.DTLS}, "googlemeet", "DTLS to a server address in google prefixes (its call relays) → googlemeet"},
		{"stun then dtls", []dissect.Proto{dissect.STUN, dissect.DTLS}, "googlemeet", "its call relays"},
		{"stun", []dissect.Proto{dissect.STUN}, "google", "server address in google prefixes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(DefaultConfig(), ownerApps{})
			tb := flow.New(flow.Config{MaxFlows: 16})
			p := &decode.Parsed{Family: 4, Proto: 17, SrcPort: 50000, DstPort: 19305}
			copy(p.Src[:], []byte{192, 168, 1, 2})
			copy(p.Dst[:], []byte{142, 250, 82, 76})
			id, _, _ := tb.Update(p, 1)
			f := tb.Flow(id)
			s := c.state(id)
			*s = state{winner: -1}
			for _, proto := range tc.steps {
				s.res.Meta.Proto = proto
				c.decideApp(s, f)
			}
			if s.res.App != tc.app || !strings.Contains(s.res.Why(), tc.why) {
				t.Errorf("app %q, why %q; want %q with %q", s.res.App, s.res.Why(), tc.app, tc.why)
			}
		})
	}
}
