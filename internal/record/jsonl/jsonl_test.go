package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/anon"
)

// lockedBuf lets the flusher goroutine and the test share a buffer.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testRecord() *record.Record {
	cls := &classify.Result{App: "facebook", Category: "social", Host: "www.facebook.com"}
	cls.Meta.Proto = dissect.TLS
	return &record.Record{
		L4:         6,
		Client:     netip.MustParseAddrPort("192.0.2.77:40000"),
		Server:     netip.MustParseAddrPort("198.51.100.1:443"),
		First:      time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC).UnixNano(),
		Last:       time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC).UnixNano(),
		C2SPackets: 10, C2SBytes: 1000, S2CPackets: 8, S2CBytes: 9000,
		Class: cls, Verdict: "block", Rule: "no-social",
	}
}

func decodeLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestSinkStdout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		an     anon.Anonymizer
		client string
	}{
		{"plain", nil, "192.0.2.77:40000"},
		{"truncated", anon.DefaultTruncate, "192.0.2.0:40000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf lockedBuf
			s, err := NewSink(Config{Path: "-", Stdout: &buf, Anon: tc.an})
			if err != nil {
				t.Fatal(err)
			}
			r := testRecord()
			for range 3 {
				if err := s.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if r.Client.String() != "192.0.2.77:40000" {
				t.Fatal("Write modified the caller's record")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			lines := decodeLines(t, buf.String())
			if len(lines) != 3 {
				t.Fatalf("%d lines, want 3", len(lines))
			}
			if got := lines[0]["client"]; got != tc.client {
				t.Errorf("client = %v, want %v", got, tc.client)
			}
			if got := lines[0]["app"]; got != "facebook" {
				t.Errorf("app = %v", got)
			}
			if err := s.Write(r); err == nil {
				t.Error("Write after Close succeeded")
			}
		})
	}
}

