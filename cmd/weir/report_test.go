package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/store"
)

// makeStore writes a small store: youtube 3 flows/300 kB, facebook 2 flows
// (blocked, 2 events), a hostile hostname with terminal escapes.
func makeStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.db")
	st, err := store.Open(path, store.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Minute)
	add := func(app, host, verdict string, proto dissect.Proto, bytes uint64) {
		r := &record.Record{L4: 6, Last: now.UnixNano(), C2SPackets: 1, S2CPackets: 1, C2SBytes: bytes / 2, S2CBytes: bytes / 2, Verdict: verdict}
		r.Class = &classify.Result{App: app, Category: "cat-" + app, Host: host}
		r.Class.Meta.Proto = proto
		st.Sink().Write(r)
	}
	for range 3 {
		add("youtube", "youtube.com", "allow", dissect.QUIC, 100000)
	}
	add("facebook", "www.facebook.com", "block", dissect.TLS, 1000)
	add("facebook", "evil\x1b[31m.example\ttab", "block", dissect.TLS, 1000)
	for range 2 {
		st.EventSink().Event(&record.Event{Time: now, Rule: "block-social", Action: "block"})
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReport(t *testing.T) {
	path := makeStore(t)
	t.Run("tables", func(t *testing.T) {
		var out, errb strings.Builder
		if rc := cmdReport([]string{"--store", path, "--since", "1h"}, &out, &errb); rc != exitOK {
			t.Fatalf("rc %d: %s", rc, errb.String())
		}
		s := out.String()
		for _, re := range []string{
			`5 flows, 302\.0 kB, 2 enforcement events`,
			`(?m)^ *youtube +cat-youtube +3 +300\.0 kB *$`,
			`(?m)^ *facebook +cat-facebook +2 +2\.0 kB *$`,
			`(?m)^ *block-social +block +2 `,
			`(?m)^ *youtube\.com +youtube +3 +300\.0 kB *$`,
			`evil\\x1b\[31m\.example\\ttab`,
		} {
			if !regexp.MustCompile(re).MatchString(s) {
				t.Errorf("output lacks %s:\n%s", re, s)
			}
		}
		if strings.ContainsRune(s, 0x1b) {
			t.Error("a raw escape character reached the terminal")
		}
	})
	t.Run("json", func(t *testing.T) {
		var out, errb strings.Builder
		if rc := cmdReport([]string{"--store", path, "--json", "--top", "1"}, &out, &errb); rc != exitOK {
			t.Fatalf("rc %d: %s", rc, errb.String())
		}
		var r report
		if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Apps) != 1 || r.Apps[0].App != "youtube" || r.Apps[0].Bytes != 300000 || len(r.Rules) != 1 ||
			r.Rules[0].Events != 2 || len(r.Hosts) != 1 || r.Totals.Flows != 5 {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("usage and errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			rc   int
		}{
			{nil, exitUsage},
			{[]string{"--store"}, exitUsage},
			{[]string{"--store", path, "extra"}, exitUsage},
			{[]string{"--store", path, "--top", "0"}, exitUsage},
			{[]string{"--store", path, "--since", "-1h"}, exitUsage},
			{[]string{"--bogus"}, exitUsage},
			{[]string{"-h"}, exitOK},
			{[]string{"--store", filepath.Join(t.TempDir(), "missing.db")}, exitError},
		} {
			if rc := cmdReport(tc.args, io.Discard, io.Discard); rc != tc.rc {
				t.Errorf("%v: rc %d, want %d", tc.args, rc, tc.rc)
			}
		}
	})
	t.Run("empty store", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "empty.db")
		st, err := store.Open(p, store.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		var out strings.Builder
		if rc := cmdReport([]string{"--store", p}, &out, io.Discard); rc != exitOK || !strings.Contains(out.String(), "no traffic yet") {
			t.Errorf("rc %d out %s", rc, out.String())
		}
	})
}

func TestServe(t *testing.T) {
	path := makeStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	defer func() { serveContext = old }()

	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- cmdServe([]string{"--store", path, "--listen", "127.0.0.1:0"}, io.Discard, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if m := regexp.MustCompile(`dashboard on (http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		t.Fatal("serve never announced its address")
	}
	for _, tc := range []struct{ path, want string }{
		{"", `id="traffic-chart"`},
		{"api/top/apps?since=1h", `"app":"youtube"`},
		{"api/health", `"status":"ok"`},
		{"metrics", "weir_queue_depth"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET /%s: %d %.300s", tc.path, resp.StatusCode, b)
		}
	}
	cancel()
	select {
	case rc := <-done:
		if rc != exitOK {
			t.Errorf("rc %d", rc)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		rc   int
	}{
		{nil, exitUsage},
		{[]string{"--store", "x.db", "--listen", "nonsense"}, exitUsage},
		{[]string{"--store", "x.db", "extra"}, exitUsage},
		{[]string{"-h"}, exitOK},
		{[]string{"--store", filepath.Join(t.TempDir(), "no", "such", "dir.db")}, exitError},
	} {
		if rc := cmdServe(tc.args, io.Discard, io.Discard); rc != tc.rc {
			t.Errorf("%v: rc %d, want %d", tc.args, rc, tc.rc)
		}
	}
}
