package enforce

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Chain is the name of the iptables chain earlier versions installed;
// Installed and Remove still look for it.
const Chain = "WEIR"

// ErrStale means Weir's chain is already installed: another Weir runs, or
// one died without cleaning up.
var ErrStale = errors.New("enforce: Weir's netfilter rules are already installed (another weir run, or a stale set left by one that died); run `weir run --cleanup` to remove them")

// Table is the name of Weir's native nftables table (inet family): the sets
// of decided flows.
const Table = "weir"

// Rules describes the netfilter rules Weir installs.
//
// Decided flows live in nftables sets keyed by their 5-tuple (both
// directions), filled by Weir: one forward-hook chain marks allowed packets,
// drops dropped ones, gives throttled ones their class's mark, and sends
// the packets of undecided TCP and UDP flows to NFQUEUE, all without
// connection tracking (which alone costs ~14% of forwarding on these
// machines, docs/benchmarks.md).
type Rules struct {
	Queue      uint16
	FailClosed bool
	IPv6       bool
	// SetTimeout bounds how long a decided flow stays in the sets without
	// Weir refreshing it (default DefaultSetTimeout). A flow that outlives
	// it is queued again; Weir, which still tracks it, answers from its
	// table at once and publishes it again.
	SetTimeout time.Duration
}

// DefaultSetTimeout is Rules.SetTimeout's default. It must stay below the
// idle timeouts of weir run's flow table (TCP 1 h, UDP 10 min): Weir sees
// no packet of a flow while the kernel handles it, and must still know the
// flow when its element expires and its packets come back.
const DefaultSetTimeout = 2 * time.Minute

func (r Rules) tools() []string {
	if r.IPv6 {
		return []string{"iptables", "ip6tables"}
	}
	return []string{"iptables"}
}

// Installed reports whether Weir's table (or an old chain) exists.
func (r Rules) Installed() bool {
	for _, t := range r.tools() {
		if exec.Command(t, "-w", "-n", "-L", Chain).Run() == nil {
			return true
		}
	}
	return exec.Command("nft", "list", "table", "inet", Table).Run() == nil
}

func nftScript(timeout time.Duration) string {
	if timeout <= 0 {
		timeout = DefaultSetTimeout
	}
	setTimeout := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10) + "ms"
	key4 := "ipv4_addr . ipv4_addr . inet_proto . inet_service . inet_service"
	key6 := "ipv6_addr . ipv6_addr . inet_proto . inet_service . inet_service"
	tuple4 := "ip saddr . ip daddr . meta l4proto . th sport . th dport"
	tuple6 := "ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport"
	var b strings.Builder
	b.WriteString("table inet " + Table + " {\n")
	for _, set := range []struct{ name, key string }{
		{"allow4", key4}, {"allow6", key6}, {"drop4", key4}, {"drop6", key6},
	} {
		b.WriteString("\tset " + set.name + " { type " + set.key + "; flags timeout; timeout " + setTimeout + "; counter; }\n")
	}
	// Per-element counters: what the kernel forwards for a decided flow
	// reaches its record (counters.go).
	b.WriteString("\tmap shape4 { type " + key4 + " : mark; flags timeout; timeout " + setTimeout + "; counter; }\n")
	b.WriteString("\tmap shape6 { type " + key6 + " : mark; flags timeout; timeout " + setTimeout + "; counter; }\n")
	// The keys carry the L4 protocol, so no rule needs to test it first:
	// a packet that is neither TCP nor UDP builds a key that matches no
	// element. Allowed packets, the bulk, leave at the first lookup.
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority -5; policy accept;\n")
	b.WriteString("\t\t" + tuple4 + " @allow4 accept\n")
	b.WriteString("\t\t" + tuple6 + " @allow6 accept\n")
	b.WriteString("\t\t" + tuple4 + " @drop4 drop\n")
	b.WriteString("\t\t" + tuple6 + " @drop6 drop\n")
	b.WriteString("\t\tmeta mark set " + tuple4 + " map @shape4\n")
	b.WriteString("\t\tmeta mark set " + tuple6 + " map @shape6\n")
	b.WriteString("\t}\n}\n")
	return b.String()
}

// Install adds Weir's nftables table: the sets, the chain that applies
// them and the rules that queue the rest. It refuses to run over an
// existing installation.
func (r Rules) Install() error {
	if r.Installed() {
		return ErrStale
	}
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(nftScript(r.SetTimeout))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("enforce: nft -f: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if err := addQueueRules(r.Queue, !r.FailClosed); err != nil {
		r.Remove()
		return err
	}
	return nil
}

// legacyJump is the FORWARD rule of the iptables chain earlier versions
// installed; Remove still cleans it up after an old run.
var legacyJump = []string{"-m", "mark", "--mark", "0", "-j", Chain}

// Remove deletes the jump, the chains and the table; it is safe to call when
// they are absent, and reports the first real failure.
func (r Rules) Remove() error {
	var first error
	for _, t := range r.tools() {
		for exec.Command(t, append([]string{"-w", "-D", "FORWARD"}, legacyJump...)...).Run() == nil {
		}
		for exec.Command(t, "-w", "-D", "FORWARD", "-j", Chain).Run() == nil {
		}
		exec.Command(t, "-w", "-F", Chain).Run()
		removeShapeChain(t)
		if out, err := exec.Command(t, "-w", "-X", Chain).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "No chain") && !strings.Contains(string(out), "does not exist") && first == nil {
			first = fmt.Errorf("enforce: %s -X %s: %v: %s", t, Chain, err, strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.Command("nft", "delete", "table", "inet", Table).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "No such file") && first == nil {
		first = fmt.Errorf("enforce: nft delete table inet %s: %v: %s", Table, err, strings.TrimSpace(string(out)))
	}
	return first
}
