package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

const crashEnv = "WEIR_STORE_CRASH_CHILD"

// TestCrashChild is the child half of TestCrashKill9: with the env var set
// it writes to the store as fast as it can (flushing every few ms, so a
// kill lands mid-transaction with high probability) until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child of TestCrashKill9 only")
	}
	cfg := DefaultConfig()
	cfg.FlushInterval = 2 * time.Millisecond
	cfg.Retention = 0
	s, err := Open(path, cfg)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	k, ek := s.Sink(), s.EventSink()
	for i := 0; ; i++ {
		at := t0.Add(time.Duration(i%3600) * time.Second)
		k.Write(rec(at, dissect.TLS, "app"+strconv.Itoa(i%13), "cat", "host"+strconv.Itoa(i%997)+".example", "allow", uint64(100+i%1000)))
		if i%10 == 0 {
			ek.Event(&record.Event{Time: at, Rule: "rule" + strconv.Itoa(i%5), Action: "block", Host: "h"})
		}
		if i == 2000 {
			s.Flush()
			fmt.Println("ready")
		}
		if i%256 == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// TestCrashKill9 kills a writing process with SIGKILL, several times over
// the same file, and checks after each kill that the database is intact
// and that what was committed before is still there.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: spawns and kills child processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	var lastFlows, lastEvents int64
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}()
		select {
		case line := <-ready:
			if line != "ready" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: child said %q", round, line)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child never became ready", round)
		}
		// Let it run a varying while so kills land at different points.
		time.Sleep(time.Duration(50+round*37) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		s, err := Open(path, testConfig())
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		var check string
		if err := s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		var flows, events int64
		s.DB().QueryRow(`SELECT COALESCE(SUM(flows), 0) FROM traffic_minute`).Scan(&flows)
		s.DB().QueryRow(`SELECT COUNT(*) FROM events`).Scan(&events)
		// The child flushed at least once before "ready" and every round
		// adds: committed data survives the kill.
		if flows <= lastFlows || events <= lastEvents {
			t.Fatalf("round %d: flows %d (before %d), events %d (before %d)", round, flows, lastFlows, events, lastEvents)
		}
		apps, err := s.TopApps(context.Background(), Window{Since: t0, Until: t0.Add(2 * time.Hour)}, 100)
		if err != nil || len(apps) != 13 {
			t.Fatalf("round %d: top apps %d rows, %v", round, len(apps), err)
		}
		t.Logf("round %d: %d flows, %d events after kill -9", round, flows, events)
		lastFlows, lastEvents = flows, events
		s.Close()
	}
}
