package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirnet/weir/internal/store"
)

//go:embed assets
var assets embed.FS

// Config tunes the dashboard.
type Config struct {
	// DefaultSince is the window the API uses when ?since= is absent.
	DefaultSince time.Duration
	// MaxSince bounds ?since= (older data would be a slow scan).
	MaxSince time.Duration
	// TopApps is how many apps the traffic chart shows before "other".
	TopApps int
	// PollInterval is how often the UI refreshes.
	PollInterval time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{DefaultSince: time.Hour, MaxSince: 31 * 24 * time.Hour, TopApps: 8, PollInterval: 5 * time.Second}
}

// Dependencies are what the dashboard reads.
type Dependencies struct {
	Store *store.Store
	// Metrics serves /metrics; nil answers 404 there.
	Metrics http.Handler
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logf logs request failures (nil: discarded).
	Logf func(format string, args ...any)
}

// Server is the dashboard handler.
type Server struct {
	cfg  Config
	deps Dependencies
	mux  *http.ServeMux
}

var errNoStore = errors.New("web: Dependencies.Store is nil")

// New builds the handler.
func New(cfg Config, deps Dependencies) (*Server, error) {
	if deps.Store == nil {
		return nil, errNoStore
	}
	if cfg.DefaultSince <= 0 || cfg.MaxSince <= 0 || cfg.TopApps <= 0 || cfg.PollInterval <= 0 {
		return nil, fmt.Errorf("web: invalid configuration %+v", cfg)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logf == nil {
		deps.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	files := http.FileServerFS(static)
	s.mux.Handle("GET /{$}", files)
	s.mux.Handle("GET /app.js", files)
	s.mux.Handle("GET /style.css", files)
	s.mux.HandleFunc("GET /api/health", s.health)
	s.mux.HandleFunc("GET /api/config", s.config)
	s.mux.HandleFunc("GET /api/summary", s.summary)
	s.mux.HandleFunc("GET /api/traffic", s.traffic)
	s.mux.HandleFunc("GET /api/blocked", s.blocked)
	s.mux.HandleFunc("GET /api/top/apps", s.topApps)
	s.mux.HandleFunc("GET /api/top/hosts", s.topHosts)
	s.mux.HandleFunc("GET /api/top/rules", s.topRules)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /api/policy", s.policy)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	if deps.Metrics != nil {
		s.mux.Handle("GET /metrics", deps.Metrics)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// window parses ?since= (a duration before now such as 1h, an RFC 3339
// time, or Unix seconds) and ?step= (a duration or seconds). "Now" is the
// store's last minute of data when that is older than the default window.
func (s *Server) window(r *http.Request) (store.Window, error) {
	now := s.deps.Now()
	// A store made from a capture (weir inspect --store) ends in the past:
	// relative windows then count back from its last minute of data.
	if last, err := s.deps.Store.LastMinute(r.Context()); err == nil && !last.IsZero() && last.Before(now.Add(-s.cfg.DefaultSince)) {
		now = last.Add(time.Minute)
	}
	w := store.Window{Since: now.Add(-s.cfg.DefaultSince), Until: now}
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		t, err := parseSince(v, now)
		if err != nil {
			return w, err
		}
		w.Since = t
	}
	if w.Since.Before(now.Add(-s.cfg.MaxSince)) {
		w.Since = now.Add(-s.cfg.MaxSince)
	}
	if !w.Since.Before(w.Until) {
		return w, errors.New("since must be in the past")
	}
	span := w.Until.Sub(w.Since)
	w.Step = max(time.Minute, (span/120+time.Minute-1)/time.Minute*time.Minute)
	if v := q.Get("step"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return w, fmt.Errorf("bad step %q: want a duration such as 5m or seconds", v)
		}
		w.Step = d
	}
	return w, nil
}

func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("bad since %q: want a duration (1h), an RFC 3339 time or Unix seconds", v)
}

func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > 1<<31 {
			return 0, errors.New("too large")
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad %s %q: want a positive integer", name, v)
	}
	return min(n, max), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{msg})
}

// fail logs err and answers with a stable message, never the raw error
// (it may carry file paths or SQL).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.deps.Logf("web: %s %s: %v", r.Method, r.URL.Path, err)
	if errors.Is(err, context.Canceled) {
		return
	}
	writeError(w, http.StatusInternalServerError, "store query failed")
}

type windowJSON struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

