package http

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/dissect"
)

func TestHangHunt(t *testing.T) {
	dir, _ := filepath.Glob(os.Getenv("HOME") + "/.cache/go-build/fuzz/github.com/weirnet/weir/internal/dissect/http/FuzzFeed/*")
	fmt.Println("corpus files", len(dir))
	seeds := [][]byte{[]byte("GET / HTTP/1.1\r\nHost: google.com\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), []byte(Preface)}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300000; i++ {
		a := append([]byte(nil), seeds[rng.Intn(3)]...)
		b := append([]byte(nil), seeds[rng.Intn(3)]...)
		for k := 0; k < rng.Intn(6); k++ {
			if len(a) > 0 {
				a[rng.Intn(len(a))] = byte(rng.Intn(256))
			}
			if len(b) > 0 {
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			}
		}
		n := rng.Intn(64) + 1
		done := make(chan struct{})
		go func() {
			var d Dissector
			var m dissect.Meta
			pkts := append(segments(dissect.ToServer, 7, a, n), segments(dissect.ToClient, 0xfffffff0, b, n)...)
			feedAll(&d, &m, pkts)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("hang: %q %q %d", a, b, n)
		}
	}
}
