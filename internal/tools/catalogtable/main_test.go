package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirnet/weir/internal/classify/catalog"
)

// TestCommittedFileIsGenerated: embedded_apps.go is exactly what this
// command writes for apps.yaml (no hand edits, no stale copy).
func TestCommittedFileIsGenerated(t *testing.T) {
	dir := filepath.Join("..", "..", "classify", "catalog")
	text, err := os.ReadFile(filepath.Join(dir, "apps.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want, err := render(c.Apps())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "embedded_apps.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/classify/catalog/embedded_apps.go differs from what catalogtable writes: run go generate ./internal/classify/catalog")
	}
}
