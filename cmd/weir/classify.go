package main

import "github.com/weirnet/weir/internal/classify"

// newClassifier builds the classifier with the embedded app catalog.
func newClassifier() (*classify.Classifier, error) {
	return classify.New(classify.DefaultConfig(), nil), nil
}
