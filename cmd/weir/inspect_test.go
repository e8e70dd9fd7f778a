package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
)

// tcpFrame builds an Ethernet/IPv4/TCP frame.
func tcpFrame(src, dst [4]byte, sp, dp uint16, flags byte, payload []byte) []byte {
	b := make([]byte, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sp)
	binary.BigEndian.PutUint16(tcp[2:], dp)
	tcp[12] = 5 << 4
	tcp[13] = flags
	copy(tcp[20:], payload)
	return b
}

// writeCapture writes a small two-flow capture and returns its bytes.
func writeCapture(t *testing.T) []byte {
	c, s, s2 := [4]byte{10, 200, 1, 2}, [4]byte{10, 200, 2, 2}, [4]byte{10, 200, 2, 3}
	return pcapOf(t,
		tcpFrame(c, s, 40000, 80, 0x02, nil),
		tcpFrame(s, c, 80, 40000, 0x12, nil),
		tcpFrame(c, s, 40000, 80, 0x18, []byte("GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")),
		tcpFrame(c, s2, 40001, 443, 0x02, nil),
	)
}

// pcapOf is an Ethernet pcap of frames, 1 ms apart.
func pcapOf(t *testing.T, frames ...[]byte) []byte {
	var buf bytes.Buffer
	w := capture.NewPcapWriter(&buf, capture.LinkEthernet, false)
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(int64(1_700_000_000_000_000_000+i*1_000_000), f, len(f)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func runWeir(t *testing.T, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func TestInspect_JSON(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "two.pcap")
	os.WriteFile(p, writeCapture(t), 0o644)
	out, errOut, code := runWeir(t, "inspect", "--json", p)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d flow lines, want 2:\n%s", len(lines), out)
	}
	var rec map[string]any
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		if rec["server"] == "10.200.2.2:80" {
			break
		}
	}
	for _, k := range []string{"l4", "client", "server", "first", "last", "c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("key %q missing in %v", k, rec)
		}
	}
	if rec["l4"] != "tcp" || rec["client"] != "10.200.1.2:40000" || rec["c2s_packets"] != 2.0 || rec["s2c_packets"] != 1.0 || rec["s2c_bytes"] != 54.0 {
		t.Errorf("record = %v", rec)
	}
}

func TestInspect_gzipAndStdin(t *testing.T) {
	raw := writeCapture(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	dir := t.TempDir()
	p := filepath.Join(dir, "two.pcap.gz")
	os.WriteFile(p, gz.Bytes(), 0o644)
	out, errOut, code := runWeir(t, "inspect", "--summary", p)
	if code != exitOK || !strings.Contains(out, "tcp") {
		t.Fatalf("gzip: exit %d, out %q, err %q", code, out, errOut)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write(raw); w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	out, errOut, code = runWeir(t, "inspect", "-")
	if code != exitOK || strings.Count(out, "\n") != 2 {
		t.Fatalf("stdin: exit %d, out %q, err %q", code, out, errOut)
	}
}

// A truncated capture: the flows read so far are printed, the error names
// the file and the byte offset, and the exit status is 1.
func TestInspect_truncated(t *testing.T) {
	raw := writeCapture(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "cut.pcap")
	os.WriteFile(p, raw[:len(raw)-10], 0o644)
	out, errOut, code := runWeir(t, "inspect", p)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(errOut, "cut.pcap") || !strings.Contains(errOut, "byte offset") {
		t.Errorf("error does not name file and offset: %q", errOut)
	}
	if !strings.Contains(out, "10.200.2.2:80") {
		t.Errorf("flows before the cut not printed: %q", out)
	}
}

func TestInspect_usage(t *testing.T) {
	if _, _, code := runWeir(t, "inspect"); code != exitUsage {
		t.Errorf("no file: exit %d, want %d", code, exitUsage)
	}
	if _, _, code := runWeir(t, "nosuch"); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	if out, _, code := runWeir(t, "version"); code != exitOK || !strings.HasPrefix(out, "weir ") {
		t.Errorf("version: %d %q", code, out)
	}
	if _, errOut, code := runWeir(t, "inspect", "/nonexistent.pcap"); code != exitError || !strings.Contains(errOut, "nonexistent") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
	if out, _, code := runWeir(t, "help"); code != exitOK || !strings.Contains(out, "inspect") {
		t.Errorf("help: %d %q", code, out)
	}
}

func TestInspect_stats(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "two.pcap")
	os.WriteFile(p, writeCapture(t), 0o644)
	_, errOut, code := runWeir(t, "inspect", "-q", "--stats", p)
	if code != exitOK {
		t.Fatal(code)
	}
	for _, want := range []string{"packets          4", "flows            2", "evicted        0", "Mpps", "peak memory"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stats lack %q:\n%s", want, errOut)
		}
	}
}

// inspect --store with --policy writes aggregates and dry-run events that
// weir report reads back.
func TestInspect_storeAndReport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	pol := filepath.Join(dir, "p.yaml")
	os.WriteFile(pol, []byte("rules:\n  - name: no-http\n    match: { protocol: HTTP }\n    action: block\ndefault: allow\n"), 0o644)
	if _, errOut, code := runWeir(t, "inspect", "-q", "--store", db, "--policy", pol, filepath.Join("..", "..", "testdata", "demo.pcap")); code != exitOK {
		t.Fatalf("inspect --store: exit %d: %s", code, errOut)
	}
	out, errOut, code := runWeir(t, "report", "--store", db, "--since", "876000h")
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"allowed.test", "no-http", "block"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
