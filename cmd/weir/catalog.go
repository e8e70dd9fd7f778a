package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/weirnet/weir/internal/classify/catalog"
)

// cmdCatalog lists the embedded application catalog: the app ids policies
// name, or one app's domains, prefixes and nDPI names, or the YAML itself.
func cmdCatalog(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asYAML := fs.Bool("yaml", false, "print the catalog's YAML source as shipped")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: weir catalog [--yaml] [APP...]")
		fmt.Fprintln(stderr, "Without APP: one line per application (id, category, name, domain and prefix counts).")
		fmt.Fprintln(stderr, "With APP ids: each app's domains, IP prefixes and the nDPI names it stands for.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *asYAML {
		stdout.Write(catalog.Source())
		return exitOK
	}
	cat, err := catalog.Load()
	if err != nil {
		fmt.Fprintln(stderr, "weir catalog:", err)
		return exitError
	}
	if fs.NArg() == 0 {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCATEGORY\tNAME\tDOMAINS\tPREFIXES")
		for _, a := range cat.Apps() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", a.ID, a.Category, a.Name, len(a.Domains), len(a.Prefixes))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d applications\n", cat.Len())
		return exitOK
	}
	code := exitOK
	for i, id := range fs.Args() {
		a, ok := cat.App(strings.ToLower(id))
		if !ok {
			fmt.Fprintf(stderr, "weir catalog: no application %q (weir catalog lists them)\n", id)
			code = exitUsage
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s (%s), category %s\n", a.ID, a.Name, a.Category)
		fmt.Fprintf(stdout, "  domains:  %s\n", orNone(a.Domains))
		prefixes := make([]string, len(a.Prefixes))
		for j, p := range a.Prefixes {
			prefixes[j] = p.String()
		}
		fmt.Fprintf(stdout, "  prefixes: %s\n", orNone(prefixes))
		fmt.Fprintf(stdout, "  nDPI:     %s\n", orNone(a.NDPI))
	}
	return code
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, " ")
}
