package marker

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRSTRoundTrip(t *testing.T) {
	p := RSTPayload("block-social", "https://notices.example/weir")
	rule, notice, ok := ParseRST(p)
	if !ok || rule != "block-social" || notice != "https://notices.example/weir" {
		t.Fatalf("ParseRST(%q) = %q %q %v", p, rule, notice, ok)
	}
	if _, _, ok := ParseRST([]byte("hello")); ok {
		t.Error("accepted a non-Weir payload")
	}
	// Hostile rule names cannot inject fields or control bytes.
	p = RSTPayload("x; notice=evil\r\n", "n")
	if rule, notice, _ := ParseRST(p); notice != "n" || strings.ContainsAny(rule, "\r\n;") {
		t.Errorf("injection: rule %q notice %q", rule, notice)
	}
}

func TestEDERoundTrip(t *testing.T) {
	s := EDEText("block-hosts", "https://notices.example/weir")
	if rule, notice, ok := ParseEDEText(s); !ok || rule != "block-hosts" || notice != "https://notices.example/weir" {
		t.Errorf("ParseEDEText(%q) = %q %q %v", s, rule, notice, ok)
	}
}

// The 451 response parses with Go's own HTTP client parser.
func TestHTTP451(t *testing.T) {
	raw := HTTP451("block-hosts", "https://notices.example/weir", "blocked.test")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 451 || resp.Header.Get(RuleHeader) != "block-hosts" || !resp.Close {
		t.Errorf("status %d rule %q close %v", resp.StatusCode, resp.Header.Get(RuleHeader), resp.Close)
	}
	if n, ok := ParseBlockedBy(resp.Header.Get("Link")); !ok || n != "https://notices.example/weir" {
		t.Errorf("blocked-by = %q %v", n, ok)
	}
	if !bytes.Contains(body, []byte("block-hosts")) || !bytes.Contains(body, []byte("blocked.test")) {
		t.Errorf("page does not name rule and host: %s", body)
	}
}

func TestParseBlockedBy(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`<https://a.example/n>; rel="blocked-by"`, "https://a.example/n", true},
		{`<https://x>; rel="preload", <https://a/n>; rel=blocked-by`, "https://a/n", true},
		{`<https://x>; rel="next"`, "", false},
		{``, "", false},
	} {
		got, ok := ParseBlockedBy(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseBlockedBy(%q) = %q %v", tc.in, got, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("weir-reset; rule=a; notice=b"))
	f.Add([]byte("weir; rule=x"))
	f.Add([]byte(`<https://a>; rel="blocked-by"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseRST(b)
		ParseEDEText(string(b))
		ParseBlockedBy(string(b))
	})
}
