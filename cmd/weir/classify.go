package main

import (
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
)

// newClassifier builds the classifier with the embedded app catalog.
func newClassifier() (*classify.Classifier, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	return classify.New(classify.DefaultConfig(), classify.CatalogApps(cat)), nil
}
