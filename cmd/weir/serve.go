package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weirnet/weir/internal/metrics"
	"github.com/weirnet/weir/internal/store"
	"github.com/weirnet/weir/internal/web"
)

// serveContext is the context `weir serve` runs under until a signal;
// tests replace it to stop the server.
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("store", "", "store file written by weir run/inspect --store (required; created empty if absent)")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve the dashboard on")
	since := fs.Duration("since", time.Hour, "default time window of the dashboard")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir serve --store FILE [--listen 127.0.0.1:8080]\n\nServes the dashboard (/), its JSON API (/api/, see docs/api.md) and\nPrometheus metrics (/metrics) from a store. The page refreshes every few\nseconds, so it follows a store that weir run is writing. There is no\nauthentication: keep it on localhost or behind a proxy that adds it.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nExit status: 0 stopped by a signal; 1 the store or the address failed; 2 bad usage.")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "weir serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *path == "":
		fmt.Fprintln(stderr, "weir serve: --store is required")
		fs.Usage()
		return exitUsage
	case *since <= 0:
		fmt.Fprintln(stderr, "weir serve: --since must be positive")
		return exitUsage
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		fmt.Fprintf(stderr, "weir serve: bad --listen %q: %v\n", *listen, err)
		return exitUsage
	}

	scfg := store.DefaultConfig()
	// Only the process that writes the store prunes it.
	scfg.Retention = 0
	st, err := store.Open(*path, scfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: unable to initialize store component: %v\n", err)
		return exitError
	}
	defer st.Close()
	m := metrics.New(metrics.DefaultConfig())
	m.DropSource("store_queue_full", func() uint64 { s := st.Stats(); return s.DroppedRecords + s.DroppedEvents })
	m.QueueSource("store", func() int { return st.Stats().QueueDepth })
	logger := log.New(stderr, "", log.LstdFlags)
	wcfg := web.DefaultConfig()
	wcfg.DefaultSince = *since
	h, err := web.New(wcfg, web.Dependencies{Store: st, Metrics: m.Handler(), Logf: logger.Printf})
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: unable to initialize web component: %v\n", err)
		return exitError
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: %v\n", err)
		return exitError
	}
	if ap, ok := ln.Addr().(*net.TCPAddr); ok && !ap.IP.IsLoopback() {
		fmt.Fprintf(stderr, "weir serve: warning: listening on %s without authentication; anyone who can reach it sees traffic metadata\n", ln.Addr())
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          logger,
	}
	fmt.Fprintf(stderr, "weir serve: dashboard on http://%s/ (store %s)\n", ln.Addr(), *path)
	ctx, stop := serveContext()
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "weir serve: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "weir serve: shutdown: %v\n", err)
	}
	return exitOK
}
