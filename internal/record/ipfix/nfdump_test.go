package ipfix

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/record"
)

// nfdumpExport sends records to an nfcapd collector on loopback and returns
// nfdump's CSV reading of what it stored. Skips when nfdump is absent.
func nfdumpExport(t *testing.T, cfg Config, recs ...*record.Record) string {
	t.Helper()
	nfcapd, err1 := exec.LookPath("nfcapd")
	nfdump, err2 := exec.LookPath("nfdump")
	if err1 != nil || err2 != nil {
		t.Skip("nfdump/nfcapd not installed (apt-get install nfdump)")
	}
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	dir := t.TempDir()
	cmd := exec.Command(nfcapd, "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600")
	logb := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logb, logb
	if err := cmd.Start(); err != nil {
		t.Skipf("nfcapd: %v", err)
	}
	defer cmd.Process.Kill()
	// nfcapd binds before it logs "Startup"; wait for the socket.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			break // in use: nfcapd holds it
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("nfcapd did not bind: %s", logb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg.Addr = "127.0.0.1:" + strconv.Itoa(port)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, "nfcapd.*"))
	if len(files) == 0 {
		ents, _ := os.ReadDir(dir)
		t.Fatalf("nfcapd wrote no file (%v); log:\n%s", ents, logb)
	}
	nd := exec.Command(nfdump, "-R", dir, "-q", "-o", "csv")
	nd.Env = append(os.Environ(), "TZ=UTC")
	out, err := nd.CombinedOutput()
	if err != nil {
		t.Fatalf("nfdump: %v\n%s", err, out)
	}
	return string(out)
}

// TestNfdump is optional: it runs only where Debian's nfdump package is
// installed, as a second independent collector.
func TestNfdump(t *testing.T) {
	out := nfdumpExport(t, Config{}, tlsRecord(), dnsRecord6(), oneWayRecord())
	// CSV columns: 0 ts, 1 te, 2 td, 3 sa, 4 da, 5 sp, 6 dp, 7 pr, 11 ipkt, 12 ibyt, 25 svln.
	want := [][]string{
		{"2026-05-06 07:08:09", "2026-05-06 07:08:10", "1.500", "192.0.2.77", "198.51.100.1", "40000", "443", "TCP", "10", "1000", "7"},
		{"2026-05-06 07:08:09", "2026-05-06 07:08:10", "1.500", "198.51.100.1", "192.0.2.77", "443", "40000", "TCP", "8", "9000", "7"},
		{"2026-05-06 07:08:09", "2026-05-06 07:08:09", "0.020", "2001:db8::7", "2001:db8:1::53", "5353", "53", "UDP", "1", "80", "0"},
		{"2026-05-06 07:08:09", "2026-05-06 07:08:09", "0.020", "2001:db8:1::53", "2001:db8::7", "53", "5353", "UDP", "1", "120", "0"},
		{"2026-05-06 07:08:09", "2026-05-06 07:08:09", "0.000", "10.0.0.1", "10.0.0.2", "0", "0", "ICMP", "3", "294", "0"},
	}
	var got [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		c := strings.Split(l, ",")
		if len(c) < 26 {
			t.Fatalf("short CSV line %q", l)
		}
		got = append(got, []string{c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[11], c[12], c[25]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nfdump rows (-got, +want):\n-%q\n+%q", got, want)
	}
}
