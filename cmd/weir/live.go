package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/weirnet/weir/internal/metrics"
	"github.com/weirnet/weir/internal/store"
	"github.com/weirnet/weir/internal/web"
)

// serveLive serves /metrics always and, with a store, the dashboard and
// /api/, while weir run enforces. It returns a function that stops it.
func serveLive(addr string, st *store.Store, m *metrics.Metrics, logf func(string, ...any)) (func(), error) {
	var h http.Handler
	if st != nil {
		w, err := web.New(web.DefaultConfig(), web.Dependencies{Store: st, Metrics: m.Handler(), Logf: logf})
		if err != nil {
			return nil, err
		}
		h = w
	} else {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		h = mux
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(logWriter(logf), "", 0)}
	go srv.Serve(ln)
	logf("serving http://%s/ (metrics at /metrics)", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

type logWriter func(string, ...any)

func (l logWriter) Write(p []byte) (int, error) {
	l("%s", string(p))
	return len(p), nil
}
