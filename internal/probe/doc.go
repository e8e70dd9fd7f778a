// Package probe measures whether web targets are reachable from where it
// runs and, when they are not, how they are interfered with and by whom.
// It is the engine behind `weir probe` and `weir probe-control`.
//
// # Method
//
// Modelled on OONI's web_connectivity (docs/probe.md has the details):
// for every target the probe resolves the name (miekg/dns, so it sees
// every answer: rcode, records, Extended DNS Errors, and a late second
// answer to the same query, the trace of an on-path injector), connects
// to every address, runs a TLS handshake with the SNI, fetches the URL,
// tries a QUIC handshake and downloads a throughput sample. A control
// (Control, served by `weir probe-control` from an unfiltered vantage
// point) performs the same steps on request. Decide compares both and
// names a Verdict, an Attribution and the evidence behind them.
//
// Attribution "weir" is given only on markers defined in internal/marker
// (reset payload, IPv4 ID, 451 + Link rel="blocked-by", EDE text, DSCP
// Lower Effort on a throttled sample's packets): the
// probe and the enforcer share that package so they cannot drift apart.
// Attribution "unmarked" needs positive evidence of a third party: a
// reset whose TTL/IP ID differ from the server's SYN-ACK, a second DNS
// answer racing the first, or a failure where the control succeeds.
// Without a control the probe decides only what local evidence proves and
// says so in Measurement.Notes.
//
// # Operations
//
// Every step runs under a deadline derived from Config.Timeout, the whole
// target under a hard deadline, and targets run with bounded parallelism:
// a blackholed target costs time, never a hang. Reports contain a stable
// failure vocabulary (the Fail* constants), never raw Go error strings.
//
// When the process may open an AF_PACKET socket (root on Linux) a sniffer
// records the SYN-ACK, RST and ICMP packets of the probe's own connections
// and counts the DSCP of their incoming data, so resets and unreachables
// carry TTL, IP ID and payload evidence and throttling its marker;
// without it those fields stay empty and the report says so.
//
// Concurrency: a Prober and a Control are safe for concurrent use once
// built. Nothing here is on Weir's datapath: it allocates freely.
package probe
