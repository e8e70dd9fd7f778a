package classify

import (
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// Every flow gets a reason, also one no dissector named: how much payload
// was looked at, and whether a dissector was still waiting for more.
func TestWhyUnknown(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{}, "no payload"},
		{Result{inspected: 1, undecided: true}, "undecided after 1 payload packet"},
		{Result{inspected: 3}, "no dissector matched 3 payload packets"},
		{Result{inspected: 2, Confidence: ConfPortGuess, portGuess: guessServerPort}, "no dissector matched 2 payload packets; port guess"},
		{Result{inspected: 2, Confidence: ConfDPI, Meta: dissect.Meta{Why: "TLS ClientHello SNI"}}, "TLS ClientHello SNI"},
	} {
		if got := tc.r.Why(); got != tc.want {
			t.Errorf("Why() = %q, want %q", got, tc.want)
		}
	}
}
