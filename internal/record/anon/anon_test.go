package anon

import (
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The sample key and addresses published with the Crypto-PAn reference
// distribution (sample_trace_raw.dat → sample_trace_sanitized.dat).
var refKey = []byte{
	21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
	216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
}

func TestCryptoPAnReferenceVectors(t *testing.T) {
	c, err := NewCryptoPAn(refKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"128.11.68.132", "135.242.180.132"},
		{"129.118.74.4", "134.136.186.123"},
		{"130.132.252.244", "133.68.164.234"},
		{"141.223.7.43", "141.167.8.160"},
		{"141.233.145.108", "141.129.237.235"},
		{"152.163.225.39", "151.140.114.167"},
		{"156.29.3.236", "147.225.12.42"},
		{"165.247.96.84", "162.9.99.234"},
		{"166.107.77.190", "160.132.178.185"},
		{"192.102.249.13", "252.138.62.131"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := c.Addr(netip.MustParseAddr(tc.in)); got.String() != tc.want {
				t.Errorf("Addr(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// commonPrefix is the number of leading bits a and b share.
func commonPrefix(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		d := x[i] ^ y[i]
		if d != 0 {
			return n + bits.LeadingZeros8(d)
		}
		n += 8
	}
	return n
}

func randAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrFrom16(b)
	}
	var b [4]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return netip.AddrFrom4(b)
}

// flipAfter returns a with bit k flipped and the bits after it randomised,
// so a and the result share exactly a k-bit prefix.
func flipAfter(r *rand.Rand, a netip.Addr, k int) netip.Addr {
	b := a.As16()
	off := 0
	if a.Is4() {
		off = 96
	}
	n := a.BitLen()
	for i := k + 1; i < n; i++ {
		if r.IntN(2) == 1 {
			b[(off+i)/8] ^= 0x80 >> ((off + i) % 8)
		}
	}
	b[(off+k)/8] ^= 0x80 >> ((off + k) % 8)
	if a.Is4() {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(b)
}

func TestCryptoPAnPrefixPreserving(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var secret [32]byte
	for i := range secret {
		secret[i] = byte(r.Uint32())
	}
	c, err := NewCryptoPAn(secret[:])
	if err != nil {
		t.Fatal(err)
	}
	for _, v6 := range []bool{false, true} {
		name := "v4"
		if v6 {
			name = "v6"
		}
		t.Run(name, func(t *testing.T) {
			for range 300 {
				a := randAddr(r, v6)
				k := r.IntN(a.BitLen())
				b := flipAfter(r, a, k)
				off := 0
				if !v6 {
					off = 96
				}
				if got := commonPrefix(a, b) - off; got != k {
					t.Fatalf("test setup: %s and %s share %d bits, want %d", a, b, got, k)
				}
				ea, eb := c.Addr(a), c.Addr(b)
				if ea.Is4() != a.Is4() {
					t.Fatalf("family changed: %s -> %s", a, ea)
				}
				if got := commonPrefix(ea, eb) - off; got != k {
					t.Fatalf("%s,%s share %d bits; anonymised %s,%s share %d", a, b, k, ea, eb, got)
				}
				if again := c.Addr(a); again != ea {
					t.Fatalf("not deterministic: %s -> %s then %s", a, ea, again)
				}
			}
		})
	}
}

func TestCryptoPAnKeysDiffer(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	k2[0] = 1
	c1, _ := NewCryptoPAn(k1)
	c2, _ := NewCryptoPAn(k2)
	k3 := make([]byte, 32)
	k3[31] = 1 // the pad half alone must change the map too
	c3, _ := NewCryptoPAn(k3)
	r := rand.New(rand.NewPCG(3, 4))
	for _, v6 := range []bool{false, true} {
		same12, same13 := 0, 0
		for range 200 {
			a := randAddr(r, v6)
			if c1.Addr(a) == c2.Addr(a) {
				same12++
			}
			if c1.Addr(a) == c3.Addr(a) {
				same13++
			}
		}
		if same12 > 0 || same13 > 0 {
			t.Errorf("v6=%v: different keys gave the same output %d/%d of 200 times", v6, same12, same13)
		}
	}
}

func TestCryptoPAnEdges(t *testing.T) {
	c, _ := NewCryptoPAn(refKey)
	if got := c.Addr(netip.Addr{}); got.IsValid() {
		t.Errorf("invalid addr -> %v", got)
	}
	z := c.Addr(netip.MustParseAddr("fe80::1%eth0"))
	if z.Zone() != "" || !z.Is6() {
		t.Errorf("zoned -> %v", z)
	}
	if _, err := NewCryptoPAn(make([]byte, 16)); err == nil {
		t.Error("16-byte secret accepted")
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v4, v6 int
		in     string
		want   string
	}{
		{"v4 default", 0, 0, "192.0.2.77", "192.0.2.0"},
		{"v6 default", 0, 0, "2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{"v4 /16", 16, 0, "192.0.2.77", "192.0.0.0"},
		{"v6 /64", 0, 64, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"v4 /32", 32, 0, "192.0.2.77", "192.0.2.77"},
		{"zone dropped", 0, 0, "fe80::1%eth0", "fe80::"},
		{"4in6 as v6", 0, 0, "::ffff:192.0.2.77", "::"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTruncate(tc.v4, tc.v6)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Addr(netip.MustParseAddr(tc.in)); got.String() != tc.want {
				t.Errorf("Addr(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	if _, err := NewTruncate(33, 0); err == nil {
		t.Error("/33 accepted")
	}
	if got := (Truncate{V4Bits: 99}).Addr(netip.MustParseAddr("10.1.2.3")); got.IsValid() {
		t.Errorf("bad bits leaked %v", got)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		in      string
		want    string
		wantErr bool
	}{
		{Config{}, "10.1.2.3", "10.1.2.3", false},
		{Config{Mode: ModeNone}, "10.1.2.3", "10.1.2.3", false},
		{Config{Mode: ModeTruncate}, "10.1.2.3", "10.1.2.0", false},
		{Config{Mode: ModeCryptoPAn, Secret: refKey}, "128.11.68.132", "135.242.180.132", false},
		{Config{Mode: ModeCryptoPAn}, "", "", true},
		{Config{Mode: "hash"}, "", "", true},
	} {
		t.Run(string(tc.cfg.Mode), func(t *testing.T) {
			a, err := New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := a.Addr(netip.MustParseAddr(tc.in)); got.String() != tc.want {
				t.Errorf("got %s want %s", got, tc.want)
			}
		})
	}
	ap := netip.MustParseAddrPort("10.1.2.3:443")
	if got := AddrPort(DefaultTruncate, ap); got.String() != "10.1.2.0:443" {
		t.Errorf("AddrPort = %s", got)
	}
	if got := AddrPort(nil, ap); got != ap {
		t.Errorf("nil AddrPort = %s", got)
	}
}

func TestNoAllocs(t *testing.T) {
	c, _ := NewCryptoPAn(refKey)
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for name, a := range map[string]Anonymizer{"cryptopan": c, "truncate": DefaultTruncate, "none": None{}} {
		t.Run(name, func(t *testing.T) {
			a.Addr(v4)
			if n := testing.AllocsPerRun(200, func() {
				a.Addr(v4)
				a.Addr(v6)
			}); n != 0 {
				t.Errorf("allocs per run = %v, want 0", n)
			}
		})
	}
}

func TestCryptoPAnConcurrent(t *testing.T) {
	c, _ := NewCryptoPAn(refKey)
	want := c.Addr(netip.MustParseAddr("128.11.68.132"))
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 500 {
				ok = ok && c.Addr(netip.MustParseAddr("128.11.68.132")) == want
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent result differs")
		}
	}
}

// BenchmarkCryptoPAn/192.0.2.1-2      1362242     892.6 ns/op   0 B/op   0 allocs/op
// BenchmarkCryptoPAn/2001:db8::1-2     431935    3758 ns/op     0 B/op   0 allocs/op
func BenchmarkCryptoPAn(b *testing.B) {
	c, _ := NewCryptoPAn(refKey)
	for _, s := range []string{"192.0.2.1", "2001:db8::1"} {
		a := netip.MustParseAddr(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Addr(a)
			}
		})
	}
}

// BenchmarkTruncate-2   162077234   6.538 ns/op   0 B/op   0 allocs/op
func BenchmarkTruncate(b *testing.B) {
	a := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		DefaultTruncate.Addr(a)
	}
}
