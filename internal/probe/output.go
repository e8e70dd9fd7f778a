package probe

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// NewReport assembles the report of one run.
func NewReport(version string, info ProbeInfo, controlURL string, start time.Time, ms []*Measurement) *Report {
	r := &Report{
		DataFormatVersion: DataFormatVersion,
		SoftwareName:      "weir",
		SoftwareVersion:   version,
		TestName:          "weir_probe",
		TestStartTime:     nowString(start),
		TestRuntime:       seconds(time.Since(start)),
		Probe:             info,
		Control:           ControlInfo{URL: controlURL},
		Measurements:      ms,
		Summary:           map[string]int{},
	}
	for _, m := range ms {
		r.Summary[string(m.Verdict)]++
		if m.TestKeys.Control != nil {
			r.Control.Used = true
			r.Control.Version = m.TestKeys.Control.Version
		}
	}
	return r
}

// WriteTable prints one line per target and the first evidence line.
func WriteTable(w io.Writer, ms []*Measurement) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tVERDICT\tBY\tTIME\tEVIDENCE")
	for _, m := range ms {
		ev := ""
		if len(m.Evidence) > 0 {
			ev = m.Evidence[0]
		} else if len(m.Notes) > 0 {
			ev = m.Notes[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%s\n", m.URL, m.Verdict, m.Attribution, m.TestRuntime, oneLine(ev, 160))
	}
	return tw.Flush()
}

func oneLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}
