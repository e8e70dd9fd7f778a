// Package record turns ended flows into flow records and writes them: one
// text line per flow (like ndpiReader -v 2 or tshark -z conv) or one JSON
// object per line with the stable keys documented in docs/records.md.
//
// Records carry metadata only (addresses, counters, names the flow carried);
// payload is never stored. Formatting appends to caller-owned buffers with
// strconv, so writing a record allocates nothing beyond the buffer's growth.
package record
