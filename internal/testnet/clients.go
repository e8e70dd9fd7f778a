package testnet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// CurlResult is what one curl run in the client namespace produced.
type CurlResult struct {
	Status      int         // HTTP status, 0 when no response came
	HTTPVersion string      // "1.1", "2", ...
	Header      http.Header // headers of the last response
	Body        string      // at most MaxCurlBody bytes
	ExitCode    int         // curl's exit code (0 ok, 7 connect failed, 28 timeout, 35 TLS, 52 empty reply, 56 recv failure/reset ...)
	Err         string      // curl's error text ("" on success)
	RemoteIP    string
	Size        int64   // bytes downloaded
	Speed       float64 // bytes/s, curl's average download speed
	Time        time.Duration
	Stderr      string
}

// MaxCurlBody caps CurlResult.Body.
const MaxCurlBody = 1 << 20

var fileSeq atomic.Int64

func (n *Net) tmpFile(prefix string) string {
	return filepath.Join(n.dir, fmt.Sprintf("%s-%d", prefix, fileSeq.Add(1)))
}

// Curl runs the real curl in the client namespace. Names resolve through
// StartDNS's server (or pass "--resolve", "name:443:addr" in extra); HTTPS
// is verified against Certs (pass "-k" to skip). A failed transfer is not an
// error: look at ExitCode/Err. err is only for being unable to run curl.
func (n *Net) Curl(url string, extra ...string) (*CurlResult, error) {
	n.t.Helper()
	return n.curl(url, true, extra)
}

// Throughput downloads url (e.g. "http://server.test/big?bytes=200000000")
// with curl in the client namespace, discarding the body, and returns the
// average rate in bytes/s as measured by curl.
func (n *Net) Throughput(url string, extra ...string) (float64, *CurlResult, error) {
	n.t.Helper()
	r, err := n.curl(url, false, extra)
	if err != nil {
		return 0, r, err
	}
	if r.ExitCode != 0 {
		return 0, r, fmt.Errorf("testnet: curl %s: exit %d: %s", url, r.ExitCode, r.Err)
	}
	return r.Speed, r, nil
}

func (n *Net) curl(url string, keepBody bool, extra []string) (*CurlResult, error) {
	hdr := n.tmpFile("curl-hdr")
	body := "/dev/null"
	if keepBody {
		body = n.tmpFile("curl-body")
	}
	maxTime := int(n.cmdTimeout/time.Second) - 1
	if maxTime < 1 {
		maxTime = 1
	}
	args := []string{
		"-sS", "--max-time", strconv.Itoa(maxTime), "--connect-timeout", "5",
		"--cacert", n.Certs().CAFile,
		"-D", hdr, "-o", body, "-w", "%{json}",
	}
	args = append(args, extra...)
	args = append(args, url)
	stdout, stderr, err := n.Run(n.Client, "curl", args...)
	r := &CurlResult{Stderr: stderr}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return r, err
	}
	var w struct {
		HTTPCode    int     `json:"http_code"`
		HTTPVersion string  `json:"http_version"`
		ExitCode    int     `json:"exitcode"`
		ErrMsg      string  `json:"errormsg"`
		RemoteIP    string  `json:"remote_ip"`
		Size        int64   `json:"size_download"`
		Speed       float64 `json:"speed_download"`
		Time        float64 `json:"time_total"`
	}
	if jerr := json.Unmarshal([]byte(lastJSON(stdout)), &w); jerr != nil {
		return r, fmt.Errorf("testnet: curl -w json: %v (stdout %q, stderr %q)", jerr, stdout, stderr)
	}
	r.Status, r.HTTPVersion, r.ExitCode, r.Err = w.HTTPCode, w.HTTPVersion, w.ExitCode, w.ErrMsg
	r.RemoteIP, r.Size, r.Speed = w.RemoteIP, w.Size, w.Speed
	r.Time = time.Duration(w.Time * float64(time.Second))
	if r.ExitCode != 0 && r.Err == "" {
		r.Err = strings.TrimSpace(stderr)
	}
	r.Header = parseHeaderFile(hdr)
	if keepBody {
		if f, err := os.Open(body); err == nil {
			b := make([]byte, MaxCurlBody)
			k, _ := f.Read(b)
			f.Close()
			r.Body = string(b[:k])
		}
	}
	return r, nil
}

