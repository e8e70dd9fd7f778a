package enforce

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Chain is the name of Weir's iptables chain.
const Chain = "WEIR"

// ErrStale means Weir's chain is already installed: another Weir runs, or
// one died without cleaning up.
var ErrStale = errors.New("enforce: Weir's netfilter rules are already installed (another weir run, or a stale set left by one that died); run `weir run --cleanup` to remove them")

// Rules describes the netfilter rules Weir installs.
type Rules struct {
	Queue uint16
	// QueuePackets is how many packets of each connection (both
	// directions) are sent to user space before the kernel stops asking.
	QueuePackets int
	FailClosed   bool
	IPv6         bool
}

func (r Rules) tools() []string {
	if r.IPv6 {
		return []string{"iptables", "ip6tables"}
	}
	return []string{"iptables"}
}

// Installed reports whether Weir's chain exists (for either family).
func (r Rules) Installed() bool {
	for _, t := range r.tools() {
		if exec.Command(t, "-w", "-n", "-L", Chain).Run() == nil {
			return true
		}
	}
	return false
}

// Install adds the chain and the jump from FORWARD. It refuses to run over
// an existing chain.
func (r Rules) Install() error {
	if r.Installed() {
		return ErrStale
	}
	for _, t := range r.tools() {
		for _, args := range r.ruleArgs() {
			if out, err := exec.Command(t, append([]string{"-w"}, args...)...).CombinedOutput(); err != nil {
				r.Remove()
				return fmt.Errorf("enforce: %s %s: %v: %s", t, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
		}
	}
	return nil
}

func (r Rules) ruleArgs() [][]string {
	n := r.QueuePackets
	if n <= 0 {
		n = 20
	}
	queue := []string{"-j", "NFQUEUE", "--queue-num", strconv.Itoa(int(r.Queue))}
	if !r.FailClosed {
		queue = append(queue, "--queue-bypass")
	}
	hex := func(v uint32) string { return "0x" + strconv.FormatUint(uint64(v), 16) }
	a := func(rule ...string) []string { return append([]string{"-A", Chain}, rule...) }
	rules := [][]string{
		{"-N", Chain},
		// Decided connections first, by their conntrack mark: an allowed
		// connection (almost all traffic) costs one rule.
		a("-m", "connmark", "--mark", hex(markAllow), "-j", "RETURN"),
		a("-m", "connmark", "--mark", hex(markDrop), "-j", "DROP"),
		a("-m", "connmark", "--mark", hex(markThrottleBase)+"/"+hex(markMaskThrottle), "-j", "RETURN"),
		// A packet Weir just answered (NF_REPEAT with a mark) carries a
		// fresh verdict: save it to the connection, then apply it.
		a("-m", "mark", "!", "--mark", "0", "-j", "CONNMARK", "--save-mark"),
		a("-m", "mark", "--mark", hex(markDrop), "-j", "DROP"),
		a("-m", "mark", "!", "--mark", "0", "-j", "RETURN"),
	}
	for _, proto := range []string{"tcp", "udp"} {
		rules = append(rules, a(append([]string{"-p", proto, "-m", "mark", "--mark", "0",
			"-m", "connbytes", "--connbytes", "0:" + strconv.Itoa(n), "--connbytes-dir", "both",
			"--connbytes-mode", "packets"}, queue...)...))
	}
	rules = append(rules, []string{"-I", "FORWARD", "1", "-j", Chain})
	return rules
}

// Remove deletes the jump and the chain; it is safe to call when they are
// absent, and reports the first real failure.
func (r Rules) Remove() error {
	var first error
	for _, t := range r.tools() {
		for exec.Command(t, "-w", "-D", "FORWARD", "-j", Chain).Run() == nil {
		}
		exec.Command(t, "-w", "-F", Chain).Run()
		removeShapeChain(t)
		if out, err := exec.Command(t, "-w", "-X", Chain).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "No chain") && !strings.Contains(string(out), "does not exist") && first == nil {
			first = fmt.Errorf("enforce: %s -X %s: %v: %s", t, Chain, err, strings.TrimSpace(string(out)))
		}
	}
	return first
}
