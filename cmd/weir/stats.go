package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/flow"
)

func writeStats(w io.Writer, s engine.Stats, cls *classify.Classifier, elapsed time.Duration) {
	sec := elapsed.Seconds()
	fmt.Fprintf(w, "packets          %d\n", s.Packets)
	fmt.Fprintf(w, "bytes            %d\n", s.Bytes)
	fmt.Fprintf(w, "ip packets       %d\n", s.IP)
	for r := range decode.NumResults {
		if n := s.Decode.Results[r]; n > 0 && decode.Result(r) != decode.OK {
			fmt.Fprintf(w, "  %-14s %d\n", decode.Result(r), n)
		}
	}
	for r := 1; r < decode.NumReasons; r++ {
		if n := s.Decode.Reasons[r]; n > 0 {
			fmt.Fprintf(w, "  malformed %-22s %d\n", decode.Reason(r), n)
		}
	}
	fmt.Fprintf(w, "flows            %d\n", s.Flow.Created)
	fmt.Fprintf(w, "  peak live      %d (core state %d bytes/flow)\n", s.Flow.Peak, flow.CoreBytesPerFlow)
	fmt.Fprintf(w, "  evicted        %d\n", s.Flow.Evicted())
	fmt.Fprintf(w, "  idle-expired   %d\n", s.Flow.Ended[flow.EndIdle])
	fmt.Fprintf(w, "  active-timeout %d\n", s.Flow.Ended[flow.EndActive])
	if n := s.Flow.Ended[flow.EndTimeJump]; n > 0 {
		fmt.Fprintf(w, "  time-jump      %d (packet time went back: flows of the earlier time base ended)\n", n)
	}
	if cls != nil {
		cs := cls.Stats()
		fmt.Fprintf(w, "dissected flows  %d (identified by DPI %d, over dissection cap %d)\n", cs.Dissected, cs.ByDPI, cs.NoDissector)
	}
	fmt.Fprintf(w, "elapsed          %.3f s\n", sec)
	if sec > 0 {
		fmt.Fprintf(w, "rate             %.3f Mpps, %.3f Gb/s\n", float64(s.Packets)/sec/1e6, float64(s.Bytes)*8/sec/1e9)
	}
	if hwm := peakRSS(); hwm != "" {
		fmt.Fprintf(w, "peak memory      %s\n", hwm)
	}
}

// peakRSS reads the process's peak resident set size (VmHWM) on Linux.
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
