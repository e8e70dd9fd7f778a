package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/engine"
	"github.com/weirnet/weir/internal/policy"
	"github.com/weirnet/weir/internal/record"
)

type inspectFlags struct {
	json, summary, stats, quiet bool
	noClassify                  bool
	progress                    string
	cpuProfile                  string
	memProfile                  string
	policyFile                  string
	out                         outputFlags
	cfg                         engine.Config
}

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f inspectFlags
	f.cfg = engine.DefaultConfig()
	fs.BoolVar(&f.json, "json", false, "one JSON object per flow (JSON lines; keys in docs/records.md)")
	fs.BoolVar(&f.summary, "summary", false, "print totals per L4 protocol, protocol, application, category and confidence instead of flows")
	fs.BoolVar(&f.stats, "stats", false, "print packet, flow, malformed and speed counters to stderr at the end")
	fs.BoolVar(&f.quiet, "q", false, "print no flows (with --stats: measure only)")
	fs.BoolVar(&f.noClassify, "no-classify", false, "track flows only: no dissectors, no application names")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always, never")
	fs.StringVar(&f.policyFile, "policy", "", "evaluate this policy on every flow and add verdict and rule to its record")
	f.out.register(fs)
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile at the end to this file (for developers)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for developers)")
	fc := &f.cfg.Flow
	fs.IntVar(&fc.MaxFlows, "max-flows", fc.MaxFlows, "hard cap on tracked flows; the longest-idle flow is evicted past it")
	fs.DurationVar(&fc.TCPIdle, "tcp-idle", fc.TCPIdle, "idle timeout for open TCP flows")
	fs.DurationVar(&fc.TCPClosedIdle, "tcp-closed-idle", fc.TCPClosedIdle, "idle timeout for TCP flows after RST or FIN both ways")
	fs.DurationVar(&fc.UDPIdle, "udp-idle", fc.UDPIdle, "idle timeout for UDP flows")
	fs.DurationVar(&fc.OtherIdle, "other-idle", fc.OtherIdle, "idle timeout for ICMP and other flows")
	fs.DurationVar(&fc.ActiveTimeout, "active-timeout", fc.ActiveTimeout, "split flows longer than this into several records (0 = never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: weir inspect [flags] FILE...\n\nReads pcap/pcapng captures (optionally gzip-compressed; - reads standard input),\ntracks bidirectional flows and prints one line per flow.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nExit status: 0 all input read; 1 an input was unreadable, truncated or corrupt\n(the flows read so far are still printed); 2 bad usage.")
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "weir inspect: no capture given (use - for standard input)")
		fs.Usage()
		return exitUsage
	}
	f.cfg.Classify = !f.noClassify
	batchGC()
	return inspect(fs.Args(), &f, stdout, stderr)
}

