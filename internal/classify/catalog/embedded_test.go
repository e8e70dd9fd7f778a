package catalog

import (
	"net/netip"
	"reflect"
	"testing"
)

// TestEmbeddedAppsCurrent: the compiled catalog Load serves must be
// apps.yaml as Parse reads it, and answer every lookup the same way.
func TestEmbeddedAppsCurrent(t *testing.T) {
	parsed, err := Parse(appsYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed.Apps(), embeddedApps) {
		t.Fatal("embedded_apps.go does not match apps.yaml: run go generate ./internal/classify/catalog")
	}
	built := fromApps(embeddedApps)
	if !reflect.DeepEqual(built.byKey, parsed.byKey) || !reflect.DeepEqual(built.ndpi, parsed.ndpi) {
		t.Fatal("id or nDPI-name maps differ")
	}
	for _, a := range parsed.Apps() {
		for _, d := range a.Domains {
			for _, host := range []string{d, "x." + d, "a.b." + d} {
				if host[0] == '=' || host[0] == '*' {
					host = host[2:]
				}
				g, gok := built.ByHost(host)
				w, wok := parsed.ByHost(host)
				if g != w || gok != wok {
					t.Errorf("ByHost(%q) = %v %v, Parse's catalog %v %v", host, g, gok, w, wok)
				}
			}
		}
		for _, p := range a.Prefixes {
			for _, addr := range []string{p.Addr().String(), p.Masked().Addr().Next().String()} {
				g, gok := built.ByAddr(netip.MustParseAddr(addr))
				w, wok := parsed.ByAddr(netip.MustParseAddr(addr))
				if g != w || gok != wok {
					t.Errorf("ByAddr(%s) = %v %v, Parse's catalog %v %v", addr, g, gok, w, wok)
				}
			}
		}
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		fromApps(embeddedApps)
	}
}
