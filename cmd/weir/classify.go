package main

import (
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
)

// newClassifier builds the classifier with the embedded app catalog.
// early: decide applications as soon as flows are identified (inline).
func newClassifier(early bool) (*classify.Classifier, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	cfg := classify.DefaultConfig()
	cfg.EarlyApp = early
	return classify.New(cfg, classify.CatalogApps(cat)), nil
}