func inspect(files []string, f *inspectFlags, stdout, stderr io.Writer) int {
	out := bufio.NewWriterSize(stdout, 256<<10)
	defer out.Flush()

	var cls *classify.Classifier
	var err error
	if f.cfg.Classify {
		cls, err = newClassifier(false)
		if err != nil {
			fmt.Fprintf(stderr, "weir inspect: unable to initialize classify component: %v\n", err)
			return exitError
		}
	}
	var pol *policy.Policy
	if f.policyFile != "" {
		if !f.cfg.Classify {
			fmt.Fprintln(stderr, "weir inspect: --policy needs classification (drop --no-classify)")
			return exitUsage
		}
		if pol, err = loadPolicy(f.policyFile, stderr); err != nil {
			return exitUsage
		}
	}
	var in policy.Input
	st, err := f.out.openStore(true)
	if err != nil {
		fmt.Fprintf(stderr, "weir inspect: %v\n", err)
		return exitError
	}
	if st != nil {
		defer st.Close()
		if pol != nil {
			if src, err := os.ReadFile(f.policyFile); err == nil {
				st.RecordPolicy(context.Background(), time.Now(), src)
			}
		}
	}
	sinks, err := f.out.sinks(st, func(format string, args ...any) { fmt.Fprintf(stderr, "weir inspect: "+format+"\n", args...) })
	if err != nil {
		fmt.Fprintf(stderr, "weir inspect: %v\n", err)
		return exitUsage
	}
	defer func() {
		for _, s := range sinks {
			if err := s.Close(); err != nil {
				fmt.Fprintf(stderr, "weir inspect: %v\n", err)
			}
		}
	}()
	sum := record.NewSummary()
	var rec record.Record
	var line []byte
	// write is what happens to a record after the packet path is done with
	// it: sinks, dry-run events, the output line.
	write := func(rec *record.Record) {
		if st != nil && rec.Verdict != "" && rec.Verdict != policy.Allow.String() {
			// What weir run would have done: an event marked dry-run,
			// so the dashboard of a capture shows the policy's reach.
			ev := record.Event{Time: time.Unix(0, rec.First), L4: rec.L4, Client: rec.Client.String(),
				Server: rec.Server.String(), Rule: rec.Rule, Action: rec.Verdict, Notice: "dry-run"}
			if c := rec.Class; c != nil {
				ev.Protocol, ev.App, ev.Host = c.Meta.Proto.String(), c.App, c.Host
			}
			st.EventSink().Event(&ev)
		}
		for _, s := range sinks {
			s.Write(rec)
		}
		if f.summary || f.quiet {
			return
		}
		if f.json {
			line = rec.AppendJSON(line[:0])
		} else {
			line = rec.AppendText(line[:0])
		}
		line = append(line, '\n')
		out.Write(line)
	}
	// With lines or sinks to write and a second CPU, writing runs on its
	// own goroutine.
	var queue *recordQueue
	if (len(sinks) > 0 || !(f.summary || f.quiet)) && runtime.GOMAXPROCS(0) > 1 {
		queue = newRecordQueue(write)
		defer func() {
			if queue != nil {
				queue.close()
			}
		}()
	}
	eng, err := engine.New(f.cfg, cls, func(e *engine.FlowEnd) {
		rec.FromFlow(e.Flow, e.Class, e.Reason)
		if pol != nil {
			in.Time = time.Unix(0, e.Flow.First())
			policy.FlowInput(&in, e.Flow, e.Class)
			v, why := pol.Evaluate(&in)
			rec.Verdict, rec.Rule = v.String(), why.Name
			if why.Rule < 0 {
				rec.Rule = "default"
			}
		}
		if f.summary {
			sum.Add(&rec)
		}
		if queue != nil {
			queue.add(&rec)
		} else {
			write(&rec)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "weir inspect: %v\n", err)
		return exitError
	}

	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "weir inspect: %v\n", err)
			return exitError
		}
		defer pf.Close()
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	code := exitOK
	bar := newProgress(stderr, f.progress)
	var pkt capture.Packet
	for _, name := range files {
		src, err := capture.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "weir inspect: %v\n", err)
			code = exitError
			continue
		}
		bar.start(name, src)
		for {
			err = src.Next(&pkt)
			if err != nil {
				break
			}
			eng.Packet(&pkt)
			bar.tick()
		}
		bar.done()
		src.Close()
		if err != io.EOF {
			fmt.Fprintf(stderr, "weir inspect: %v\n", err)
			code = exitError
		}
	}
	if f.memProfile != "" {
		if pf, err := os.Create(f.memProfile); err == nil {
			pprof.Lookup("heap").WriteTo(pf, 0)
			pf.Close()
		}
	}
	eng.Flush()
	if queue != nil {
		queue.close()
		queue = nil
	}
	elapsed := time.Since(start)

	if f.summary {
		var b []byte
		b = record.AppendTable(b, "l4", sum.ByL4)
		if f.cfg.Classify {
			b = append(b, '\n')
			b = record.AppendTable(b, "protocol", sum.ByProto)
			b = append(b, '\n')
			b = record.AppendTable(b, "application", sum.ByApp)
			b = append(b, '\n')
			b = record.AppendTable(b, "category", sum.ByCategory)
			b = append(b, '\n')
			b = record.AppendTable(b, "confidence", sum.ByConfidence)
			b = append(b, '\n')
			b = record.AppendTable(b, "app confidence", sum.ByAppConf)
		}
		out.Write(b)
	}
	if f.stats {
		out.Flush()
		writeStats(stderr, eng.Stats(), cls, elapsed)
	}
	return code
}
