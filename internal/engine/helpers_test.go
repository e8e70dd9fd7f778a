package engine_test

import (
	"testing"

	"github.com/weirnet/weir/internal/classify"
)

func newTestClassifier(t testing.TB, on bool) *classify.Classifier {
	if !on {
		return nil
	}
	return classify.New(classify.DefaultConfig(), nil)
}
