package ndpi

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Flow is one flow line of an .out file. A is the endpoint printed first
// (nDPI's "source"), B the second.
type Flow struct {
	L4         string // "TCP", "UDP", "ICMP", "ICMPV6", "IGMP", "ESP", ...
	A, B       netip.AddrPort
	VLAN       uint16
	Tunnel     string // "GTP", "VXLAN", "GRE", ... or ""
	Master     string // "TLS"
	App        string // "Facebook", or "" when the label has one part
	Label      string // "TLS.Facebook"
	Confidence string // "DPI", "Match by port", "DNS", ...
	APackets   uint64 // A -> B
	ABytes     uint64
	BPackets   uint64
	BBytes     uint64
	Host       string // [Hostname/SNI: ...]
	ALPN       string // [(Advertised) ALPNs: ...]
	JA4        string
	JA3        string
	QUICVer    string
	Undetected bool // listed after "Undetected flows:"
	// BadEndpoint: nDPI printed an address that does not parse.
	BadEndpoint bool
}

// ReadFile parses the flow lines of one .out file.
func ReadFile(path string) ([]Flow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read parses flow lines from r; other lines are ignored.
func Read(r io.Reader) ([]Flow, error) {
	var flows []Flow
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	undetected := false
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "Undetected flows:") {
			undetected = true
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		fl, ok, err := parseLine(strings.TrimLeft(line, "\t "))
		if err != nil {
			return flows, fmt.Errorf("ndpi: line %d: %w", n, err)
		}
		if ok {
			fl.Undetected = undetected
			flows = append(flows, fl)
		}
	}
	return flows, sc.Err()
}

// parseLine parses "<n>\t<L4> <A> <-> <B> [k: v]...[p pkts/b bytes <-> ...]...".
func parseLine(s string) (f Flow, ok bool, err error) {
	num, rest, found := strings.Cut(s, "\t")
	if !found {
		return f, false, nil
	}
	if _, err := strconv.Atoi(num); err != nil {
		return f, false, nil
	}
	fields := strings.SplitN(rest, " ", 5)
	if len(fields) < 5 || (fields[2] != "<->" && fields[2] != "->") {
		return f, false, nil
	}
	f.L4 = fields[0]
	// nDPI occasionally prints an impossible IPv6 address ("::19::");
	// keep the flow, flagged, rather than guess what it meant.
	var errA, errB error
	f.A, errA = parseEndpoint(fields[1])
	f.B, errB = parseEndpoint(fields[3])
	f.BadEndpoint = errA != nil || errB != nil
	for _, br := range brackets(fields[4]) {
		key, val, hasKey := strings.Cut(br, ": ")
		if !hasKey {
			if strings.Contains(br, " pkts/") && strings.Contains(br, " bytes") {
				if err := f.parseCounts(br); err != nil {
					return f, false, err
				}
			}
			continue
		}
		switch key {
		case "VLAN":
			v, _ := strconv.Atoi(val)
			f.VLAN = uint16(v)
		case "proto":
			f.parseProto(val)
		case "Confidence":
			f.Confidence = val
		case "Hostname/SNI":
			f.Host = val
		case "(Advertised) ALPNs":
			f.ALPN = val
		case "JA4":
			f.JA4 = val
		case "JA3C":
			f.JA3 = val
		case "QUIC ver":
			f.QUICVer = val
		}
	}
	return f, true, nil
}

func (f *Flow) parseCounts(s string) error {
	sep := " <-> "
	if !strings.Contains(s, sep) {
		sep = " -> "
	}
	a, b, _ := strings.Cut(s, sep)
	var err error
	if f.APackets, f.ABytes, err = parsePB(a); err != nil {
		return err
	}
	f.BPackets, f.BBytes, err = parsePB(b)
	return err
}

func parsePB(s string) (p, b uint64, err error) {
	var ps, bs string
	if _, err = fmt.Sscanf(s, "%s pkts/%s bytes", &ps, &bs); err != nil {
		return 0, 0, fmt.Errorf("counts %q: %w", s, err)
	}
	if p, err = strconv.ParseUint(ps, 10, 64); err != nil {
		return
	}
	b, err = strconv.ParseUint(bs, 10, 64)
	return
}

// parseProto parses "VXLAN:91.119/TLS.Facebook" or "5/DNS".
func (f *Flow) parseProto(v string) {
	if i := strings.IndexByte(v, '/'); i >= 0 {
		head := v[:i]
		f.Label = v[i+1:]
		if t, _, ok := strings.Cut(head, ":"); ok {
			f.Tunnel = t
		}
	} else {
		f.Label = v
	}
	f.Master, f.App, _ = strings.Cut(f.Label, ".")
}

func parseEndpoint(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q", s)
	}
	a, err := netip.ParseAddr(strings.Trim(s[:i], "[]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	p, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// brackets splits "[a][b: c][d [e]]" into top-level bracket contents.
func brackets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ']':
			if depth > 0 {
				depth--
				if depth == 0 {
					out = append(out, s[start:i])
				}
			}
		}
	}
	return out
}
