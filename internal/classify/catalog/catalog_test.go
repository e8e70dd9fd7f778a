package catalog

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustLoad(tb testing.TB) *Catalog {
	tb.Helper()
	c, err := Load()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestLoad(t *testing.T) {
	c := mustLoad(t)
	if c2, _ := Load(); c2 != c {
		t.Error("Load returned a different Catalog on the second call")
	}
	if c.Len() < 70 {
		t.Errorf("only %d apps", c.Len())
	}
	required := []string{"facebook", "instagram", "whatsapp", "messenger", "telegram", "twitter",
		"youtube", "google", "gmail", "googleplay", "googlecloud", "googlemeet", "googledrive",
		"googlemaps", "netflix", "tiktok", "vk", "odnoklassniki", "yandex", "mailru", "viber",
		"signal", "zoom", "teams", "microsoft365", "microsoft", "skype", "windowsupdate",
		"wikipedia", "reddit", "amazon", "aws", "apple", "itunes", "icloud", "cloudflare", "tor",
		"github", "dropbox", "spotify", "discord", "alibaba", "qq", "line", "1kxun", "ntop", "doh",
		"mullvad", "nordvpn", "twitch", "linkedin", "snapchat", "pinterest", "bing",
		"duckduckgo", "baidu", "akamai", "fastly", "ookla"}
	for _, id := range required {
		a, ok := c.App(id)
		if !ok {
			t.Errorf("app %q missing", id)
			continue
		}
		if b, ok := c.AppByID(a.Num); !ok || b.ID != id {
			t.Errorf("AppByID(%d) = %q, want %q", a.Num, b.ID, id)
		}
	}
	for i, a := range c.Apps() {
		if int(a.Num) != i+1 {
			t.Errorf("app %q has Num %d at position %d", a.ID, a.Num, i)
		}
		if a.Category == CategoryUnknown {
			t.Errorf("app %q has category unknown", a.ID)
		}
	}
	if _, ok := c.AppByID(0); ok {
		t.Error("AppByID(0) found an app")
	}
	if _, ok := c.AppByID(AppID(c.Len() + 1)); ok {
		t.Error("AppByID past the end found an app")
	}
	if got := c.Categories(); len(got) != int(numCategories) || got[0] != "unknown" {
		t.Errorf("Categories() = %v", got)
	}
}

func TestLookups(t *testing.T) {
	c := mustLoad(t)
	hosts := []struct{ host, want string }{
		{"www.facebook.com", "facebook"},
		{"WWW.FACEBOOK.COM.", "facebook"},
		{"video.fmct2-3.fna.fbcdn.net", "facebook"},
		{"turner.facebook", "facebook"},
		{"mmg-fna.whatsapp.net", "whatsapp"},
		{"mail.google.com", "gmail"},
		{"www.google.com", "google"},
		{"www.google.co.uk", "google"},
		{"dns.google", "doh"},
		{"dns.google.com", "doh"},
		{"mozilla.cloudflare-dns.com", "doh"},
		{"cdnjs.cloudflare.com", "cloudflare"},
		{"android.clients.google.com", "googleplay"},
		{"turn.l.google.com", "googlemeet"},
		{"r3---sn-vh5ouxa-hju6.googlevideo.com", "youtube"},
		{"teams.microsoft.com", "teams"},
		{"config.teams.microsoft.com", "teams"},
		{"dc.applicationinsights.microsoft.com", "microsoft"},
		{"login.microsoftonline.com", "microsoft365"},
		{"itunes.apple.com", "itunes"},
		{"captive.apple.com.edgekey.net", "apple"},
		{"e673.dsce9.akamaiedge.net", "akamai"},
		{"doh.mullvad.net", "doh"},
		{"am1-wg-001.relays.mullvad.net", "mullvad"},
		{"weixin.qq.com", "wechat"},
		{"pingma.qq.com", "qq"},
		{"b._dns-sd._udp.ntop.org", "ntop"},
		{"example.org", ""},
		{"", ""},
		{"com", ""},
	}
	for _, h := range hosts {
		t.Run("host/"+h.host, func(t *testing.T) {
			id, ok := c.ByHost(h.host)
			a, _ := c.AppByID(id)
			if ok != (h.want != "") || a.ID != h.want {
				t.Errorf("ByHost(%q) = %q/%v, want %q", h.host, a.ID, ok, h.want)
			}
		})
	}
	addrs := []struct{ addr, want string }{
		{"157.240.1.35", "facebook"},
		{"::ffff:157.240.1.35", "facebook"},
		{"2a03:2880:f10d:83:face:b00c:0:25de", "facebook"},
		{"149.154.167.51", "telegram"},
		{"91.108.56.130", "telegram"},
		{"2001:67c:4e8:f004::a", "telegram"},
		{"142.250.74.36", "google"},
		{"8.8.8.8", "doh"},
		{"8.8.8.9", ""},
		{"1.1.1.1", "doh"},
		{"104.16.1.1", "cloudflare"},
		{"2606:4700:4700::1111", "doh"},
		{"2606:4700::1", "cloudflare"},
		{"52.114.250.152", "teams"},
		{"17.253.144.10", "apple"},
		{"192.168.1.1", ""},
		{"10.0.0.1", ""},
	}
	for _, a := range addrs {
		t.Run("addr/"+a.addr, func(t *testing.T) {
			id, ok := c.ByAddr(netip.MustParseAddr(a.addr))
			app, _ := c.AppByID(id)
			if ok != (a.want != "") || app.ID != a.want {
				t.Errorf("ByAddr(%s) = %q/%v, want %q", a.addr, app.ID, ok, a.want)
			}
		})
	}
	if _, ok := c.ByAddr(netip.Addr{}); ok {
		t.Error("ByAddr(zero Addr) matched")
	}
	names := []struct{ name, want string }{
		{"Facebook", "facebook"}, {"FbookReelStory", "facebook"}, {"YouTubeUpload", "youtube"},
		{"GoogleServices", "google"}, {"GMail", "gmail"}, {"PlayStore", "googleplay"},
		{"DoH_DoT", "doh"}, {"Skype_TeamsCall", "teams"}, {"facebook", ""}, {"TLS", ""},
	}
	for _, n := range names {
		t.Run("ndpi/"+n.name, func(t *testing.T) {
			id, ok := c.ByNDPIName(n.name)
			a, _ := c.AppByID(id)
			if ok != (n.want != "") || a.ID != n.want {
				t.Errorf("ByNDPIName(%q) = %q/%v, want %q", n.name, a.ID, ok, n.want)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	c := mustLoad(t)
	addr4 := netip.MustParseAddr("157.240.1.35")
	addr6 := netip.MustParseAddr("2a03:2880:f10d:83:face:b00c:0:25de")
	allocs := testing.AllocsPerRun(1000, func() {
		c.ByHost("Video.FMCT2-3.fna.fbcdn.net")
		c.ByHost("no.such.host.example")
		c.ByAddr(addr4)
		c.ByAddr(addr6)
		c.ByNDPIName("GoogleServices")
		c.AppByID(3)
	})
	if allocs != 0 {
		t.Errorf("%v allocs/op, want 0", allocs)
	}
}

const goodApp = `apps:
  - id: a
    name: A
    category: web
    domains: [a.example]
    ips: [192.0.2.0/24]
    ndpi: [A]
`

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		want      error
		line, col int
	}{
		{"syntax", "apps: [", errSyntax, 1, 0},
		{"syntax line", "apps:\n  - id: a\n    name: b: c\n", errSyntax, 3, 0},
		{"empty", "", errShape, 1, 1},
		{"top not map", "- 1\n", errShape, 1, 1},
		{"top unknown key", "app: []\n", errUnknownKey, 1, 1},
		{"apps missing", "{}\n", errMissing, 1, 1},
		{"apps not list", "apps: 3\n", errShape, 1, 7},
		{"app not map", "apps:\n  - x\n", errShape, 2, 5},
		{"unknown key", goodApp + "    colour: red\n", errUnknownKey, 8, 5},
		{"dup key", goodApp + "    name: B\n", errDupKey, 8, 5},
		{"missing id", "apps:\n  - name: A\n    category: web\n", errMissing, 2, 5},
		{"bad id", "apps:\n  - id: Facebook\n    name: F\n    category: web\n", errBadID, 2, 9},
		{"dup id", goodApp + "  - id: a\n    name: A2\n    category: web\n", errDupID, 8, 9},
		{"bad category", "apps:\n  - id: a\n    name: A\n    category: socail\n", errCategory, 4, 15},
		{"category list", "apps:\n  - id: a\n    name: A\n    category: [web]\n", errShape, 4, 15},
		{"empty name", "apps:\n  - id: a\n    name: \"\"\n    category: web\n", errBadName, 3, 11},
		{"bad domain", "apps:\n  - id: a\n    name: A\n    category: web\n    domains: [ok.example, bad..example]\n", errBadDomain, 5, 27},
		{"domains not list", "apps:\n  - id: a\n    name: A\n    category: web\n    domains: a.example\n", errShape, 5, 14},
		{"dup domain", goodApp + "  - id: b\n    name: B\n    category: web\n    domains: [A.Example.]\n", errDupDomain, 11, 15},
		{"bad cidr", "apps:\n  - id: a\n    name: A\n    category: web\n    ips:\n      - 300.1.2.0/24\n", errBadCIDR, 6, 9},
		{"host bits", "apps:\n  - id: a\n    name: A\n    category: web\n    ips: [192.0.2.1/24]\n", errBadCIDR, 5, 11},
		{"dup cidr", goodApp + "  - id: b\n    name: B\n    category: web\n    ips: [192.0.2.0/24]\n", errDupCIDR, 11, 11},
		{"bad ndpi", "apps:\n  - id: a\n    name: A\n    category: web\n    ndpi: [\"has space\"]\n", errBadNDPI, 5, 12},
		{"dup ndpi", goodApp + "  - id: b\n    name: B\n    category: web\n    ndpi: [A]\n", errDupNDPI, 11, 12},
		{"nested list item", "apps:\n  - id: a\n    name: A\n    category: web\n    ndpi: [[A]]\n", errShape, 5, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse: %v, want %v", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Col != tc.col {
				t.Errorf("position %d:%d, want %d:%d (%v)", pe.Line, pe.Col, tc.line, tc.col, err)
			}
			if !strings.HasPrefix(err.Error(), "catalog: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	c, err := Parse([]byte(goodApp + "  - id: b\n    name: B\n    category: cdn\n    domains: [\"=x.a.example\", \"*.y.a.example\"]\n    ips: [192.0.2.128/25, \"2001:db8::/32\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(got AppID, ok bool, want string) {
		t.Helper()
		a, _ := c.AppByID(got)
		if ok != (want != "") || a.ID != want {
			t.Errorf("got %q/%v, want %q", a.ID, ok, want)
		}
	}
	id, ok := c.ByHost("a.example")
	check(id, ok, "a")
	id, ok = c.ByHost("x.a.example")
	check(id, ok, "b")
	id, ok = c.ByHost("z.x.a.example")
	check(id, ok, "a")
	id, ok = c.ByHost("y.a.example")
	check(id, ok, "a")
	id, ok = c.ByHost("z.y.a.example")
	check(id, ok, "b")
	id, ok = c.ByAddr(netip.MustParseAddr("192.0.2.1"))
	check(id, ok, "a")
	id, ok = c.ByAddr(netip.MustParseAddr("192.0.2.200"))
	check(id, ok, "b")
	id, ok = c.ByAddr(netip.MustParseAddr("2001:db8::1"))
	check(id, ok, "b")
	b, _ := c.App("b")
	if b.Category != CategoryCDN || b.Category.String() != "cdn" || len(b.Domains) != 2 || b.Domains[0] != "=x.a.example" {
		t.Errorf("app b = %+v", b)
	}
}

func TestCategory(t *testing.T) {
	for i, n := range CategoryNames() {
		c, ok := ParseCategory(n)
		if !ok || int(c) != i || c.String() != n {
			t.Errorf("category %q round trip: %v %v", n, c, ok)
		}
	}
	if _, ok := ParseCategory("Social"); ok {
		t.Error("ParseCategory is case-insensitive")
	}
	if Category(200).String() != "unknown" {
		t.Error("out-of-range Category String")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodApp))
	f.Add(appsYAML[:min(len(appsYAML), 4000)])
	f.Add([]byte("apps:\n  - id: a\n    name: A\n    category: web\n    domains: [\"*.a.b\", \"=c.d\"]\n    ips: [\"::/0\", 0.0.0.0/0]\n"))
	f.Add([]byte("apps: [{id: x, name: y, category: vpn, ndpi: [Z]}]"))
	f.Add([]byte("&a apps: *a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		// Whatever parsed must be self-consistent.
		for _, a := range c.Apps() {
			if b, ok := c.App(a.ID); !ok || b.Num != a.Num {
				t.Fatalf("App(%q) inconsistent", a.ID)
			}
			for _, d := range a.Domains {
				h := strings.TrimPrefix(strings.TrimPrefix(d, "="), "*.")
				if strings.HasPrefix(d, "*.") {
					h = "x." + h
				}
				// Another app's "=x" or "*.x" may outrank "x", so only
				// require that the name resolves to some app.
				if id, ok := c.ByHost(h); len(h) <= 253 && !ok {
					t.Fatalf("ByHost(%q) found nothing, want %d", h, a.Num)
				} else if _, valid := c.AppByID(id); ok && !valid {
					t.Fatalf("ByHost(%q) = %d, not an app", h, id)
				}
			}
			for _, p := range a.Prefixes {
				if id, ok := c.ByAddr(p.Addr()); !ok {
					t.Fatalf("ByAddr(%v) found nothing", p.Addr())
				} else if _, ok := c.AppByID(id); !ok {
					t.Fatalf("ByAddr(%v) = %d, not an app", p.Addr(), id)
				}
			}
			for _, n := range a.NDPI {
				if id, _ := c.ByNDPIName(n); id != a.Num {
					t.Fatalf("ByNDPIName(%q) = %d, want %d", n, id, a.Num)
				}
			}
		}
	})
}

var sinkID AppID

// Last result (2 cores, go1.26, machine under load average ~30 from
// parallel builds, so absolute times are inflated 3-4x):
//
//	BenchmarkLookups/ByHost-2      3134935  335.6 ns/op  0 B/op  0 allocs/op
//	BenchmarkLookups/ByAddr-2      9725365  137.1 ns/op  0 B/op  0 allocs/op
//	BenchmarkLookups/ByNDPIName-2 15347644  70.78 ns/op  0 B/op  0 allocs/op
//	BenchmarkParse-2                    42  60042686 ns/op  888826 B/op  10882 allocs/op
func BenchmarkLookups(b *testing.B) {
	c := mustLoad(b)
	hosts := []string{"video.fmct2-3.fna.fbcdn.net", "r3---sn-vh5ouxa-hju6.googlevideo.com",
		"WWW.EXAMPLE.ORG", "config.teams.microsoft.com"}
	addrs := []netip.Addr{netip.MustParseAddr("157.240.1.35"), netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("2a03:2880:f10d:83:face:b00c:0:25de")}
	b.Run("ByHost", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			id, _ := c.ByHost(hosts[i%len(hosts)])
			sinkID += id
		}
	})
	b.Run("ByAddr", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			id, _ := c.ByAddr(addrs[i%len(addrs)])
			sinkID += id
		}
	})
	b.Run("ByNDPIName", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			id, _ := c.ByNDPIName("GoogleServices")
			sinkID += id
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(appsYAML); err != nil {
			b.Fatal(err)
		}
	}
}
