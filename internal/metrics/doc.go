// Package metrics exposes Weir's counters in the Prometheus text format on
// a registry the component owns (no promauto, no global default registry,
// so tests and several components in one process never collide).
//
// Names follow Prometheus conventions: counters end in _total, durations
// are in seconds, sizes in bytes. Label values are bounded because some come
// from the network: app names outside [Config.Apps] (and any label value
// past [Config.MaxLabelValues] distinct ones) are reported as "other".
//
// Hot path: [Metrics.Write] (the record.Sink), [Metrics.Event] (the
// record.EventSink) and the per-packet methods look cached child counters
// up under a read lock and do not allocate once a label set has been seen
// (TestNoAllocs). Callers that need even less can keep the handles
// returned by [Metrics.MalformedCounter] and [Metrics.DroppedCounter].
//
// Concurrency: every method is safe for concurrent use.
package metrics
