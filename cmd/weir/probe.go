package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weirnet/weir/internal/probe"
)

// cmdProbe is `weir probe`: measure targets for interference (docs/probe.md).
func cmdProbe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := probe.DefaultConfig()
	var jsonOut, caFile, minRate string
	var noQUIC, noSniff, quiet bool
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server IP:PORT to ask directly (default: first nameserver of /etc/resolv.conf)")
	fs.StringVar(&cfg.ControlURL, "control", "", "base URL of a `weir probe-control` (e.g. http://203.0.113.5:9080); without it the probe decides on local evidence only")
	fs.StringVar(&jsonOut, "json", "", "write the JSON report to this file (- for standard output)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of each step (DNS, connect, TLS, HTTP, QUIC)")
	fs.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "targets measured at once")
	fs.DurationVar(&cfg.DuplicateWait, "dns-wait", cfg.DuplicateWait, "keep listening this long after the first DNS answers, for a second (injected) one")
	fs.StringVar(&caFile, "ca", "", "PEM file of extra root certificates to trust (test CAs)")
	fs.StringVar(&cfg.SamplePath, "sample", "", "path (and query) on the target's host to download for the throughput sample (default: the target URL)")
	fs.Int64Var(&cfg.SampleBytes, "sample-bytes", cfg.SampleBytes, "throughput sample: stop after this many bytes")
	fs.DurationVar(&cfg.SampleTime, "sample-time", cfg.SampleTime, "throughput sample: stop after this long")
	fs.StringVar(&minRate, "min-rate", "", "expected rate in bytes/s (suffixes k, M, G); a slower valid sample is throttled")
	fs.Float64Var(&cfg.Thresholds.ThrottleRatio, "throttle-ratio", cfg.Thresholds.ThrottleRatio, "throttled when the sample is below this fraction of the control's (0 = off)")
	fs.BoolVar(&noQUIC, "no-quic", false, "skip the QUIC handshake")
	fs.BoolVar(&noSniff, "no-sniff", false, "do not open an AF_PACKET socket for reset evidence")
	fs.BoolVar(&quiet, "q", false, "no progress on standard error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir probe [flags] TARGET...\n\nMeasures whether each TARGET (a URL, a domain, or @FILE with one per line or a\nCitizen Lab test-list CSV) is reachable, and if not, how it is blocked and by whom:\nDNS, TCP, TLS (SNI), HTTP, QUIC and a throughput sample, compared with a control.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nOutput: a table on standard output, progress on standard error, the full report\nwith --json (format in docs/probe.md).\nExit status: 0 measured; 1 runtime error (unwritable report); 2 bad usage.")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "weir probe: no target given")
		fs.Usage()
		return exitUsage
	}
	if cfg.Resolver != "" {
		if _, _, err := net.SplitHostPort(cfg.Resolver); err != nil {
			fmt.Fprintf(stderr, "weir probe: --resolver %q: want IP:PORT\n", cfg.Resolver)
			return exitUsage
		}
	}
	if cfg.Timeout <= 0 || cfg.Parallel <= 0 || cfg.Parallel > 256 {
		fmt.Fprintln(stderr, "weir probe: --timeout must be > 0 and --parallel within 1..256")
		return exitUsage
	}
	if minRate != "" {
		r, err := parseRate(minRate)
		if err != nil {
			fmt.Fprintf(stderr, "weir probe: --min-rate: %v\n", err)
			return exitUsage
		}
		cfg.Thresholds.MinRate = r
	}
	if caFile != "" {
		pool, err := loadCA(caFile)
		if err != nil {
			fmt.Fprintf(stderr, "weir probe: --ca: %v\n", err)
			return exitUsage
		}
		cfg.RootCAs = pool
	}
	cfg.QUIC, cfg.NoSniffer = !noQUIC, noSniff
	targets, err := probe.ParseArgs(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "weir probe: %v\n", err)
		return exitUsage
	}
	if !quiet {
		cfg.Progress = func(done, total int, m *probe.Measurement) {
			fmt.Fprintf(stderr, "[%d/%d] %s: %s (%s) %.1fs\n", done, total, m.URL, m.Verdict, m.Attribution, m.TestRuntime)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	p := probe.New(cfg)
	defer p.Close()
	if !quiet {
		info := p.Info()
		ctl := cfg.ControlURL
		if ctl == "" {
			ctl = "none (local evidence only)"
		}
		fmt.Fprintf(stderr, "weir probe: %d targets, resolver %s (%s), control %s, sniffer %s\n",
			len(targets), orDefault(info.Resolver, "system"), info.ResolverSource, ctl, info.Sniffer)
	}
	ms := p.Run(ctx, targets)
	rep := probe.NewReport(versionString(), p.Info(), cfg.ControlURL, start, ms)
	if err := probe.WriteTable(stdout, ms); err != nil {
		fmt.Fprintf(stderr, "weir probe: %v\n", err)
		return exitError
	}
	if jsonOut != "" {
		if err := writeJSON(jsonOut, stdout, rep); err != nil {
			fmt.Fprintf(stderr, "weir probe: %v\n", err)
			return exitError
		}
	}
	return exitOK
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func versionString() string {
	if version != "" {
		return version
	}
	return "(devel)"
}

func writeJSON(path string, stdout io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// parseRate reads "125000", "500k", "2M", "1G" as bytes per second.
func parseRate(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a positive number of bytes/s (suffix k, M, G)", s)
	}
	return v * mult, nil
}

// cmdProbeControl is `weir probe-control`: the control a probe compares
// itself with, an HTTP JSON API (docs/probe.md).
func cmdProbeControl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir probe-control", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen, caFile string
	var quiet bool
	cfg := probe.ControlConfig{Timeout: 10 * time.Second}
	fs.StringVar(&listen, "listen", ":9080", "address to serve the control API on")
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server IP:PORT (default: first nameserver of /etc/resolv.conf)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of each step")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", 16, "measurements at once (more get 503)")
	fs.StringVar(&caFile, "ca", "", "PEM file of extra root certificates to trust (test CAs)")
	fs.BoolVar(&quiet, "q", false, "do not log each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir probe-control [flags]\n\nServes the control for `weir probe --control URL`: given a URL (POST "+probe.ControlPath+")\nit resolves the name, connects to every address, does the TLS handshake, the\nHTTP GET, a QUIC handshake and a throughput sample, and returns the results as JSON.\nIt fetches any URL it is asked for: do not expose it where that matters.\n\nFlags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "weir probe-control: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if cfg.Resolver == "" {
		cfg.Resolver = probe.SystemResolver()
	}
	if caFile != "" {
		pool, err := loadCA(caFile)
		if err != nil {
			fmt.Fprintf(stderr, "weir probe-control: --ca: %v\n", err)
			return exitUsage
		}
		cfg.RootCAs = pool
	}
	if !quiet {
		cfg.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "weir probe-control: %v\n", err)
		return exitError
	}
	srv := &http.Server{Handler: probe.NewControl(cfg), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stderr, "weir probe-control: serving on %s (resolver %s)\n", ln.Addr(), orDefault(cfg.Resolver, "system"))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "weir probe-control: %v\n", err)
		return exitError
	}
	return exitOK
}
