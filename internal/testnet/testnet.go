package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Fixed addresses. They exist only inside the namespaces a Net creates, so
// every Net uses the same ones; tests and policies can name them as constants.
// The client side matches the campus prefixes of the example policy.
var (
	ClientIP4       = netip.MustParseAddr("10.200.1.2")
	ClientIP6       = netip.MustParseAddr("fd00:200:1::2")
	RouterClientIP4 = netip.MustParseAddr("10.200.1.1")
	RouterClientIP6 = netip.MustParseAddr("fd00:200:1::1")
	RouterServerIP4 = netip.MustParseAddr("10.200.2.1")
	RouterServerIP6 = netip.MustParseAddr("fd00:200:2::1")
	ServerIP4       = netip.MustParseAddr("10.200.2.2")
	ServerIP6       = netip.MustParseAddr("fd00:200:2::2")
	// Server2IP4 and Server2IP6 are added to the server only WithSecondServer.
	Server2IP4 = netip.MustParseAddr("10.200.2.3")
	Server2IP6 = netip.MustParseAddr("fd00:200:2::3")

	ClientPrefix4 = netip.MustParsePrefix("10.200.1.0/24")
	ClientPrefix6 = netip.MustParsePrefix("fd00:200:1::/64")
	ServerPrefix4 = netip.MustParsePrefix("10.200.2.0/24")
	ServerPrefix6 = netip.MustParsePrefix("fd00:200:2::/64")
)

// Interface names. They only ever exist inside the test namespaces (the veths
// are created directly there), so fixed names cannot collide between tests.
const (
	ClientIf       = "eth0"      // in the client namespace
	RouterClientIf = "to-client" // in the router namespace, faces the client
	RouterServerIf = "to-server" // in the router namespace, faces the server
	ServerIf       = "eth0"      // in the server namespace
)

// DefaultNames are the host names every Net knows: they are in the
// generated certificate and the DNS server answers them (like any other
// *.test name) with the server's addresses.
var DefaultNames = []string{
	"allowed.test", "blocked.test", "www.blocked.test", "casino-royal.test",
	"server.test", "quic.test",
}

const nsPrefix = "wt" // every namespace name starts with wt<pid>-

var nsCounter atomic.Int64

// Net is one client <-> router <-> server topology. Its methods may be
// called from several goroutines.
type Net struct {
	t testing.TB

	// Namespace names, for Run, Start, Go, StartCapture, or `ip netns exec`.
	Client, Router, Server string

	// Names holds every host name in the certificate; Names2 the subset
	// that resolves to the second server address.
	Names, Names2 []string

	cmdTimeout time.Duration
	second     bool
	offloads   bool   // keep the veths' offloads (TSO/GSO/checksum) on
	dir        string // per-Net temp dir (certs, configs, outputs)
	etcDir     string // /etc/netns/<client>, bind-mounted by ip netns exec

	certOnce sync.Once
	certs    *Certs
	certErr  error

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

// Option configures New.
type Option func(*Net)

// WithSecondServer adds Server2IP4/Server2IP6 to the server interface; the
// given names (added to the certificate) resolve to those addresses.
func WithSecondServer(names ...string) Option {
	return func(n *Net) {
		n.second = true
		n.Names2 = append(n.Names2, names...)
		n.Names = append(n.Names, names...)
	}
}

// WithNames adds host names to the certificate (DNS answers any *.test name
// anyway).
func WithNames(names ...string) Option {
	return func(n *Net) { n.Names = append(n.Names, names...) }
}

// WithOffloads keeps the veths' default offloads (TSO, GSO, checksum
// offload) on, as on a router whose NICs aggregate segments: the router
// then forwards 64 KiB super-packets. Captures in such a Net show partial
// checksums; the inline path still sees whole, checksummed segments
// (NFQUEUE segments GSO packets for a queue without the GSO flag).
func WithOffloads() Option {
	return func(n *Net) { n.offloads = true }
}

// WithTimeout sets the limit of every Run and client helper (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(n *Net) { n.cmdTimeout = d }
}

// New builds the topology or skips the test when the machine cannot (not
// root, no `ip netns`). With CI=true it fails instead of skipping, so a CI
// machine that lost its privileges cannot pass by skipping everything.
func New(t testing.TB, opts ...Option) *Net {
	t.Helper()
	if msg := unsupported(); msg != "" {
		skipOrFail(t, msg)
	}
	reapStale()

	id := nsCounter.Add(1)
	base := fmt.Sprintf("%s%d-%d-%s", nsPrefix, os.Getpid(), id, shortName(t.Name()))
	n := &Net{
		t:          t,
		Client:     base + "-c",
		Router:     base + "-r",
		Server:     base + "-s",
		Names:      append([]string(nil), DefaultNames...),
		cmdTimeout: 30 * time.Second,
		dir:        t.TempDir(),
		etcDir:     filepath.Join("/etc/netns", base+"-c"),
	}
	for _, o := range opts {
		o(n)
	}
	start := time.Now()
	// Registered before the first namespace exists, so a half-built
	// topology is removed too.
	t.Cleanup(n.close)
	if err := n.setup(); err != nil {
		if strings.Contains(err.Error(), "netns add") {
			skipOrFail(t, "testnet: needs root and network namespaces (ip netns); skipping: "+err.Error())
		}
		t.Fatalf("testnet: %v", err)
	}
	t.Logf("testnet: topology %s up in %v", base, time.Since(start).Round(time.Millisecond))
	return n
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	t.Skip(msg)
}

