package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/store"
)

const chromiumPath = "/usr/bin/chromium"

func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--window-size=1280,1600", "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	// With --enable-logging, page console errors and uncaught exceptions
	// appear on stderr as CONSOLE lines.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "Uncaught") || (strings.Contains(line, "CONSOLE") && strings.Contains(line, "rror")) {
			t.Errorf("page logged: %s", line)
		}
	}
	return out
}

// TestDashboardChromium loads the dashboard in headless Chromium against a
// store with known data and checks the rendered charts and tables carry
// exactly the store's numbers, that hostile hostnames stay text, and that
// the page reported no errors. It keeps a screenshot (and refreshes
// docs/dashboard.png with WEIR_UPDATE_SCREENSHOT=1).
func TestDashboardChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI must install the Debian package chromium", chromiumPath)
		}
		t.Skipf("%s not found: install the Debian package chromium to run the dashboard end-to-end test", chromiumPath)
	}
	if testing.Short() {
		t.Skip("slow: runs headless Chromium")
	}
	now := time.Now()
	f := newFixture(t, now)
	addVariety(t, f.st, now)
	srv := httptest.NewServer(f.handler(t)) // listens on 127.0.0.1
	defer srv.Close()
	url := srv.URL + "/"

	dom := string(chromium(t, "--dump-dom", url))
	if !strings.Contains(dom, "data-rendered=") {
		t.Fatalf("page never finished a refresh; DOM:\n%.3000s", dom)
	}
	if m := regexp.MustCompile(`(?s)<div id="errors"[^>]*>(.*?)</div>\s*<main>`).FindStringSubmatch(dom); m == nil || strings.TrimSpace(m[1]) != "" {
		t.Errorf("errors box not empty: %q", m)
	}

	ctx := context.Background()
	w := store.Window{Since: now.Add(-time.Hour), Until: now, Step: time.Minute}
	wantTraffic, err := f.st.Traffic(ctx, w, DefaultConfig().TopApps)
	if err != nil {
		t.Fatal(err)
	}
	wantBlocked, _ := f.st.Blocked(ctx, w)

	t.Run("traffic chart", func(t *testing.T) {
		got := elements(dom, "path", "data-app")
		if len(got) != len(wantTraffic.Apps) {
			t.Fatalf("%d series drawn, store has %d: %v", len(got), len(wantTraffic.Apps), got)
		}
		for i, a := range wantTraffic.Apps {
			g := got[i]
			if g["data-app"] != a.App || g["data-points"] != strconv.Itoa(len(a.Bytes)) || g["data-total"] != strconv.FormatUint(a.Total, 10) {
				t.Errorf("series %d: drawn %v, store %s/%d points/%d bytes", i, g, a.App, len(a.Bytes), a.Total)
			}
		}
		if !strings.Contains(dom, `data-chart="traffic" data-buckets="`+strconv.Itoa(len(wantTraffic.Times))+`"`) {
			t.Error("traffic chart bucket count differs from the store")
		}
	})
	t.Run("blocked chart", func(t *testing.T) {
		got := elements(dom, "g", "data-rule")
		if len(got) != len(wantBlocked.Rules) {
			t.Fatalf("%d rules drawn, store has %d", len(got), len(wantBlocked.Rules))
		}
		for i, r := range wantBlocked.Rules {
			if got[i]["data-rule"] != r.Rule || got[i]["data-total"] != strconv.FormatUint(r.Total, 10) {
				t.Errorf("rule %d: drawn %v, store %s/%d", i, got[i], r.Rule, r.Total)
			}
		}
		// One bar per non-empty bucket.
		bars := 0
		for _, r := range wantBlocked.Rules {
			for _, v := range r.Events {
				if v > 0 {
					bars++
				}
			}
		}
		if n := strings.Count(dom, "<rect "); n != bars {
			t.Errorf("%d bars drawn, store has %d non-empty buckets", n, bars)
		}
	})
	t.Run("tables", func(t *testing.T) {
		apps, _ := f.st.TopApps(ctx, w, 10)
		hosts, _ := f.st.TopHosts(ctx, w, 10)
		for _, tc := range []struct {
			id   string
			want int
		}{{"top-apps", len(apps)}, {"top-hosts", len(hosts)}, {"events", 25}, {"policy-rules", 3}} {
			if got := tableRows(dom, tc.id); got != tc.want {
				t.Errorf("#%s has %d rows, want %d", tc.id, got, tc.want)
			}
		}
		for _, s := range []string{"block-social", "night-video", "category: video; group: campus", "throttle 1mbit"} {
			if !strings.Contains(dom, s) {
				t.Errorf("policy table lacks %q", s)
			}
		}
	})
	t.Run("hostile names stay text", func(t *testing.T) {
		if strings.Contains(dom, "<img src=x") || strings.Contains(dom, "<script>alert") {
			t.Error("a hostname was inserted as markup")
		}
		if !strings.Contains(dom, html.EscapeString(`<img src=x onerror=alert(1)>.evil.example`)) {
			t.Error("the hostile hostname is not shown as text")
		}
	})

	png := filepath.Join(t.TempDir(), "dashboard.png")
	chromium(t, "--screenshot="+png, url)
	if st, err := os.Stat(png); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot: %v", err)
	}
	art, err := os.MkdirTemp("", "weir-dashboard-")
	if err == nil {
		keep := filepath.Join(art, "dashboard.png")
		if copyFile(png, keep) == nil {
			t.Logf("screenshot kept at %s", keep)
		}
	}
	if os.Getenv("WEIR_UPDATE_SCREENSHOT") == "1" {
		dst := filepath.Join(repoRoot(t), "docs", "dashboard.png")
		if err := copyFile(png, dst); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", dst)
	}
}

