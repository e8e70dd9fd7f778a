package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/policy"
)

func cmdPolicy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, `Usage:
  weir policy check FILE             validate a policy (errors as FILE:LINE:COL: message)
  weir policy show FILE              print the compiled rules
  weir policy test FILE CAPTURE...   dry run: what each rule would hit in these captures

The language is documented in docs/policy.md.`)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout, stderr)
	case "show":
		return policyShow(args[1:], stdout, stderr)
	case "test":
		batchGC() // a run over captures, as inspect
		return policyTest(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "weir policy: unknown subcommand %q (check, show, test)\n", args[0])
	return exitUsage
}

// loadPolicy loads and compiles a policy against the embedded catalog,
// printing every positioned error.
func loadPolicy(path string, stderr io.Writer) (*policy.Policy, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	p, err := policy.Load(path, cat)
	if err != nil {
		var list policy.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stderr, e.Error())
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, err
	}
	return p, nil
}

func policyCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: weir policy check FILE")
		return exitUsage
	}
	p, err := loadPolicy(args[0], stderr)
	if err != nil {
		return exitUsage
	}
	h := p.Hash()
	fmt.Fprintf(stdout, "%s: ok, %d rules, default %s, sha256 %x\n", args[0], len(p.Rules()), p.Default(), h[:])
	return exitOK
}

func policyShow(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: weir policy show FILE")
		return exitUsage
	}
	p, err := loadPolicy(args[0], stderr)
	if err != nil {
		return exitUsage
	}
	for _, r := range p.Rules() {
		act := r.Action.String()
		if r.Action == policy.Throttle {
			act += fmt.Sprintf(" %d bit/s per %s", r.Rate, r.Per)
		}
		fmt.Fprintf(stdout, "%3d  %-20s %-28s line %-4d %s\n", r.Index+1, r.Name, act, r.Line, r.Match)
	}
	fmt.Fprintf(stdout, "     %-20s %s\n", "default", p.Default())
	return exitOK
}

func policyTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	at := fs.String("at", "", "evaluate schedules at this RFC 3339 time instead of each flow's own start time")
	top := fs.Int("hosts", 10, "distinct hosts to list per rule")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() < 2 {
		fmt.Fprintln(stderr, "usage: weir policy test [--at TIME] FILE CAPTURE...")
		return exitUsage
	}
	var when time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "weir policy test: --at: %v\n", err)
			return exitUsage
		}
		when = t
	}
	p, err := loadPolicy(fs.Arg(0), stderr)
	if err != nil {
		return exitUsage
	}
	cls, err := newClassifier(true)
	if err != nil {
		fmt.Fprintf(stderr, "weir policy test: %v\n", err)
		return exitError
	}
	dry := policy.NewDryRun(p)
	var in policy.Input
	var flows int
	eng, err := engine.New(engine.DefaultConfig(), cls, func(e *engine.FlowEnd) {
		in.Time = when
		if when.IsZero() {
			in.Time = time.Unix(0, e.Flow.First())
		}
		policy.FlowInput(&in, e.Flow, e.Class)
		dry.Tally(&in)
		flows++
	})
	if err != nil {
		fmt.Fprintf(stderr, "weir policy test: %v\n", err)
		return exitError
	}
	code := exitOK
	var pkt capture.Packet
	for _, name := range fs.Args()[1:] {
		src, err := capture.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "weir policy test: %v\n", err)
			code = exitError
			continue
		}
		for err = src.Next(&pkt); err == nil; err = src.Next(&pkt) {
			eng.Packet(&pkt)
		}
		src.Close()
		if err != io.EOF {
			fmt.Fprintf(stderr, "weir policy test: %v\n", err)
			code = exitError
		}
	}
	eng.Flush()
	verdicts := map[string]string{"default": p.Default().String()}
	for _, r := range p.Rules() {
		verdicts[r.Name] = r.Action.String()
	}
	fmt.Fprintf(stdout, "%d flows\n\n%-20s %-9s %7s %7s  hosts\n", flows, "rule", "action", "flows", "hosts")
	for _, r := range dry.Reach() {
		hosts := make([]string, 0, len(r.Hosts))
		for h := range r.Hosts {
			hosts = append(hosts, h)
		}
		slices.SortFunc(hosts, func(a, b string) int {
			if r.Hosts[a] != r.Hosts[b] {
				return r.Hosts[b] - r.Hosts[a]
			}
			return strings.Compare(a, b)
		})
		more := ""
		if len(hosts) > *top {
			more = fmt.Sprintf(" (+%d more)", len(hosts)-*top)
			hosts = hosts[:*top]
		}
		fmt.Fprintf(stdout, "%-20s %-9s %7d %7d  %s%s\n", r.Rule, verdicts[r.Rule], r.Flows, len(r.Hosts), strings.Join(hosts, ", "), more)
	}
	return code
}
