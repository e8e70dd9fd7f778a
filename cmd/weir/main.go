// Command weir is Weir's single binary: inspect captures, check and test
// policies, enforce them inline, serve the dashboard, probe for interference.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes (documented in README.md).
const (
	exitOK    = 0
	exitError = 1 // runtime error: unreadable or corrupt input, failed setup
	exitUsage = 2 // bad command line or bad configuration file
)

type command struct {
	name  string
	short string
	run   func(args []string, stdout, stderr io.Writer) int
}

// commands is the subcommand table, in the order help lists them.
var commands []command

func init() {
	// Assigned here rather than in the declaration to break the
	// initialisation cycle through cmdHelp, which lists commands.
	commands = []command{
		{"inspect", "read captures, track and classify flows, print one line per flow", cmdInspect},
		{"policy", "check, show and dry-run policies", cmdPolicy},
		{"catalog", "list the applications Weir names, with their domains and prefixes", cmdCatalog},
		{"run", "enforce a policy inline on this Linux router (NFQUEUE)", cmdRun},
		{"report", "print top applications, rules and hosts from the store", cmdReport},
		{"serve", "serve the dashboard, its JSON API and /metrics from the store", cmdServe},
		{"probe", "measure interference with targets from the user's side and say what kind it is", cmdProbe},
		{"probe-control", "serve the control measurements probes compare against", cmdProbeControl},
		{"version", "print the version", cmdVersion},
		{"help", "show help for weir or a command", cmdHelp},
	}
}

// parseFlags parses a command's flags. When it reports !ok the command
// returns code: 0 after -h printed the usage, 2 after a bad flag (the flag
// package has said which).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "-help" {
		usage(stdout)
		return exitOK
	}
	if name == "inspect" || name == "run" || name == "policy" {
		adviseHugePages() // the commands that hold per-flow state
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "weir: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Weir: open deep packet inspection and traffic policy.")
	fmt.Fprintln(w, "\nUsage: weir <command> [flags] [args]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'weir help <command>' or 'weir <command> -h' for a command's flags.")
}

func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run([]string{"-h"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "weir help: unknown command %q\n", args[0])
	return exitUsage
}

// version is set by the linker (-X main.version=...) for releases.
var version = ""

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	goVer := ""
	if ok {
		goVer = bi.GoVersion
	}
	fmt.Fprintf(stdout, "weir %s %s\n", v, goVer)
	return exitOK
}

var errUsage = errors.New("usage")
