// Command ndpicompare compares Weir's classification with nDPI's expected
// output over the peer corpus and writes docs/accuracy.md.
//
//	go run ./internal/peer/ndpicompare ../shared/corpus/ndpi
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/weirnet/weir/internal/peer/compare"
)

func main() {
	out := flag.String("o", "docs/accuracy.md", "where to write the report (- for stdout)")
	flag.Parse()
	dir := "../shared/corpus/ndpi"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	rep, err := compare.Run(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ndpicompare:", err)
		os.Exit(1)
	}
	var b bytes.Buffer
	rep.Markdown(&b)
	if *out == "-" {
		os.Stdout.Write(b.Bytes())
	} else if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "ndpicompare:", err)
		os.Exit(1)
	}
	t := rep.Totals("")
	fmt.Fprintf(os.Stderr, "%d DPI flows: master %d, app %d, host %d/%d\n", t.Flows, t.Master, t.App, t.Host, t.Hosts)
}
