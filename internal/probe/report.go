package probe

// The report format. JSON keys follow OONI's where a concept matches
// (input, test_keys, queries, tcp_connect, tls_handshakes, requests,
// failure, t); docs/probe.md documents every key. Types here carry data
// only.

// DataFormatVersion is bumped on any incompatible change of the report.
const DataFormatVersion = "weir-probe/1"

// Verdict is the outcome for one target.
type Verdict string

// The closed set of verdicts. Precedence when several apply follows the
// order of the steps: DNS, TCP, TLS, HTTP, QUIC, throughput.
const (
	Accessible    Verdict = "accessible"
	DNSBlocked    Verdict = "dns-blocked"
	TCPBlocked    Verdict = "tcp-blocked"
	TLSSNIBlocked Verdict = "tls-sni-blocked"
	HTTPBlocked   Verdict = "http-blocked"
	QUICBlocked   Verdict = "quic-blocked"
	Throttled     Verdict = "throttled"
	Inconclusive  Verdict = "inconclusive"
)

// Attribution says who the evidence points at.
type Attribution string

const (
	// ByWeir: a Weir marker (internal/marker) was seen.
	ByWeir Attribution = "weir"
	// Unmarked: interference with no Weir marker (another censor, or a
	// Weir-like box that does not announce itself).
	Unmarked Attribution = "unmarked"
	// ByNone: no interference found (or none could be shown).
	ByNone Attribution = "none"
)

// Report is the whole output of one `weir probe` run.
type Report struct {
	DataFormatVersion string         `json:"data_format_version"`
	SoftwareName      string         `json:"software_name"`
	SoftwareVersion   string         `json:"software_version"`
	TestName          string         `json:"test_name"`
	TestStartTime     string         `json:"test_start_time"`
	TestRuntime       float64        `json:"test_runtime"`
	Probe             ProbeInfo      `json:"probe"`
	Control           ControlInfo    `json:"control"`
	Measurements      []*Measurement `json:"measurements"`
	Summary           map[string]int `json:"summary"` // verdict -> count
}

// ProbeInfo describes how the probe ran.
type ProbeInfo struct {
	Resolver       string  `json:"resolver"`
	ResolverSource string  `json:"resolver_source"` // "flag", "resolv.conf", "go"
	Timeout        float64 `json:"timeout"`         // seconds per step
	Parallel       int     `json:"parallel"`
	Sniffer        string  `json:"sniffer"` // "af_packet" or why none
	DuplicateWait  float64 `json:"dns_duplicate_wait"`
	MinRate        float64 `json:"min_rate,omitempty"`
	ThrottleRatio  float64 `json:"throttle_ratio"`
	SampleBytes    int64   `json:"sample_bytes"`
	SampleTime     float64 `json:"sample_time"`
}

// ControlInfo names the control, if any.
type ControlInfo struct {
	URL     string `json:"url,omitempty"`
	Version string `json:"version,omitempty"`
	Used    bool   `json:"used"`
}

// Measurement is one target's result.
type Measurement struct {
	Input                string      `json:"input"`
	URL                  string      `json:"url"`
	Category             string      `json:"category_code,omitempty"`
	MeasurementStartTime string      `json:"measurement_start_time"`
	TestRuntime          float64     `json:"test_runtime"`
	Verdict              Verdict     `json:"verdict"`
	Attribution          Attribution `json:"attribution"`
	Evidence             []string    `json:"evidence"`
	Notes                []string    `json:"notes,omitempty"`
	TestKeys             TestKeys    `json:"test_keys"`
}

// TestKeys holds the raw step results, OONI test_keys style.
type TestKeys struct {
	Queries        []DNSQuery       `json:"queries"`
	DNSFailure     string           `json:"dns_experiment_failure,omitempty"`
	Addrs          []string         `json:"addrs"`
	TCPConnect     []TCPConnect     `json:"tcp_connect"`
	TLSHandshakes  []TLSHandshake   `json:"tls_handshakes"`
	Requests       []HTTPRequest    `json:"requests"`
	QUICHandshakes []QUICHandshake  `json:"quic_handshakes"`
	Throughput     *Throughput      `json:"throughput,omitempty"`
	Control        *ControlResponse `json:"control,omitempty"`
	ControlFailure string           `json:"control_failure,omitempty"`
}

// DNSQuery is one question and every response seen for it.
type DNSQuery struct {
	Hostname        string        `json:"hostname"`
	QueryType       string        `json:"query_type"`
	ResolverAddress string        `json:"resolver_address"`
	Engine          string        `json:"engine"` // "udp", "tcp", "go"
	Failure         string        `json:"failure,omitempty"`
	T               float64       `json:"t"`
	Responses       []DNSResponse `json:"responses"`
	// Duplicate is true when more than one response arrived for the
	// query and they differ: on-path injection evidence.
	Duplicate bool `json:"x_dns_duplicate_response"`
}

