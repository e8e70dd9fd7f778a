package capture

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir finds <repo root>/../shared/corpus/ndpi/pcap, the repo root
// being the directory holding go.mod.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("nDPI corpus not found at ../shared/corpus/ndpi (no go.mod above the test)")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "corpus", "ndpi", "pcap")
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return p
}

// parseEpoch turns "1470104373.025824" into ns exactly (no float).
func parseEpoch(s string) (int64, error) {
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	v, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, err
	}
	frac = (frac + "000000000")[:9]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	return v*1e9 + f, nil
}

type corpusStats struct {
	n                     int
	first, last, min, max int64
}

func readStats(t *testing.T, path string) corpusStats {
	t.Helper()
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var st corpusStats
	var p Packet
	for {
		err := src.Next(&p)
		if err != nil {
			if err != io.EOF {
				t.Fatalf("after %d packets: %v", st.n, err)
			}
			return st
		}
		if st.n == 0 {
			st.first, st.min, st.max = p.TS, p.TS, p.TS
		}
		st.n++
		st.last = p.TS
		st.min, st.max = min(st.min, p.TS), max(st.max, p.TS)
	}
}

// TestCorpus checks every nDPI capture against Wireshark's wiretap: one
// capinfos run gives count and earliest/latest time for all files; tshark
// gives the exact first/last timestamp in file order for the files that
// are not chronological (and a few more when not -short).
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	capinfos, err := exec.LookPath("capinfos")
	if err != nil {
		t.Skip("capinfos (wireshark-common) not installed; skipping corpus comparison")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi (empty)")
	}
	args := append([]string{"-T", "-r", "-c", "-a", "-e", "-S", "-o"}, files...)
	var stderr bytes.Buffer
	cmd := exec.Command(capinfos, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, stderr.String())
	}
	tshark, _ := exec.LookPath("tshark")
	extra := 0
	seen := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Errorf("unexpected capinfos line %q", line)
			continue
		}
		seen++
		path := strings.TrimSpace(f[0])
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := strconv.Atoi(strings.TrimSpace(f[1]))
			if err != nil {
				t.Fatalf("capinfos count %q", f[1])
			}
			got := readStats(t, path)
			if got.n != want {
				t.Errorf("%d packets, capinfos says %d", got.n, want)
			}
			if want == 0 {
				return
			}
			earliest, err1 := parseEpoch(f[2])
			latest, err2 := parseEpoch(f[3])
			if err1 != nil || err2 != nil {
				t.Fatalf("capinfos times %q %q", f[2], f[3])
			}
			if got.min != earliest || got.max != latest {
				t.Errorf("earliest/latest %d/%d, capinfos says %d/%d", got.min, got.max, earliest, latest)
			}
			chrono := strings.TrimSpace(f[4]) == "True"
			if chrono && (got.first != earliest || got.last != latest) {
				t.Errorf("chronological file: first/last %d/%d, want %d/%d", got.first, got.last, earliest, latest)
			}
			// tshark is slow (~1 s a file): only where capinfos cannot
			// tell first from earliest, plus a sample.
			if tshark == "" || chrono && (testing.Short() || extra >= 2) {
				return
			}
			if chrono {
				extra++
			}
			first, last := tsharkFirstLast(t, tshark, path)
			if got.first != first || got.last != last {
				t.Errorf("first/last %d/%d, tshark says %d/%d", got.first, got.last, first, last)
			}
		})
	}
	if seen != len(files) {
		t.Errorf("capinfos reported %d of %d files", seen, len(files))
	}
}

func tsharkFirstLast(t *testing.T, tshark, path string) (int64, int64) {
	t.Helper()
	out, err := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatal("tshark printed no timestamps")
	}
	first, err1 := parseEpoch(lines[0])
	last, err2 := parseEpoch(lines[len(lines)-1])
	if err1 != nil || err2 != nil {
		t.Fatalf("tshark times %q %q", lines[0], lines[len(lines)-1])
	}
	return first, last
}
