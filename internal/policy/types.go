package policy

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/weirnet/weir/internal/dissect"
)

// Verdict is what the datapath does with a flow. The set is closed.
type Verdict uint8

const (
	Allow    Verdict = iota // forward untouched
	Block                   // answer the client: TCP RST plus RFC 7725 notice for HTTP, NXDOMAIN/sinkhole for DNS
	Drop                    // discard silently
	Reset                   // TCP RST both ways (ICMP unreachable for UDP)
	Throttle                // forward through a token bucket, see Rule.Rate and Rule.Per
	numVerdicts
)

var verdictNames = [numVerdicts]string{"allow", "block", "drop", "reset", "throttle"}

// String returns the lower-case policy keyword ("allow", "block", ...).
func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Catalog answers which application and category names exist. The classifier
// owns the real one; tests use a small fake. A nil Catalog disables the check.
type Catalog interface {
	HasApp(id string) bool
	HasCategory(name string) bool
	AppNames() []string
}

// Input is what the engine knows about a flow when it asks for a verdict.
// Strings are read during Evaluate only and never retained.
type Input struct {
	App      string // catalog application id, "" when unknown
	Category string // catalog category name, "" when unknown
	Protocol dissect.Proto
	Host     string // HTTP Host or other best-known name, without port
	SNI      string // TLS/QUIC server_name
	DNSQName string // DNS question name
	Client   netip.Addr
	Server   netip.Addr
	// ServerPort is the server's L4 port (0 for ICMP and others).
	ServerPort uint16
	// L4 is the IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
	L4 uint8
	// Time is the clock for `when` schedules; the zero Time means time.Now().
	// Tests and dry runs inject it here.
	Time time.Time
}

// Why explains a verdict: which rule decided, and on which field.
type Why struct {
	Rule  int    // index in Rules(), -1 for the default
	Name  string // rule name, "" for the default
	Field string // match field reported, "" when the rule matches everything
	Value string // the flow's value (app, host) or the rule's text (CIDR, port, keyword)
}

// String renders "rule block-social (app facebook)" or "default". It
// allocates; the datapath keeps the Why and formats it only when it logs.
func (w Why) String() string {
	if w.Rule < 0 {
		return "default"
	}
	s := "rule " + w.Name
	switch {
	case w.Field == "":
	case w.Value == "":
		s += " (" + w.Field + ")"
	default:
		s += " (" + w.Field + " " + w.Value + ")"
	}
	return s
}

// Per says how throttled flows share a token bucket.
type Per uint8

const (
	PerFlow  Per = iota // one bucket per flow
	PerGroup            // one bucket shared by every flow the rule matches
)

func (p Per) String() string {
	if p == PerGroup {
		return "group"
	}
	return "flow"
}

// Rule is the display form of one compiled rule, for `weir policy show` and
// for the datapath to read a throttle's rate once it has Why.Rule.
type Rule struct {
	Index  int
	Name   string
	Action Verdict
	Rate   uint64 // bits per second, Throttle only
	Per    Per    // Throttle only
	Line   int    // line of the rule in the source
	Match  string // one-line summary of match and when, as written
}

// BlockAnswer is how a blocked DNS query is answered.
type BlockAnswer uint8

const (
	AnswerNXDomain BlockAnswer = iota // NXDOMAIN with an Extended DNS Error
	AnswerSinkhole                    // A/AAAA pointing at the sinkhole addresses
)

func (b BlockAnswer) String() string {
	if b == AnswerSinkhole {
		return "sinkhole"
	}
	return "nxdomain"
}

// DNS is the compiled dns: section.
type DNS struct {
	BlockAnswer  BlockAnswer
	SinkholeA    netip.Addr // valid only with AnswerSinkhole (may be zero if only AAAA given)
	SinkholeAAAA netip.Addr
	EDE          uint16 // RFC 8914 info code: 15 Blocked, 16 Censored, 17 Filtered
	EDEText      string
	TTL          uint32 // seconds, for synthesized answers
}
