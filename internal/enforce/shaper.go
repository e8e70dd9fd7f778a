package enforce

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/weirnet/weir/internal/marker"
)

// Shaper throttles marked connections with an HTB qdisc on each shaped
// device: one class per throttle key (a rule for per: group, a flow for
// per: flow). Packets reach their class through skb->priority, set from the
// packet's mark (given by Weir's nftables map of throttled flows) by an
// iptables CLASSIFY rule in the mangle table's
// POSTROUTING hook (chain WEIRSHAPE): these kernels build neither tc's fw
// classifier nor u32's mark match. Each device shapes the traffic leaving
// through it, so a router shaping both its client- and server-facing
// devices limits each direction to the rate.
type Shaper struct {
	mu      sync.Mutex
	devs    []string
	tools   []string          // iptables, ip6tables
	classes map[string]uint32 // key -> mark
	free    []uint32
}

// maxClasses is how many throttle classes may exist at once (the mark's
// low byte).
const maxClasses = 256

const htbHandle = "57"

// NewShaper installs the root HTB qdisc on every device (replacing what was
// there; Close restores the default).
func NewShaper(devs []string, ipv6 bool) (*Shaper, error) {
	s := &Shaper{devs: devs, classes: map[string]uint32{}, tools: []string{"iptables"}}
	if ipv6 {
		s.tools = append(s.tools, "ip6tables")
	}
	for _, t := range s.tools {
		removeShapeChain(t)
		if err := ipt(t, "-t", "mangle", "-N", ShapeChain); err != nil {
			s.Close()
			return nil, err
		}
		if err := ipt(t, "-t", "mangle", "-A", "POSTROUTING", "-j", ShapeChain); err != nil {
			s.Close()
			return nil, err
		}
		// Throttled traffic announces itself too: DSCP Lower Effort
		// (RFC 8622), visible to anyone who looks at the packets.
		if err := ipt(t, "-t", "mangle", "-A", ShapeChain, "-m", "mark", "--mark",
			"0x"+strconv.FormatUint(uint64(markThrottleBase), 16)+"/0x"+strconv.FormatUint(uint64(markMaskThrottle), 16),
			"-j", "DSCP", "--set-dscp", strconv.Itoa(ThrottleDSCP)); err != nil {
			s.Close()
			return nil, err
		}
	}
	for i := maxClasses - 1; i >= 0; i-- {
		s.free = append(s.free, markThrottleBase+uint32(i))
	}
	for _, d := range devs {
		if err := tc("qdisc", "replace", "dev", d, "root", "handle", htbHandle+":", "htb", "default", "1"); err != nil {
			s.Close()
			return nil, err
		}
		// Unthrottled traffic: a default class with no practical limit.
		if err := tc("class", "replace", "dev", d, "parent", htbHandle+":", "classid", htbHandle+":1", "htb", "rate", "10gbit", "burst", "1m", "cburst", "1m"); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func classID(mark uint32) string {
	return htbHandle + ":" + strconv.FormatUint(uint64(mark-markThrottleBase+0x10), 16)
}

// ThrottleDSCP is the DSCP Weir writes on every packet of a throttled
// connection: LE, Lower Effort (RFC 8622). See docs/markers.md.
const ThrottleDSCP = marker.ThrottleDSCP

// ShapeChain is the mangle-table chain that maps throttle marks to classes.
const ShapeChain = "WEIRSHAPE"

func classifyRule(op string, m uint32) []string {
	return []string{"-t", "mangle", op, ShapeChain, "-m", "mark", "--mark", "0x" + strconv.FormatUint(uint64(m), 16) + "/0xffff",
		"-j", "CLASSIFY", "--set-class", classID(m)}
}

func removeShapeChain(tool string) {
	for ipt(tool, "-t", "mangle", "-D", "POSTROUTING", "-j", ShapeChain) == nil {
	}
	ipt(tool, "-t", "mangle", "-F", ShapeChain)
	ipt(tool, "-t", "mangle", "-X", ShapeChain)
}

func ipt(tool string, args ...string) error {
	out, err := exec.Command(tool, append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("enforce: %s %s: %v: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Class returns the mark for key, creating its class at rateBits (bits per
// second) on first use.
func (s *Shaper) Class(key string, rateBits uint64) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.classes[key]; ok {
		return m, nil
	}
	if len(s.free) == 0 {
		return 0, fmt.Errorf("enforce: all %d throttle classes in use", maxClasses)
	}
	m := s.free[len(s.free)-1]
	rate := strconv.FormatUint(max(rateBits, 8000), 10) + "bit"
	// A burst of a few packets keeps TCP's rate close to the configured
	// one without letting it exceed it for long.
	burst := strconv.FormatUint(max(rateBits/8/50, 3200), 10) // ~20 ms of traffic, at least two full frames
	for _, d := range s.devs {
		if err := tc("class", "replace", "dev", d, "parent", htbHandle+":", "classid", classID(m),
			"htb", "rate", rate, "ceil", rate, "burst", burst, "cburst", burst); err != nil {
			return 0, err
		}
	}
	for _, t := range s.tools {
		if err := ipt(t, classifyRule("-A", m)...); err != nil {
			return 0, err
		}
	}
	s.free = s.free[:len(s.free)-1]
	s.classes[key] = m
	return m, nil
}

// Release removes key's class (per-flow classes, when the flow ends).
func (s *Shaper) Release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.classes[key]
	if !ok {
		return
	}
	for _, t := range s.tools {
		ipt(t, classifyRule("-D", m)...)
	}
	for _, d := range s.devs {
		tc("class", "del", "dev", d, "classid", classID(m))
	}
	delete(s.classes, key)
	s.free = append(s.free, m)
}

// Close removes the qdiscs and the CLASSIFY chain.
func (s *Shaper) Close() error {
	for _, t := range s.tools {
		removeShapeChain(t)
	}
	var first error
	for _, d := range s.devs {
		if err := tc("qdisc", "del", "dev", d, "root", "handle", htbHandle+":"); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func tc(args ...string) error {
	out, err := exec.Command("tc", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("enforce: tc %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
