package probe

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// ControlPath is where a control serves its API (POST, JSON).
const ControlPath = "/api/v1/control"

// ControlVersion identifies the control protocol in responses.
const ControlVersion = "weir-control/1"

// ControlRequest asks the control to measure one URL. Addrs are the
// probe's DNS answers: the control connects to them too, so a failure on
// the probe side can be compared address by address.
type ControlRequest struct {
	URL         string   `json:"url"`
	Addrs       []string `json:"addrs,omitempty"`
	QUIC        bool     `json:"quic"`
	SampleURL   string   `json:"sample_url,omitempty"`
	SampleBytes int64    `json:"sample_bytes,omitempty"`
	SampleTime  float64  `json:"sample_time,omitempty"` // seconds
}

// ControlResponse is what the control saw, keyed like OONI's test helper.
type ControlResponse struct {
	Version      string                   `json:"version"`
	DNS          ControlDNS               `json:"dns"`
	TCPConnect   map[string]ControlStatus `json:"tcp_connect"`   // "ip:port"
	TLSHandshake map[string]ControlStatus `json:"tls_handshake"` // "ip:port"
	HTTPRequest  HTTPRequest              `json:"http_request"`
	QUIC         *ControlStatus           `json:"quic_handshake,omitempty"`
	Throughput   *Throughput              `json:"throughput,omitempty"`
	T            float64                  `json:"t"`
}

// ControlDNS is the control's lookup result.
type ControlDNS struct {
	Addrs   []string `json:"addrs"`
	Failure string   `json:"failure,omitempty"`
}

// ControlStatus is the outcome of one connect or handshake.
type ControlStatus struct {
	Status  bool   `json:"status"`
	Failure string `json:"failure,omitempty"`
}

// ControlConfig configures a Control.
type ControlConfig struct {
	Resolver string        // ip:port; "" = Go's resolver
	Timeout  time.Duration // per step
	RootCAs  *x509.CertPool
	// MaxInFlight bounds concurrent measurements (each costs sockets).
	MaxInFlight int
	Logf        func(format string, args ...any)
}

// Control is the http.Handler of `weir probe-control`. It is an open
// fetcher: run it where that is acceptable (docs/probe.md).
type Control struct {
	cfg   ControlConfig
	steps *steps
	res   *resolver
	sem   chan struct{}
}

// NewControl builds a Control.
func NewControl(cfg ControlConfig) *Control {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 16
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Control{
		cfg:   cfg,
		steps: &steps{timeout: cfg.Timeout, roots: cfg.RootCAs},
		res:   &resolver{addr: cfg.Resolver},
		sem:   make(chan struct{}, cfg.MaxInFlight),
	}
}

// maxControlRequest bounds the request body.
const maxControlRequest = 64 << 10

