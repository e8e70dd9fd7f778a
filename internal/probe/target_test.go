package probe

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"example.test", "https://example.test/", false},
		{"http://Example.test", "http://Example.test/", false},
		{"HTTPS://x.test/a?b=c#frag", "https://x.test/a?b=c", false},
		{"x.test/path", "https://x.test/path", false},
		{"http://10.0.0.1:8080/", "http://10.0.0.1:8080/", false},
		{"http://[fd00::1]/", "http://[fd00::1]/", false},
		{"ftp://x.test/", "", true},
		{"http://x.test:0/", "", true},
		{"http://x.test:99999/", "", true},
		{"http://us@x.test/", "", true},
		{"http://bad host/", "", true},
		{"", "", true},
		{"https://", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if got.URL != tc.want {
				t.Errorf("URL = %q, want %q", got.URL, tc.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // URL|category
		wantErr  bool
	}{
		{"plain", "# comment\n\nallowed.test\nhttp://blocked.test/x\r\n", []string{"https://allowed.test/|", "http://blocked.test/x|"}, false},
		{"csv", csvHeader + "\nhttps://4genderjustice.org/,HUMR,Human Rights Issues,2014-04-15,citizenlab,\"Updated, by OONI\"\nhttp://x.test/,NEWS,News Media,2020-01-01,citizenlab,\n",
			[]string{"https://4genderjustice.org/|HUMR", "http://x.test/|NEWS"}, false},
		{"csv bom ragged", "\xef\xbb\xbf" + csvHeader + "\nhttp://a.test/,GRP\n", []string{"http://a.test/|GRP"}, false},
		{"bad line", "a.test\nftp://b.test/\n", nil, true},
		{"bad csv quote", csvHeader + "\n\"http://a.test/,X\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseList(strings.NewReader(tc.in), "list")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.URL+"|"+x.Category)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			var te *TargetError
			if err != nil && !errors.As(err, &te) {
				t.Errorf("error %v is not a *TargetError", err)
			}
		})
	}
}

func TestParseArgs_fileAndDedup(t *testing.T) {
	p := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(p, []byte("a.test\nhttps://b.test/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := ParseArgs([]string{"b.test", "@" + p, "http://c.test"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range ts {
		got = append(got, x.URL)
	}
	want := "https://b.test/ https://a.test/ http://c.test/"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if _, err := ParseArgs([]string{"@/nonexistent/list"}); err == nil {
		t.Error("missing file: no error")
	}
}

// FuzzParseList: any input either fails with a positioned error or yields
// targets whose URLs parse back with an http(s) scheme and a host.
func FuzzParseList(f *testing.F) {
	f.Add([]byte("allowed.test\n# c\nhttp://x.test/a\n"))
	f.Add([]byte(csvHeader + "\nhttps://4genderjustice.org/,HUMR,Human Rights Issues,2014-04-15,citizenlab,Updated by OONI on 2017-02-14\n"))
	f.Add([]byte(csvHeader + "\n\"http://a.test/\",\"X\"\n,,,\n"))
	f.Add([]byte("\xef\xbb\xbfhttp://[::1]:80/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseList(strings.NewReader(string(data)), "fuzz")
		if err != nil {
			return
		}
		for _, x := range ts {
			u, err := url.Parse(x.URL)
			if err != nil {
				t.Fatalf("target %q does not parse: %v", x.URL, err)
			}
			if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Fatalf("target %q: bad scheme or host", x.URL)
			}
			again, err := ParseTarget(x.URL)
			if err != nil || again.URL != x.URL {
				t.Fatalf("not idempotent: %q -> %q, %v", x.URL, again.URL, err)
			}
		}
	})
}