func TestFlushInterval(t *testing.T) {
	var buf lockedBuf
	s, err := NewSink(Config{Stdout: &buf, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(testRecord()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for buf.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("line not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flows.jsonl")
	var one bytes.Buffer
	one.Write(testRecord().AppendJSON(nil))
	lineLen := int64(one.Len() + 1)
	// Three lines per file; 11 lines make files of 3,3,3,2 (newest in p).
	s, err := NewSink(Config{Path: p, MaxBytes: 3*lineLen + 1, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 11 {
		if err := s.Write(testRecord()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		lines int
	}{
		{"flows.jsonl", 2}, {"flows.jsonl.1", 3}, {"flows.jsonl.2", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(decodeLines(t, string(b))); got != tc.lines {
				t.Errorf("%d lines, want %d", got, tc.lines)
			}
			if int64(len(b)) > 3*lineLen+1 {
				t.Errorf("size %d exceeds MaxBytes", len(b))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "flows.jsonl.3")); err == nil {
		t.Error("flows.jsonl.3 kept with Keep 2")
	}

	// Reopening appends and counts the existing size.
	s, err = NewSink(Config{Path: p, MaxBytes: 3*lineLen + 1, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.Write(testRecord())
	s.Write(testRecord()) // 4th line: rotates
	s.Close()
	b, _ := os.ReadFile(p)
	if n := len(decodeLines(t, string(b))); n != 1 {
		t.Errorf("after reopen: %d lines in the live file, want 1", n)
	}
}

func TestRotationKeepZero(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "e.jsonl")
	s, err := NewEventSink(Config{Path: p, MaxBytes: 10, Keep: 0})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Event(&record.Event{Rule: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d files, want 1", len(ents))
	}
	b, _ := os.ReadFile(p)
	if n := len(decodeLines(t, string(b))); n != 1 {
		t.Errorf("%d lines, want 1 (each line over MaxBytes goes to a fresh file)", n)
	}
}

func TestEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    record.Event
		want string
	}{
		{
			"full",
			record.Event{
				Time: time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("x", 3600)),
				L4:   6, Client: "192.0.2.0:40000", Server: "198.51.100.1:443",
				Rule: "no-social", Action: "block", Protocol: "TLS", App: "facebook",
				Host: "www.facebook.com", Notice: "tcp-reset",
			},
			`{"time":"2026-03-04T04:06:07.00000089Z","l4":"tcp","client":"192.0.2.0:40000","server":"198.51.100.1:443","rule":"no-social","action":"block","protocol":"TLS","app":"facebook","host":"www.facebook.com","notice":"tcp-reset"}`,
		},
		{
			"empty keys stay",
			record.Event{Time: time.Unix(0, 0), L4: 17, Action: "drop", Notice: "none"},
			`{"time":"1970-01-01T00:00:00Z","l4":"udp","client":"","server":"","rule":"","action":"drop","protocol":"","app":"","host":"","notice":"none"}`,
		},
		{
			"hostile host",
			record.Event{Time: time.Unix(0, 0), L4: 6, Host: "a\"b\\c\n\x00\xff\u2028é"},
			`{"time":"1970-01-01T00:00:00Z","l4":"tcp","client":"","server":"","rule":"","action":"","protocol":"","app":"","host":"a\"b\\c\n\u0000\ufffd\u2028é","notice":""}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendEvent(nil, &tc.e))
			// JSON escapes \n as \u000a here; compare through a decoder
			// as well as byte-exactly for the other cases.
			var m map[string]any
			if err := json.Unmarshal([]byte(got), &m); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			want := strings.ReplaceAll(tc.want, `\n`, `\u000a`)
			if got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestEventSinkFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "events.jsonl")
	s, err := NewEventSink(Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	e := &record.Event{Time: time.Unix(1, 0), L4: 6, Action: "reset", Rule: "r1"}
	if err := s.Event(e); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if !strings.Contains(sc.Text(), `"action":"reset"`) {
		t.Errorf("line %q", sc.Text())
	}
}

func TestConcurrentWrites(t *testing.T) {
	var buf lockedBuf
	s, _ := NewSink(Config{Stdout: &buf, FlushInterval: time.Millisecond})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				s.Write(testRecord())
			}
		})
	}
	wg.Wait()
	s.Close()
	if n := len(decodeLines(t, buf.String())); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := NewSink(Config{MaxBytes: -1}); err == nil {
		t.Error("negative MaxBytes accepted")
	}
	if _, err := NewSink(Config{Path: filepath.Join(t.TempDir(), "no", "such", "dir")}); err == nil {
		t.Error("unopenable path accepted")
	}
}

func TestNoAllocs(t *testing.T) {
	cp, _ := anon.NewCryptoPAn(make([]byte, 32))
	for name, a := range map[string]anon.Anonymizer{"none": nil, "cryptopan": cp} {
		t.Run(name, func(t *testing.T) {
			s, _ := NewSink(Config{Path: filepath.Join(t.TempDir(), "f"), MaxBytes: 1 << 16, Keep: 1, Anon: a})
			defer s.Close()
			es, _ := NewEventSink(Config{Path: filepath.Join(t.TempDir(), "e")})
			defer es.Close()
			r := testRecord()
			e := &record.Event{Time: time.Now(), L4: 6, Rule: "r", Action: "drop"}
			s.Write(r)
			es.Event(e)
			if n := testing.AllocsPerRun(500, func() {
				s.Write(r)
				es.Event(e)
			}); n != 0 {
				t.Errorf("allocs per run = %v, want 0", n)
			}
		})
	}
}

// BenchmarkSink-2   1772720   707.3 ns/op   0 B/op   0 allocs/op
func BenchmarkSink(b *testing.B) {
	s, _ := NewSink(Config{Path: filepath.Join(b.TempDir(), "f")})
	defer s.Close()
	r := testRecord()
	b.ReportAllocs()
	for b.Loop() {
		s.Write(r)
	}
}