func win(w store.Window) windowJSON { return windowJSON{w.Since.UTC(), w.Until.UTC()} }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st := s.deps.Store.Stats()
	resp := struct {
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
		Schema int       `json:"schema_version"`
		Error  string    `json:"error,omitempty"`
		Queue  int       `json:"queue_depth"`
		Drops  uint64    `json:"dropped"`
	}{Status: "ok", Time: s.deps.Now().UTC(), Schema: store.SchemaVersion, Queue: st.QueueDepth,
		Drops: st.DroppedRecords + st.DroppedEvents}
	if err := s.deps.Store.Ping(r.Context()); err != nil {
		s.deps.Logf("web: health: %v", err)
		resp.Status, resp.Error = "error", "store unavailable"
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		PollMS       int64  `json:"poll_ms"`
		DefaultSince string `json:"default_since"`
	}{s.cfg.PollInterval.Milliseconds(), s.cfg.DefaultSince.String()})
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	win0, err := s.window(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := s.deps.Store.Totals(r.Context(), win0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var last *time.Time
	if !t.LastMinute.IsZero() {
		last = &t.LastMinute
	}
	writeJSON(w, http.StatusOK, struct {
		windowJSON
		Flows      uint64     `json:"flows"`
		Packets    uint64     `json:"packets"`
		Bytes      uint64     `json:"bytes"`
		Events     uint64     `json:"events"`
		LastMinute *time.Time `json:"last_minute"`
	}{win(win0), t.Flows, t.Packets, t.Bytes, t.Events, last})
}

func (s *Server) traffic(w http.ResponseWriter, r *http.Request) {
	win0, err := s.window(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	top, err := intParam(r, "top", s.cfg.TopApps, 50)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ts, err := s.deps.Store.Traffic(r.Context(), win0, top)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) blocked(w http.ResponseWriter, r *http.Request) {
	win0, err := s.window(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	es, err := s.deps.Store.Blocked(r.Context(), win0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, es)
}

func (s *Server) topApps(w http.ResponseWriter, r *http.Request) {
	win0, n, ok := s.topParams(w, r)
	if !ok {
		return
	}
	v, err := s.deps.Store.TopApps(r.Context(), win0, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		windowJSON
		Apps []store.AppTotal `json:"apps"`
	}{win(win0), v})
}

func (s *Server) topHosts(w http.ResponseWriter, r *http.Request) {
	win0, n, ok := s.topParams(w, r)
	if !ok {
		return
	}
	v, err := s.deps.Store.TopHosts(r.Context(), win0, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		windowJSON
		Hosts []store.HostTotal `json:"hosts"`
	}{win(win0), v})
}

func (s *Server) topRules(w http.ResponseWriter, r *http.Request) {
	win0, n, ok := s.topParams(w, r)
	if !ok {
		return
	}
	v, err := s.deps.Store.TopRules(r.Context(), win0, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		windowJSON
		Rules []store.RuleTotal `json:"rules"`
	}{win(win0), v})
}

func (s *Server) topParams(w http.ResponseWriter, r *http.Request) (store.Window, int, bool) {
	win0, err := s.window(r)
	if err == nil {
		var n int
		n, err = intParam(r, "limit", 10, 1000)
		if err == nil {
			return win0, n, true
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
	return win0, 0, false
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	n, err := intParam(r, "limit", 50, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := s.deps.Store.Events(r.Context(), n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Events []store.Event `json:"events"`
	}{v})
}

func (s *Server) policy(w http.ResponseWriter, r *http.Request) {
	p, ok, err := s.deps.Store.ActivePolicy(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := policyJSON{Active: ok, Rules: []RuleView{}}
	if ok {
		resp.Loaded, resp.SHA256, resp.Source = &p.Loaded, p.SHA256, p.Source
		v, err := RenderPolicy([]byte(p.Source))
		if err != nil {
			resp.RenderError = strings.TrimSpace(err.Error())
		} else {
			resp.Rules, resp.Default, resp.Notice = v.Rules, v.Default, v.Notice
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

type policyJSON struct {
	Active      bool       `json:"active"`
	Loaded      *time.Time `json:"loaded"`
	SHA256      string     `json:"sha256"`
	Source      string     `json:"source"`
	Default     string     `json:"default"`
	Notice      string     `json:"notice"`
	Rules       []RuleView `json:"rules"`
	RenderError string     `json:"render_error,omitempty"`
}
