package record

import (
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
)

// TestSummaryAdd: totals per key stay right when keys alternate (Add
// remembers the previous row of each table).
func TestSummaryAdd(t *testing.T) {
	s := NewSummary()
	category := map[string]string{"facebook": "social", "google": "search"}
	add := func(l4 uint8, proto dissect.Proto, app string, pkts uint64) {
		conf := classify.ConfDPI
		if app == "" {
			conf = classify.ConfPortGuess
		}
		appConf := classify.ConfDPI
		if app == "google" {
			appConf = classify.ConfIPMatch
		}
		s.Add(&Record{L4: l4, C2SPackets: pkts, C2SBytes: 10 * pkts, Class: &classify.Result{
			Meta: dissect.Meta{Proto: proto}, App: app, Category: category[app], Confidence: conf, AppConf: appConf}})
	}
	add(6, dissect.TLS, "facebook", 1)
	add(17, dissect.QUIC, "google", 2)
	add(6, dissect.TLS, "facebook", 4)
	add(6, dissect.HTTP, "", 8)
	add(17, dissect.QUIC, "facebook", 16)
	want := map[string]Total{"tcp": {3, 13, 130}, "udp": {2, 18, 180}}
	for k, w := range want {
		if got := s.ByL4[k]; got == nil || *got != w {
			t.Errorf("ByL4[%s] = %v, want %v", k, got, w)
		}
	}
	for k, w := range map[string]Total{"TLS": {2, 5, 50}, "QUIC": {2, 18, 180}, "HTTP": {1, 8, 80}} {
		if got := s.ByProto[k]; got == nil || *got != w {
			t.Errorf("ByProto[%s] = %v, want %v", k, got, w)
		}
	}
	for k, w := range map[string]Total{"facebook": {3, 21, 210}, "google": {1, 2, 20}, "(none)": {1, 8, 80}} {
		if got := s.ByApp[k]; got == nil || *got != w {
			t.Errorf("ByApp[%s] = %v, want %v", k, got, w)
		}
	}
	for k, w := range map[string]Total{"social": {3, 21, 210}, "search": {1, 2, 20}, "(none)": {1, 8, 80}} {
		if got := s.ByCategory[k]; got == nil || *got != w {
			t.Errorf("ByCategory[%s] = %v, want %v", k, got, w)
		}
	}
	if got := s.ByAppConf["ip-match"]; got == nil || *got != (Total{1, 2, 20}) || len(s.ByAppConf) != 2 {
		t.Errorf("ByAppConf = %v, want google's flow by ip-match and facebook's by dpi", s.ByAppConf)
	}
	for k, w := range map[string]Total{"dpi": {4, 23, 230}, "port-guess": {1, 8, 80}} {
		if got := s.ByConfidence[k]; got == nil || *got != w {
			t.Errorf("ByConfidence[%s] = %v, want %v", k, got, w)
		}
	}
}
