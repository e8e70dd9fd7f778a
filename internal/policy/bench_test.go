package policy

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// bigPolicy is 1k mixed rules followed by 100k host rules (exact, "*.x" and
// ".x" patterns, some nested under others so several host layers exist).
var bigPolicy = sync.OnceValue(func() []byte {
	var b strings.Builder
	b.WriteString("notice: https://notices.example/weir\ndefault: allow\n")
	b.WriteString("groups:\n  campus: [10.200.0.0/16, \"fd00:200::/32\"]\n")
	b.WriteString("rules:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - name: mixed%d\n    match: {", i)
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "app: %s, group: campus", fakeApps[i%len(fakeApps)])
		case 1:
			fmt.Fprintf(&b, "category: %s, port: %d", fakeCats[i%len(fakeCats)], 1000+i)
		case 2:
			fmt.Fprintf(&b, "host_contains: [kw%dword, other%d]", i, i)
		case 3:
			fmt.Fprintf(&b, "client: [192.0.%d.0/24], l4: udp", i%256)
		case 4:
			fmt.Fprintf(&b, "protocol: [SSH, QUIC], server: [198.51.%d.0/24]", i%256)
		case 5:
			fmt.Fprintf(&b, "sni: [\"*.svc%d.test\"], app: youtube", i)
		case 6:
			fmt.Fprintf(&b, "dns_qname: [\".q%d.test\"], l4: udp", i)
		case 7:
			fmt.Fprintf(&b, "category: video, group: campus")
		}
		b.WriteString("}\n")
		if i%8 == 7 {
			b.WriteString("    when: {days: [mon, tue, wed, thu, fri], from: \"18:00\", to: \"06:00\", tz: Europe/Minsk}\n")
		}
		b.WriteString("    action: drop\n")
	}
	for i := range 100_000 {
		var h string
		switch i % 10 {
		case 0:
			h = fmt.Sprintf(".zone%d.test", i/10)
		case 1, 2, 3:
			h = fmt.Sprintf("w%d.zone%d.test", i, i/10)
		case 4, 5:
			h = fmt.Sprintf("*.cdn%d.example", i)
		default:
			h = fmt.Sprintf("host%d.example", i)
		}
		fmt.Fprintf(&b, "  - {name: h%d, match: {host: %q}, action: block}\n", i, h)
	}
	return []byte(b.String())
})

var benchInputs = []Input{
	{SNI: "host99999.example", Host: "host99999.example"},              // last rule: host hit
	{SNI: "a.b.cdn50004.example"},                                      // wildcard hit
	{DNSQName: "w50001.zone5000.test"},                                 // two nested host rules, first wins
	{SNI: "www.nothing.test", Protocol: dissect.TLS, App: "netflix"},   // miss everything
	{Host: "xkw42wordx.test", Protocol: dissect.HTTP},                  // keyword rule 42
	{App: "facebook", Client: addr("10.200.3.4"), Time: wedEvening},    // app + group
	{Category: "video", Client: addr("10.200.3.4"), Time: wedEvening},  // scheduled rule
	{Client: addr("192.0.3.1"), L4: 17, ServerPort: 53, Time: sunNoon}, // scan-list CIDR rule
}

// BenchmarkCompile measures Parse+compile of 100k host rules and 1k mixed
// rules, and the heap the compiled Policy keeps.
//
// Last result (2 cores shared with other jobs, load average ~15-25, so
// wall-clock ns/op is inflated; cpu-s/op is the process CPU time, GC included):
//
//	BenchmarkCompile-2  3  12231384875 ns/op  38.70 MB-heap  6.818 MB-src  2.468 cpu-s/op  346500912 B/op  4166875 allocs/op
func BenchmarkCompile(b *testing.B) {
	src := bigPolicy()
	b.ReportAllocs()
	var p *Policy
	c0 := cpuTime()
	for b.Loop() {
		var err error
		p, err = Parse("big.yaml", src, fakeCatalog{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-c0)/1e9/float64(b.N), "cpu-s/op")
	p = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, _ = Parse("big.yaml", src, fakeCatalog{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-heap")
	b.ReportMetric(float64(len(src))/(1<<20), "MB-src")
	runtime.KeepAlive(p)
}

// BenchmarkEvaluate cycles through hits on the last host rule, wildcard and
// nested host rules, keywords, groups, schedules, the scan list and a miss.
//
// Last result (2 cores shared with other jobs; cpu-ns/op is CPU time per op),
// with -v for the per-input lines:
//
//	BenchmarkEvaluate-2         2000000  567.0 ns/op  179.3 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input0-2  1000000  623.6 ns/op  188.0 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input1-2  1000000  524.1 ns/op  207.3 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input2-2  1000000  508.4 ns/op  203.6 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input3-2  1000000  981.1 ns/op  379.0 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input4-2  1000000  159.5 ns/op  159.8 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input5-2  1000000   62.13 ns/op  61.90 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input6-2  1000000   71.65 ns/op  71.69 cpu-ns/op  0 B/op  0 allocs/op
//	BenchmarkEvaluate/input7-2  1000000   50.97 ns/op  47.87 cpu-ns/op  0 B/op  0 allocs/op
func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse("big.yaml", bigPolicy(), fakeCatalog{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	c0 := cpuTime()
	i := 0
	for b.Loop() {
		p.Evaluate(&benchInputs[i%len(benchInputs)])
		i++
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	if testing.Verbose() {
		for j := range benchInputs {
			b.Run(fmt.Sprint("input", j), func(b *testing.B) {
				b.ReportAllocs()
				c0 := cpuTime()
				for b.Loop() {
					p.Evaluate(&benchInputs[j])
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the process's user+system CPU time in ns. On a shared, loaded
// machine wall-clock ns/op overstates the cost; CPU time per op does not.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestBigPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	p, err := Parse("big.yaml", bigPolicy(), fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"h99999", "h50004", "h50000", "default", "mixed42", "mixed0", "mixed7", "mixed3"}
	for i := range benchInputs {
		_, why := p.Evaluate(&benchInputs[i])
		got := why.Name
		if why.Rule < 0 {
			got = "default"
		}
		if got != want[i] {
			t.Errorf("input %d: %v, want %s", i, why, want[i])
		}
		if n := testing.AllocsPerRun(20, func() { p.Evaluate(&benchInputs[i]) }); n != 0 {
			t.Errorf("input %d: %v allocs", i, n)
		}
	}
	if len(p.scan) > 300 {
		t.Errorf("scan list has %d rules; host rules should be indexed", len(p.scan))
	}
	t.Logf("host layers: %d, scan: %d", len(p.layers[0]), len(p.scan))
}