func unsupported() string {
	const msg = "testnet: needs root and network namespaces (ip netns); skipping"
	if runtime.GOOS != "linux" {
		return msg + " (not linux)"
	}
	if os.Geteuid() != 0 {
		return msg + " (not root)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return msg + " (no ip command: apt-get install iproute2)"
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		return msg + " (ip netns list: " + strings.TrimSpace(string(out)) + ")"
	}
	return ""
}

// shortName keeps the namespace name readable in `ip netns list` while
// staying short: alphanumerics of the test name, at most 12.
func shortName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 12 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// reapStale deletes namespaces left by test processes that died before
// their cleanup ran (SIGKILL, timeout panic). Only namespaces whose creator
// pid is gone are touched, so parallel test binaries are safe.
func reapStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // alive (or not ours to judge)
		}
		killNetnsPids(name)
		_ = exec.Command("ip", "netns", "del", name).Run()
		if strings.HasSuffix(name, "-c") {
			_ = os.RemoveAll(filepath.Join("/etc/netns", name))
		}
	}
}

func (n *Net) ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (n *Net) setup() error {
	for _, ns := range []string{n.Client, n.Router, n.Server} {
		if err := n.ip("netns", "add", ns); err != nil {
			return err
		}
	}
	// Name resolution inside the client: ip netns exec bind-mounts
	// /etc/netns/<ns>/* over /etc, so curl & co. ask our DNS server.
	if err := os.MkdirAll(n.etcDir, 0o755); err != nil {
		return err
	}
	resolv := fmt.Sprintf("nameserver %s\nnameserver %s\noptions timeout:1 attempts:1\n", ServerIP4, ServerIP6)
	hosts := "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
	// Some libraries (curl's dependencies among them) look up the machine's
	// own host name at start; without this line that costs a DNS timeout.
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts += "127.0.1.1 " + h + "\n"
	}
	if err := os.WriteFile(filepath.Join(n.etcDir, "resolv.conf"), []byte(resolv), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.etcDir, "hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}

	r, c, s := n.Router, n.Client, n.Server
	// One `ip -batch` per namespace instead of ~25 ip processes: setup time
	// is paid by every enforcement test.
	router := []string{
		// veths are born inside the namespaces: nothing appears on the host.
		"link add " + RouterClientIf + " type veth peer name " + ClientIf + " netns " + c,
		"link add " + RouterServerIf + " type veth peer name " + ServerIf + " netns " + s,
		"link set lo up",
		"addr add " + RouterClientIP4.String() + "/24 dev " + RouterClientIf,
		"addr add " + RouterClientIP6.String() + "/64 dev " + RouterClientIf + " nodad",
		"addr add " + RouterServerIP4.String() + "/24 dev " + RouterServerIf,
		"addr add " + RouterServerIP6.String() + "/64 dev " + RouterServerIf + " nodad",
		"link set " + RouterClientIf + " up",
		"link set " + RouterServerIf + " up",
	}
	client := []string{
		"link set lo up",
		"addr add " + ClientIP4.String() + "/24 dev " + ClientIf,
		"addr add " + ClientIP6.String() + "/64 dev " + ClientIf + " nodad",
		"link set " + ClientIf + " up",
		"route add default via " + RouterClientIP4.String(),
		"route add ::/0 via " + RouterClientIP6.String(),
	}
	server := []string{
		"link set lo up",
		"addr add " + ServerIP4.String() + "/24 dev " + ServerIf,
		"addr add " + ServerIP6.String() + "/64 dev " + ServerIf + " nodad",
	}
	if n.second {
		server = append(server,
			"addr add "+Server2IP4.String()+"/24 dev "+ServerIf,
			"addr add "+Server2IP6.String()+"/64 dev "+ServerIf+" nodad")
	}
	server = append(server,
		"link set "+ServerIf+" up",
		"route add default via "+RouterServerIP4.String(),
		"route add ::/0 via "+RouterServerIP6.String(),
	)
	// No duplicate address detection: a tentative link-local address
	// cannot send neighbor solicitations, which cost the first IPv6
	// connection a lost SYN (1 s). Set before any veth exists so the
	// interfaces inherit it.
	for _, ns := range []string{r, c, s} {
		if _, _, err := n.Run(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"); err != nil {
			return fmt.Errorf("ipv6 dad off: %w", err)
		}
	}
	for _, b := range []struct {
		ns    string
		lines []string
	}{{r, router}, {c, client}, {s, server}} {
		if err := n.ipBatch(b.ns, b.lines); err != nil {
			return err
		}
	}
	// Offloads off: veths otherwise hand over packets with partial checksums
	// and 64 KiB super-packets, which a userspace verdict path and captures
	// must never see (see notes/inline-linux.md).
	const off = " tx off tso off gso off gro off"
	scripts := []struct{ ns, sh string }{
		{r, "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && " +
			"ethtool -K " + RouterClientIf + off + " && ethtool -K " + RouterServerIf + off},
		{c, "ethtool -K " + ClientIf + off},
		{s, "ethtool -K " + ServerIf + off},
	}
	if n.offloads {
		scripts = scripts[:1]
		scripts[0].sh = "sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"
	}
	for _, sc := range scripts {
		if _, _, err := n.Run(sc.ns, "sh", "-c", sc.sh); err != nil {
			return fmt.Errorf("forwarding/offloads: %w", err)
		}
	}
	return nil
}

