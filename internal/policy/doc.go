// Package policy is Weir's enforcement policy language: parse a YAML file,
// compile it once into an immutable [*Policy], evaluate flows against it.
// docs/policy.md is the language reference.
//
// Errors: [Load] and [Parse] report every problem they find, not only the
// first, as an [ErrorList] of [*Error] positioned at the offending YAML node
// (FILE:LINE:COL: message (hint: ...)). Both unwrap to [ErrInvalid].
//
// Evaluation: [Policy.Evaluate] is first-match-wins over the rules in file
// order. It does not allocate (TestNoAllocs, TestBigPolicy) and retains no
// Input string. Candidate rules come from indexes, so cost grows with the
// rules that could match a flow, not with the rules in the file: host, sni
// and dns_qname patterns sit in a few internal/domainset sets ("layers")
// built so that no name matches patterns of two rules in one layer, which
// lets domainset's single-answer Min find every candidate; host_contains
// keywords go through an Aho-Corasick automaton; app, category, protocol
// and l4 map to posting lists. Each rule is listed under one index (the
// most selective field it has) or, with none, in a scan list; candidates
// are merged in rule order and each one's other fields are checked.
//
// Concurrency: a Policy is immutable and safe for concurrent use. A reload
// compiles a new Policy and swaps it in through a [Holder]; a file with
// errors leaves the active policy in place.
//
// Time: `when` schedules read [Input].Time (the zero Time means now), which
// is the clock injection point for tests and dry runs. Zone data is embedded
// (time/tzdata) so schedules work on hosts without /usr/share/zoneinfo.
package policy