// addVariety adds apps with wavy traffic so the chart (and the screenshot)
// looks like a real link.
func addVariety(t *testing.T, st *store.Store, now time.Time) {
	first := now.Truncate(time.Minute).Add(-(fixtureMinutes - 1) * time.Minute)
	apps := []struct {
		app, cat, host string
		proto          dissect.Proto
		base           float64
	}{
		{"netflix", "video", "ipv4-c001.nflxvideo.net", dissect.TLS, 120000},
		{"whatsapp", "chat", "mmg.whatsapp.net", dissect.TLS, 30000},
		{"zoom", "conferencing", "zoom.us", dissect.STUN, 60000},
		{"github", "dev", "github.com", dissect.TLS, 20000},
	}
	k := st.Sink()
	for i := range fixtureMinutes {
		at := first.Add(time.Duration(i)*time.Minute + 20*time.Second)
		for j, a := range apps {
			v := a.base * (1.2 + math.Sin(float64(i)/4+float64(j)))
			r := &record.Record{L4: 6, Last: at.UnixNano(), C2SPackets: 10, S2CPackets: 10, C2SBytes: uint64(v / 4), S2CBytes: uint64(v * 3 / 4), Verdict: "allow"}
			r.Class = &classify.Result{App: a.app, Category: a.cat, Host: a.host}
			r.Class.Meta.Proto = a.proto
			k.Write(r)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
}

var attrRE = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// elements returns, in document order, the attributes of each <tag> that
// has attribute key.
func elements(dom, tag, key string) []map[string]string {
	var out []map[string]string
	for _, m := range regexp.MustCompile(`<`+tag+`\s[^>]*>`).FindAllString(dom, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(m, -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if _, ok := attrs[key]; ok {
			delete(attrs, "d")
			out = append(out, attrs)
		}
	}
	return out
}

func tableRows(dom, id string) int {
	m := regexp.MustCompile(`(?s)<table id="` + id + `">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(dom)
	if m == nil {
		return -1
	}
	if strings.Contains(m[1], `class="empty"`) {
		return 0
	}
	return strings.Count(m[1], "<tr>")
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal(fmt.Errorf("go.mod not found above the test directory"))
		}
		dir = parent
	}
}