// ipBatch runs `ip -n ns -batch -` with one command per line.
func (n *Net) ipBatch(ns string, lines []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// close kills every process in the namespaces and deletes them. It runs in
// t.Cleanup, whether the test passed or not.
func (n *Net) close() {
	n.mu.Lock()
	n.closed = true
	procs := n.procs
	n.procs = nil
	n.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
	for _, ns := range []string{n.Client, n.Router, n.Server} {
		killNetnsPids(ns)
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			if err := n.ip("netns", "del", ns); err != nil {
				n.t.Errorf("testnet: cleanup: %v", err)
			}
		}
	}
	_ = os.RemoveAll(n.etcDir)
}

// killNetnsPids SIGKILLs whatever still runs in ns: daemons that forked
// away from the Proc we started (nginx workers, sshd children).
func killNetnsPids(ns string) {
	for range 3 {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			return
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Dir is a temporary directory that lives as long as the Net.
func (n *Net) Dir() string { return n.dir }

// Run executes name inside namespace ns (via ip netns exec) and waits for
// it, at most the Net's timeout. err carries the exit status and stderr.
func (n *Net) Run(ns, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cmdTimeout)
	defer cancel()
	return n.RunContext(ctx, ns, name, args...)
}

// RunContext is Run with the caller's deadline.
func (n *Net) RunContext(ctx context.Context, ns, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("testnet: %s in %s: %w (%v)", name, ns, ctx.Err(), err)
		} else {
			err = fmt.Errorf("testnet: %s in %s: %w: %s", name, ns, err, strings.TrimSpace(lastLines(e.String(), 5)))
		}
	}
	return o.String(), e.String(), err
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// Proc is a background process started by Start. Its output is captured.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  syncBuffer
	err  syncBuffer
	done chan struct{}
	werr error
	stop sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs name in namespace ns in the background. The process is killed
// by Stop or, at the latest, when the Net is cleaned up.
func (n *Net) Start(ns, name string, args ...string) *Proc {
	n.t.Helper()
	p := &Proc{Name: name, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A daemon child keeps our stdout pipe open; do not wait for it.
	p.cmd.WaitDelay = time.Second
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		n.t.Fatalf("testnet: Start(%s) after cleanup", name)
	}
	if err := p.cmd.Start(); err != nil {
		n.t.Fatalf("testnet: start %s in %s: %v", name, ns, err)
	}
	go func() {
		p.werr = p.cmd.Wait()
		close(p.done)
	}()
	n.procs = append(n.procs, p)
	return p
}

// Stdout returns what the process printed so far.
func (p *Proc) Stdout() string { return p.out.String() }

// Stderr returns what the process printed to stderr so far.
func (p *Proc) Stderr() string { return p.err.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit, at most d; it returns its exit error
// or a timeout error (the process keeps running then).
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.werr
	case <-time.After(d):
		return fmt.Errorf("testnet: %s still running after %v", p.Name, d)
	}
}

// Stop sends SIGTERM to the process group, SIGKILL after 3 s, and returns
// the exit error. Safe to call more than once.
func (p *Proc) Stop() error {
	p.stop.Do(func() {
		pid := p.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p.werr
}

// signal sends sig to the process group (tcpdump wants SIGINT to flush).
func (p *Proc) signal(sig syscall.Signal) { _ = syscall.Kill(-p.cmd.Process.Pid, sig) }

// Go runs fn on an OS thread switched into namespace ns and waits for it.
// Sockets fn creates (net.Listen, net.ListenUDP, net.Dial) belong to ns for
// their whole life, so serving them from other goroutines afterwards is fine;
// goroutines started by fn itself do NOT run in ns.
func (n *Net) Go(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread when switching back fails: the goroutine exit
		// then takes the tainted thread down with it.
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testnet: current netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testnet: netns %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("testnet: enter %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("testnet: leave %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