// lastJSON returns the last {...} line of s (curl's -w output comes after
// the body only if the body goes to stdout; here it is alone).
func lastJSON(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n{"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// parseHeaderFile reads curl's -D file and keeps the last response block
// (after redirects or 100 Continue).
func parseHeaderFile(path string) http.Header {
	h := http.Header{}
	b, err := os.ReadFile(path)
	if err != nil {
		return h
	}
	blocks := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n")
	last := ""
	for _, blk := range blocks {
		if strings.TrimSpace(blk) != "" {
			last = blk
		}
	}
	_, rest, _ := strings.Cut(last, "\n") // drop the status line
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(rest + "\n\n")))
	mh, _ := tp.ReadMIMEHeader()
	for k, v := range mh {
		h[k] = v
	}
	return h
}

// RR is one answer record as dig printed it.
type RR struct {
	Name  string
	TTL   int
	Class string
	Type  string
	Data  string
}

// EDE is one Extended DNS Error (RFC 8914) option as dig printed it.
type EDE struct {
	Code    int
	Purpose string // dig's name for the code, e.g. "Blocked"
	Text    string // EXTRA-TEXT, without dig's parentheses
}

// DigResult is a parsed dig answer.
type DigResult struct {
	Rcode    string // "NOERROR", "NXDOMAIN", "REFUSED", ... ("" when no answer)
	Flags    []string
	Answers  []RR
	EDE      []EDE
	ExitCode int // 0, 9 = no reply, 10 = internal error
	Raw      string
}

// Dig runs the real dig in the client namespace: dig @server name extra...
// (server "" means ServerIP4; add e.g. "AAAA", "+tcp" in extra). One try,
// two seconds, so a dropped query fails fast.
func (n *Net) Dig(name, server string, extra ...string) (*DigResult, error) {
	n.t.Helper()
	if server == "" {
		server = ServerIP4.String()
	}
	args := append([]string{"+tries=1", "+time=2", "@" + server, name}, extra...)
	stdout, stderr, err := n.Run(n.Client, "dig", args...)
	r := ParseDig(stdout)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.ExitCode = ee.ExitCode()
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("%w: %s", err, stderr)
	}
	return r, nil
}

var (
	digHeaderRe = regexp.MustCompile(`->>HEADER<<- opcode: \S+, status: ([A-Z0-9]+),`)
	digFlagsRe  = regexp.MustCompile(`^;; flags:([^;]*);`)
	digEDERe    = regexp.MustCompile(`^; EDE: (\d+)(?: \(([^)]*)\))?(?:: (.*))?$`)
)

// ParseDig parses dig's default output (exported for tests of the parser).
func ParseDig(out string) *DigResult {
	r := &DigResult{Raw: out}
	section := ""
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := digHeaderRe.FindStringSubmatch(line); m != nil {
			r.Rcode = m[1]
			continue
		}
		if m := digFlagsRe.FindStringSubmatch(line); m != nil {
			r.Flags = strings.Fields(m[1])
			continue
		}
		if m := digEDERe.FindStringSubmatch(line); m != nil {
			code, _ := strconv.Atoi(m[1])
			text := strings.TrimSpace(m[3])
			if len(text) >= 2 && text[0] == '(' && text[len(text)-1] == ')' {
				text = text[1 : len(text)-1]
			}
			text = strings.Trim(text, `"`)
			r.EDE = append(r.EDE, EDE{Code: code, Purpose: m[2], Text: text})
			continue
		}
		if strings.HasPrefix(line, ";; ") && strings.HasSuffix(line, " SECTION:") {
			section = strings.TrimSuffix(strings.TrimPrefix(line, ";; "), " SECTION:")
			continue
		}
		if line == "" {
			section = ""
			continue
		}
		if section != "ANSWER" || strings.HasPrefix(line, ";") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		ttl, _ := strconv.Atoi(f[1])
		r.Answers = append(r.Answers, RR{Name: f[0], TTL: ttl, Class: f[2], Type: f[3], Data: strings.Join(f[4:], " ")})
	}
	return r
}

