package engine_test

import (
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
)

func newTestClassifier(t testing.TB, on bool) *classify.Classifier {
	if !on {
		return nil
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return classify.New(classify.DefaultConfig(), classify.CatalogApps(cat))
}
