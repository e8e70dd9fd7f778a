package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"catalog"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "telegram") || !strings.Contains(out.String(), " applications\n") {
		t.Errorf("list lacks telegram or the total:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"catalog", "Zoom"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "zoom.us") || !strings.Contains(out.String(), "170.114.0.0/16") {
		t.Errorf("zoom details:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"catalog", "no-such-app"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "no-such-app") {
		t.Errorf("unknown app: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"catalog", "--yaml"}, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "# Weir application catalog") {
		t.Errorf("--yaml: exit %d, %.60q", code, out.String())
	}
}
