package probe

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
)

// Target is one thing to measure.
type Target struct {
	Input    string // as given
	URL      string // normalised http(s) URL
	Category string // Citizen Lab category_code, when read from a test list
}

// maxTargets bounds a list: a runaway file cannot make the probe run for days.
const maxTargets = 100000

// csvHeader is the first line of a Citizen Lab test list.
const csvHeader = "url,category_code,category_description,date_added,source,notes"

var (
	errEmptyTarget = errors.New("probe: empty target")
	errBadScheme   = errors.New("probe: only http and https URLs can be probed")
	errBadHost     = errors.New("probe: bad host name")
	errTooMany     = errors.New("probe: too many targets")
)

// TargetError carries the position of a bad line in a list.
type TargetError struct {
	File  string
	Line  int
	Input string
	Err   error
}

func (e *TargetError) Error() string {
	if e.File != "" && e.Line > 0 {
		return fmt.Sprintf("%s:%d: %q: %v", e.File, e.Line, e.Input, e.Err)
	}
	if e.File != "" {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%q: %v", e.Input, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// ParseTarget turns a URL or a bare domain into a Target. A domain becomes
// https://domain/ (what a browser would try today).
func ParseTarget(s string) (Target, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Target{}, errEmptyTarget
	}
	raw := in
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
		if !strings.Contains(in, "/") {
			raw += "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("probe: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return Target{}, errBadScheme
	}
	if u.User != nil {
		return Target{}, errBadHost
	}
	host := u.Hostname()
	if !validHost(host) {
		return Target{}, errBadHost
	}
	if p := u.Port(); p != "" {
		if n, ok := atoiPort(p); !ok || n == 0 {
			return Target{}, errBadHost
		}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.Fragment = ""
	return Target{Input: in, URL: u.String()}, nil
}

func atoiPort(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// validHost accepts IP literals and LDH names (with '_' and a trailing dot
// tolerated, as found in real lists).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// ParseArgs expands command-line targets: URLs, domains and @FILE lists.
// Duplicates (same normalised URL) are dropped, keeping the first.
func ParseArgs(args []string) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	add := func(ts ...Target) error {
		for _, t := range ts {
			if seen[t.URL] {
				continue
			}
			if len(out) >= maxTargets {
				return errTooMany
			}
			seen[t.URL] = true
			out = append(out, t)
		}
		return nil
	}
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "@"); ok {
			f, err := os.Open(name)
			if err != nil {
				return nil, fmt.Errorf("probe: %w", err)
			}
			ts, err := ParseList(f, name)
			f.Close()
			if err != nil {
				return nil, err
			}
			if err := add(ts...); err != nil {
				return nil, err
			}
			continue
		}
		t, err := ParseTarget(a)
		if err != nil {
			return nil, &TargetError{Input: a, Err: err}
		}
		if err := add(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParseList reads a target list: either plain lines (one URL or domain per
// line; blank lines and lines starting with # are skipped) or a Citizen Lab
// test-list CSV, recognised by its header line. name is used in errors.
func ParseList(r io.Reader, name string) ([]Target, error) {
	br := bufio.NewReader(io.LimitReader(r, 64<<20))
	head, _ := br.Peek(len(csvHeader) + 3)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	if bytes.HasPrefix(bytes.ToLower(head), []byte("url,category_code")) {
		return parseCSV(br, name)
	}
	return parseLines(br, name)
}

func parseLines(r io.Reader, name string) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var out []Target
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\xef\xbb\xbf"))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		t, err := ParseTarget(s)
		if err != nil {
			return nil, &TargetError{File: name, Line: line, Input: s, Err: err}
		}
		if len(out) >= maxTargets {
			return nil, errTooMany
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("probe: %s: %w", name, err)
	}
	return out, nil
}

func parseCSV(r io.Reader, name string) ([]Target, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // real lists have ragged notes columns
	cr.ReuseRecord = true
	var out []Target
	for rec := 0; ; rec++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// *csv.ParseError carries its own line; FieldPos is only
			// valid after a successful Read.
			return nil, &TargetError{File: name, Err: err}
		}
		line, _ := cr.FieldPos(0)
		if rec == 0 {
			continue // the header
		}
		if len(row) == 0 || strings.TrimSpace(row[0]) == "" {
			continue
		}
		t, err := ParseTarget(row[0])
		if err != nil {
			return nil, &TargetError{File: name, Line: line, Input: row[0], Err: err}
		}
		if len(row) > 1 {
			t.Category = strings.TrimSpace(row[1])
		}
		if len(out) >= maxTargets {
			return nil, errTooMany
		}
		out = append(out, t)
	}
	return out, nil
}
