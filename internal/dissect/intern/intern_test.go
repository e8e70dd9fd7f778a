package intern

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"unsafe"
)

func TestBytes(t *testing.T) {
	b := []byte("www.example.com")
	s1 := Bytes(b)
	if s1 != "www.example.com" {
		t.Fatalf("Bytes = %q", s1)
	}
	b[0] = 'x' // the caller's buffer is reused for the next packet
	if s1 != "www.example.com" {
		t.Fatalf("interned string changed with its source: %q", s1)
	}
	s2 := Bytes([]byte("www.example.com"))
	if unsafe.StringData(s1) != unsafe.StringData(s2) {
		t.Error("the same bytes twice gave two copies")
	}
	if s := Bytes(b); s != "xww.example.com" {
		t.Errorf("Bytes after change = %q", s)
	}
	if Bytes(nil) != "" || Bytes([]byte{}) != "" {
		t.Error("empty input must give the empty string")
	}
	long := make([]byte, MaxLen+1)
	for i := range long {
		long[i] = 'a'
	}
	if s := Bytes(long); s != string(long) {
		t.Error("long text altered")
	}
}

// TestBytes_noAllocsOnRepeat: a repeated text costs no allocation, a new
// one costs the copy and its slot box, nothing more.
func TestBytes_noAllocsOnRepeat(t *testing.T) {
	b := []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
	Bytes(b)
	if n := testing.AllocsPerRun(1000, func() { Bytes(b) }); n != 0 {
		t.Errorf("repeated text: %v allocations, want 0", n)
	}
	i := 0
	buf := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(1000, func() {
		i++
		buf = strconv.AppendInt(append(buf[:0], "host-"...), int64(i), 10)
		Bytes(buf)
	}); n > 2 {
		t.Errorf("new text: %v allocations, want at most 2", n)
	}
}

// TestBytes_churn: four times more distinct texts than slots, so every
// slot is taken over several times; every answer must still be its own
// text, never the one that shared its slot before.
func TestBytes_churn(t *testing.T) {
	for i := range 4 * slots {
		want := fmt.Sprintf("n%d.example", i)
		if got := Bytes([]byte(want)); got != want {
			t.Fatalf("Bytes(%q) = %q", want, got)
		}
	}
}

// TestBytes_concurrent: run with -race; every goroutine gets back exactly
// its own texts while others overwrite the same slots.
func TestBytes_concurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				want := fmt.Sprintf("g%d-%d", g, i%300)
				if got := Bytes([]byte(want)); got != want {
					t.Errorf("Bytes(%q) = %q", want, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestLowerASCII(t *testing.T) {
	for in, want := range map[string]string{
		"WWW.Example.COM":   "www.example.com",
		"a-b_c.9":           "a-b_c.9",
		"\xc3\x89t\xc3\xa9": "\xc3\x89t\xc3\xa9", // non-ASCII bytes untouched
		"":                  "",
	} {
		if got := LowerASCII([]byte(in)); got != want {
			t.Errorf("LowerASCII(%q) = %q, want %q", in, got, want)
		}
	}
	long := make([]byte, MaxLen+10)
	for i := range long {
		long[i] = 'Q'
	}
	if got := LowerASCII(long); len(got) != len(long) || got[0] != 'q' || got[len(got)-1] != 'q' {
		t.Errorf("LowerASCII of a long name: %q", got)
	}
	b := []byte("Cdn.Example.NET")
	LowerASCII(b)
	if n := testing.AllocsPerRun(1000, func() { LowerASCII(b) }); n != 0 {
		t.Errorf("repeated name: %v allocations, want 0", n)
	}
}

func TestLowerAndConcat(t *testing.T) {
	if got := Lower([]byte("Relay.EXAMPLE.org")); got != "relay.example.org" {
		t.Errorf("Lower ASCII = %q", got)
	}
	if got := Lower([]byte("ÉTÉ.Example")); got != "été.example" {
		t.Errorf("Lower non-ASCII = %q", got)
	}
	if got := Concat("SMTP", " greeting"); got != "SMTP greeting" {
		t.Errorf("Concat = %q", got)
	}
	if got := Concat(); got != "" {
		t.Errorf("Concat() = %q", got)
	}
	long := string(make([]byte, MaxLen))
	if got := Concat(long, "x"); len(got) != MaxLen+1 || got[MaxLen] != 'x' {
		t.Errorf("Concat past MaxLen: %d bytes", len(got))
	}
	Concat("Google QUIC ", "Q046", " CHLO")
	if n := testing.AllocsPerRun(1000, func() { Concat("Google QUIC ", "Q046", " CHLO") }); n != 0 {
		t.Errorf("repeated Concat: %v allocations, want 0", n)
	}
}
