// Package ipfix exports flow records to an IPFIX collector (RFC 7011) over
// UDP or TCP. docs/ipfix.md describes the templates and every Information
// Element; this comment states the package's contract.
//
// Shape: [New] dials (UDP) or prepares a lazy dial (TCP) and starts one
// sender goroutine. [Exporter.Write] is called from the datapath: it
// encodes the record into the message being filled, under a mutex, and
// never touches the network. A message that is full (Config.MTU), or older
// than Config.FlushInterval, is handed to the sender through a bounded
// queue; message buffers come from a fixed pool. When the pool or the queue
// is exhausted (a slow or absent collector) records are dropped and
// counted, never waited for, so Write does not block on the network.
//
// Each flow becomes two uni-directional data records, client→server and
// server→client (the latter only when the server sent packets), rather than
// one RFC 5103 biflow record: every collector (nfdump, tshark, go-ipfix,
// pmacct) understands plain uniflow counters, while reverse Information
// Elements under PEN 29305 are ignored by several of them.
//
// Sequence numbers count data records per RFC 7011 §3.1. A message dropped
// by the exporter (queue full, send error) still advances the sequence
// number, so the collector sees the loss as a gap.
//
// Templates: IPv4 and IPv6 flows use separate templates (IDs 256 and 257).
// Over UDP the template set leads the first message and is re-sent in the
// next message after Config.TemplateRefresh or
// Config.TemplateRefreshMessages messages, whichever comes first (RFC 7011
// §8.4). Over TCP it is sent once per connection, before the first data.
//
// Allocation: Write allocates nothing in steady state; strings (host, rule,
// names) are copied into the message, truncated at a UTF-8 boundary to fit
// one message, with invalid UTF-8 bytes replaced by '?'. The *Record is not
// retained after Write returns. All methods are safe for concurrent use.
package ipfix