// ServeHTTP implements http.Handler.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ControlPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST a JSON ControlRequest", http.StatusMethodNotAllowed)
		return
	}
	var req ControlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxControlRequest)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	t, err := ParseTarget(req.URL)
	if err != nil {
		http.Error(w, "bad url: "+err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	default:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	resp := c.Measure(r.Context(), t.URL, req)
	c.cfg.Logf("control: %s dns=%v http=%d%s", t.URL, resp.DNS.Addrs, resp.HTTPRequest.StatusCode, resp.HTTPRequest.Failure)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// maxControlAddrs bounds how many addresses one request makes the control
// connect to.
const maxControlAddrs = 8

// Measure performs the control's steps for rawURL (already normalised).
func (c *Control) Measure(ctx context.Context, rawURL string, req ControlRequest) *ControlResponse {
	start := time.Now()
	resp := &ControlResponse{Version: ControlVersion, TCPConnect: map[string]ControlStatus{}, TLSHandshake: map[string]ControlStatus{}}
	u, err := url.Parse(rawURL)
	if err != nil {
		resp.DNS.Failure = FailUnknown
		return resp
	}
	host, port := u.Hostname(), portOf(u)
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
		resp.DNS.Addrs = []string{a.String()}
	} else {
		_, addrs, resp.DNS.Failure = c.res.lookup(ctx, host, c.cfg.Timeout)
		resp.DNS.Addrs = []string{}
		for _, a := range addrs {
			resp.DNS.Addrs = append(resp.DNS.Addrs, a.String())
		}
	}
	all := append([]netip.Addr(nil), addrs...)
	for _, s := range req.Addrs {
		if a, err := netip.ParseAddr(s); err == nil && !containsAddr(all, a) {
			all = append(all, a.Unmap())
		}
	}
	if len(all) > maxControlAddrs {
		all = all[:maxControlAddrs]
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ap := addrPort(a, port)
			tc, conn, local := c.steps.connect(ctx, ap)
			mu.Lock()
			resp.TCPConnect[ap.String()] = ControlStatus{Status: tc.Failure == "", Failure: tc.Failure}
			mu.Unlock()
			if conn == nil {
				return
			}
			if u.Scheme != "https" {
				conn.Close()
				return
			}
			th := c.steps.handshake(ctx, conn, local, ap, host)
			mu.Lock()
			resp.TLSHandshake[ap.String()] = ControlStatus{Status: th.Failure == "", Failure: th.Failure}
			mu.Unlock()
		}()
	}
	wg.Wait()
	// HTTP through the control's own first working address.
	var via netip.AddrPort
	for _, a := range addrs {
		ap := addrPort(a, port)
		if resp.TCPConnect[ap.String()].Status && (u.Scheme != "https" || resp.TLSHandshake[ap.String()].Status) {
			via = ap
			break
		}
	}
	if !via.IsValid() {
		resp.HTTPRequest = HTTPRequest{URL: rawURL, Failure: firstFailure(resp, addrs, port)}
	} else {
		resp.HTTPRequest = c.steps.get(ctx, rawURL, via, host)
		resp.HTTPRequest.Headers = nil // names are enough for comparison; keep answers small
		if resp.HTTPRequest.Failure == "" && req.SampleURL != "" {
			su, err := url.Parse(req.SampleURL)
			if err == nil && su.Host == u.Host {
				resp.Throughput = c.steps.sample(ctx, req.SampleURL, via, host, clampBytes(req.SampleBytes), clampDur(req.SampleTime))
			}
		}
	}
	if req.QUIC && u.Scheme == "https" && len(addrs) > 0 {
		q := c.steps.quicHandshake(ctx, addrPort(addrs[0], port), host)
		resp.QUIC = &ControlStatus{Status: q.Failure == "", Failure: q.Failure}
	}
	resp.T = seconds(time.Since(start))
	return resp
}

func firstFailure(resp *ControlResponse, addrs []netip.Addr, port int) string {
	if resp.DNS.Failure != "" {
		return resp.DNS.Failure
	}
	for _, a := range addrs {
		k := addrPort(a, port).String()
		if f := resp.TCPConnect[k].Failure; f != "" {
			return f
		}
		if f := resp.TLSHandshake[k].Failure; f != "" {
			return f
		}
	}
	return FailUnknown
}

func clampBytes(n int64) int64 {
	if n <= 0 || n > 64<<20 {
		return 4 << 20
	}
	return n
}

func clampDur(s float64) time.Duration {
	if s <= 0 || s > 10 {
		return 2 * time.Second
	}
	return time.Duration(s * float64(time.Second))
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a.Unmap() {
			return true
		}
	}
	return false
}

func portOf(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

var errControlStatus = errors.New("probe: control answered with an error")

// askControl posts req to the control at base (http://host:port).
func askControl(ctx context.Context, base string, req ControlRequest) (*ControlResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+ControlPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%w: %s: %s", errControlStatus, resp.Status, bytes.TrimSpace(msg))
	}
	var cr ControlResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&cr); err != nil {
		return nil, err
	}
	return &cr, nil
}
