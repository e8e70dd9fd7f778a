package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/weirnet/weir/internal/store"
)

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("store", "", "store file written by weir run/inspect --store (required)")
	since := fs.Duration("since", 24*time.Hour, "report on this much time before now")
	top := fs.Int("top", 10, "rows per table")
	asJSON := fs.Bool("json", false, "print one JSON object instead of tables")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir report --store FILE [--since 24h] [--top 10] [--json]\n\nPrints the top apps (flows, bytes), the rules with the most enforcement\nevents and the top hosts recorded in a store.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nExit status: 0 ok; 1 the store could not be read; 2 bad usage.")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "weir report: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *path == "":
		fmt.Fprintln(stderr, "weir report: --store is required")
		fs.Usage()
		return exitUsage
	case *since <= 0:
		fmt.Fprintln(stderr, "weir report: --since must be positive")
		return exitUsage
	case *top <= 0:
		fmt.Fprintln(stderr, "weir report: --top must be positive")
		return exitUsage
	}
	if _, err := os.Stat(*path); err != nil {
		fmt.Fprintf(stderr, "weir report: %v\n", err)
		return exitError
	}
	cfg := store.DefaultConfig()
	cfg.ReadOnly = true
	st, err := store.Open(*path, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir report: %v\n", err)
		return exitError
	}
	defer st.Close()
	now := time.Now()
	rep, err := buildReport(context.Background(), st, store.Window{Since: now.Add(-*since), Until: now}, *top)
	if err != nil {
		fmt.Fprintf(stderr, "weir report: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "weir report: %v\n", err)
			return exitError
		}
		return exitOK
	}
	writeReport(stdout, rep)
	return exitOK
}

type report struct {
	Since  time.Time         `json:"since"`
	Until  time.Time         `json:"until"`
	Totals store.Totals      `json:"totals"`
	Apps   []store.AppTotal  `json:"apps"`
	Rules  []store.RuleTotal `json:"rules"`
	Hosts  []store.HostTotal `json:"hosts"`
}

func buildReport(ctx context.Context, st *store.Store, w store.Window, top int) (*report, error) {
	r := &report{Since: w.Since.UTC().Truncate(time.Second), Until: w.Until.UTC().Truncate(time.Second)}
	var err error
	if r.Totals, err = st.Totals(ctx, w); err != nil {
		return nil, err
	}
	if r.Apps, err = st.TopApps(ctx, w, top); err != nil {
		return nil, err
	}
	if r.Rules, err = st.TopRules(ctx, w, top); err != nil {
		return nil, err
	}
	if r.Hosts, err = st.TopHosts(ctx, w, top); err != nil {
		return nil, err
	}
	return r, nil
}

func writeReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "Weir report %s .. %s: %s flows, %s, %s enforcement events\n",
		r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339),
		reportDigits(r.Totals.Flows), reportBytes(r.Totals.Bytes), reportDigits(r.Totals.Events))
	if r.Totals.LastMinute.IsZero() {
		fmt.Fprintln(w, "(the store holds no traffic yet)")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }

	section("Top apps")
	fmt.Fprintln(tw, "APP\tCATEGORY\tFLOWS\tBYTES\t")
	for _, a := range r.Apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", reportSafe(a.App), reportSafe(a.Category), reportDigits(a.Flows), reportBytes(a.Bytes))
	}
	if len(r.Apps) == 0 {
		fmt.Fprintln(tw, "(none)\t\t\t\t")
	}
	section("Top blocked rules")
	fmt.Fprintln(tw, "RULE\tACTION\tEVENTS\tLAST\t")
	for _, x := range r.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", reportSafe(x.Rule), reportSafe(x.Action), reportDigits(x.Events), x.Last.Format(time.RFC3339))
	}
	if len(r.Rules) == 0 {
		fmt.Fprintln(tw, "(none)\t\t\t\t")
	}
	section("Top hosts")
	fmt.Fprintln(tw, "HOST\tAPP\tFLOWS\tBYTES\t")
	for _, h := range r.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", reportSafe(h.Host), reportSafe(h.App), reportDigits(h.Flows), reportBytes(h.Bytes))
	}
	if len(r.Hosts) == 0 {
		fmt.Fprintln(tw, "(none)\t\t\t\t")
	}
	tw.Flush()
}

// reportSafe escapes control and invisible characters: hostnames come from
// the network and must not move the cursor or recolour the terminal. Tabs
// would also break the table's columns.
func reportSafe(s string) string {
	if s == "" {
		return "-"
	}
	ok := true
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\t' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}

func reportBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("kMGTP"[exp]) + "B"
}

func reportDigits(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