// TLSResult is what openssl s_client reported.
type TLSResult struct {
	Handshake bool   // the TLS handshake completed
	Verified  bool   // the chain verified against Certs' CA
	Protocol  string // "TLSv1.3"
	Cipher    string
	Err       string // openssl's error lines when the handshake failed
	Output    string
}

// OpenSSLConnect runs openssl s_client -connect hostport -servername sni in
// the client namespace (sni "" sends no SNI) with an empty stdin, so it
// closes right after the handshake.
func (n *Net) OpenSSLConnect(hostport, sni string, extra ...string) (*TLSResult, error) {
	n.t.Helper()
	args := []string{"s_client", "-connect", hostport, "-brief", "-CAfile", n.Certs().CAFile}
	if sni == "" {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", sni)
	}
	args = append(args, extra...)
	stdout, stderr, err := n.Run(n.Client, "openssl", args...)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	return ParseOpenSSL(stdout + stderr), nil
}

// ParseOpenSSL parses `openssl s_client -brief` output.
func ParseOpenSSL(out string) *TLSResult {
	r := &TLSResult{Output: out}
	var errs []string
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "CONNECTION ESTABLISHED":
			r.Handshake = true
		case strings.HasPrefix(line, "Protocol version:"):
			r.Protocol = strings.TrimSpace(strings.TrimPrefix(line, "Protocol version:"))
		case strings.HasPrefix(line, "Ciphersuite:"):
			r.Cipher = strings.TrimSpace(strings.TrimPrefix(line, "Ciphersuite:"))
		case line == "Verification: OK":
			r.Verified = true
		case strings.Contains(line, "error") || strings.Contains(line, "errno") || strings.HasPrefix(line, "connect:"):
			errs = append(errs, line)
		}
	}
	if !r.Handshake {
		r.Err = strings.Join(errs, "\n")
		if r.Err == "" {
			r.Err = strings.TrimSpace(lastLines(out, 3))
		}
	}
	return r
}

// Iperf3 runs a one-shot iperf3 server in the server namespace and an
// iperf3 client (extra e.g. "-R", "-u", "-P", "4") in the client namespace
// for the given duration; it returns the receiver's rate in bytes/s.
func (n *Net) Iperf3(d time.Duration, extra ...string) (float64, error) {
	n.t.Helper()
	if _, err := exec.LookPath("iperf3"); err != nil {
		n.t.Skip("testnet: iperf3 not installed (apt-get install iperf3); skipping")
	}
	srv := n.Start(n.Server, "iperf3", "-s", "-1", "--forceflush")
	defer srv.Stop()
	if err := waitLog(srv, "Server listening", 5*time.Second); err != nil {
		return 0, err
	}
	secs := max(1, int(d/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+n.cmdTimeout)
	defer cancel()
	args := append([]string{"-c", ServerIP4.String(), "-t", strconv.Itoa(secs), "-J"}, extra...)
	stdout, stderr, err := n.RunContext(ctx, n.Client, "iperf3", args...)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s", err, stderr, lastLines(stdout, 5))
	}
	var j struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			Sum struct { // UDP
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		return 0, fmt.Errorf("testnet: iperf3 json: %w", err)
	}
	if j.Error != "" {
		return 0, fmt.Errorf("testnet: iperf3: %s", j.Error)
	}
	bps := j.End.SumReceived.BitsPerSecond
	if bps == 0 {
		bps = j.End.Sum.BitsPerSecond
	}
	return bps / 8, nil
}