// DNSResponse is one answer to a query, with its arrival time.
type DNSResponse struct {
	T       float64  `json:"t"` // seconds since the query was sent
	Rcode   string   `json:"rcode"`
	Answers []string `json:"answers"` // "A 10.0.0.1", "CNAME x.test."
	Addrs   []string `json:"addrs,omitempty"`
	EDE     []EDE    `json:"ede,omitempty"`
	TTL     int      `json:"ip_ttl,omitempty"` // from the sniffer, when known
	IPID    *int     `json:"ip_id,omitempty"`
}

// EDE is an Extended DNS Error option (RFC 8914).
type EDE struct {
	InfoCode   uint16 `json:"info_code"`
	ExtraText  string `json:"extra_text,omitempty"`
	WeirRule   string `json:"weir_rule,omitempty"`
	WeirNotice string `json:"weir_notice,omitempty"`
	Weir       bool   `json:"weir"`
}

// TCPConnect is one connect attempt.
type TCPConnect struct {
	IP      string         `json:"ip"`
	Port    int            `json:"port"`
	Failure string         `json:"failure,omitempty"`
	T       float64        `json:"t"`
	Reset   *ResetEvidence `json:"reset,omitempty"`
}

// ResetEvidence is what the sniffer saw of a failed connection.
type ResetEvidence struct {
	SynAckTTL  int    `json:"synack_ttl,omitempty"`
	SynAckIPID *int   `json:"synack_ip_id,omitempty"`
	TTL        int    `json:"ttl,omitempty"`
	IPID       *int   `json:"ip_id,omitempty"`
	Payload    string `json:"payload,omitempty"`
	Kind       string `json:"kind"` // "rst", "icmp"
	WeirRule   string `json:"weir_rule,omitempty"`
	WeirNotice string `json:"weir_notice,omitempty"`
	Weir       bool   `json:"weir"`
	// Injected is true when TTL or IP ID differ from the server's SYN-ACK
	// in a way the server cannot explain: someone else sent the packet.
	Injected bool   `json:"injected"`
	Why      string `json:"why,omitempty"`
}

// TLSHandshake is one handshake.
type TLSHandshake struct {
	Address            string         `json:"address"`
	ServerName         string         `json:"server_name"`
	Failure            string         `json:"failure,omitempty"`
	T                  float64        `json:"t"`
	TLSVersion         string         `json:"tls_version,omitempty"`
	CipherSuite        string         `json:"cipher_suite,omitempty"`
	NegotiatedProtocol string         `json:"negotiated_protocol,omitempty"`
	PeerSubject        string         `json:"peer_certificate_subject,omitempty"`
	Reset              *ResetEvidence `json:"reset,omitempty"`
}

// HTTPRequest is the GET and its response.
type HTTPRequest struct {
	URL        string              `json:"url"`
	Address    string              `json:"address"`
	Failure    string              `json:"failure,omitempty"`
	T          float64             `json:"t"`
	StatusCode int                 `json:"status_code,omitempty"`
	Proto      string              `json:"proto,omitempty"`
	Headers    map[string][]string `json:"headers,omitempty"`
	Title      string              `json:"title,omitempty"`
	BodyLength int64               `json:"body_length"`
	BlockedBy  string              `json:"blocked_by,omitempty"` // Link rel="blocked-by" URL
	WeirRule   string              `json:"weir_rule,omitempty"`  // marker.RuleHeader
	Reset      *ResetEvidence      `json:"reset,omitempty"`
}

// QUICHandshake is one QUIC handshake (ALPN h3).
type QUICHandshake struct {
	Address    string         `json:"address"`
	ServerName string         `json:"server_name"`
	Failure    string         `json:"failure,omitempty"`
	T          float64        `json:"t"`
	ICMP       *ResetEvidence `json:"icmp,omitempty"`
}

// Throughput is a download sample.
type Throughput struct {
	URL      string  `json:"url"`
	Address  string  `json:"address"`
	Failure  string  `json:"failure,omitempty"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"bytes_per_second"`
	Complete bool    `json:"complete"` // the body ended before the caps
	// Valid is true when the sample is big or long enough to say anything
	// about the path's rate (not just its latency).
	Valid bool `json:"valid"`
	// DSCP is what the sniffer saw of the sample's incoming data packets;
	// nil without a sniffer.
	DSCP *DSCPEvidence `json:"dscp,omitempty"`
}

// DSCPEvidence counts the DSCP values (IPv4 TOS / IPv6 traffic class,
// upper 6 bits) on the data packets one connection received. Weir marks
// every packet of a connection it throttles with marker.ThrottleDSCP
// (Lower Effort, RFC 8622).
type DSCPEvidence struct {
	Packets     int   `json:"packets"`      // data packets seen (TCP payload > 0)
	LowerEffort int   `json:"lower_effort"` // of them, marked marker.ThrottleDSCP
	Values      []int `json:"values"`       // distinct DSCP values, in order seen (at most 8)
	// Weir is true when most data packets carry Weir's throttle marker.
	Weir bool `json:"weir"`
}
