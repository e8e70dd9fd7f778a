package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/weirnet/weir/"

// stages lists package prefixes in data-flow order. A package may import
// packages of its own stage or an earlier one. Longest prefix wins.
var stages = []struct {
	prefix string
	stage  int
}{
	{"internal/capture", 0},
	{"internal/decode", 1},
	{"internal/flow", 2},
	{"internal/domainset", 3},
	{"internal/dissect", 3},
	{"internal/classify", 4},
	{"internal/engine", 5},
	{"internal/policy", 5},
	{"internal/marker", 5},
	// record defines what is recorded (flow records, enforcement events);
	// enforce writes into it, so it sits just before enforce.
	{"internal/record", 6},
	{"internal/enforce", 7},
	{"internal/metrics", 8},
	{"internal/store", 8},
	{"internal/web", 9},
	{"internal/probe", 9},
}

// datapath packages must not pull in these.
var datapathBanned = []string{"net/http", "encoding/json", "log"}

func stageOf(pkg string) (int, bool) {
	rel, ok := strings.CutPrefix(pkg, mod)
	if !ok {
		return 0, false
	}
	best, stage := -1, 0
	for _, s := range stages {
		if (rel == s.prefix || strings.HasPrefix(rel, s.prefix+"/")) && len(s.prefix) > best {
			best, stage = len(s.prefix), s.stage
		}
	}
	return stage, best >= 0
}

func TestImportsFollowDataFlow(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		st, ok := stageOf(pkg)
		if !ok {
			continue // commands, tools, test support
		}
		checked++
		datapath := st <= 3
		for _, imp := range imports {
			if is, ok := stageOf(imp); ok && is > st {
				t.Errorf("%s (stage %d) imports %s (stage %d): imports must point back up the flow", pkg, st, imp, is)
			}
			if datapath {
				for _, b := range datapathBanned {
					if imp == b {
						t.Errorf("datapath package %s imports %s", pkg, imp)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d packages checked; is the module path right?", checked)
	}
}
