// Package capture reads packet captures: classic pcap (microsecond and
// nanosecond, either byte order) and pcapng, optionally gzip-compressed,
// from files, standard input or any io.Reader. It only frames packets;
// interpreting the link layer is internal/decode's job.
//
// # Input paths
//
// Open detects the format by magic, never by file name. Files, stdin,
// pipes and gzip streams are read into one reusable buffer of 1 MiB and
// packets are slices of it (records are not copied out); the buffer grows
// only for a record that does not fit, up to a hard cap of 16 MiB.
// NewBytesReader frames packets directly from a caller's slice. A memory
// mapping was tried and measured slower here (page faults cost more than
// the read copy) and it counted the whole file in the resident set.
//
// # Aliasing
//
// Packet.Data aliases the stream buffer (or the caller's slice). It is
// valid until the next call to Next or Close, whichever comes first. A
// caller that keeps bytes longer copies them. Never write to Packet.Data.
//
// # Allocation
//
// Next allocates nothing in steady state on the in-memory and stream
// paths; TestNoAllocs proves it. Allocation happens at Open, when a
// stream buffer must grow for an oversized block, when a pcapng section
// declares more interfaces than any before it, and when building an error.
// The one exception is gzip input: compress/flate allocates small Huffman
// tables for some deflate blocks (about one allocation per 8 KiB of output);
// this package adds nothing on top.
//
// # Concurrency
//
// A Source is used by a single goroutine. Progress is the one exception: it
// reads an atomic and may be called from a progress-bar goroutine.
//
// # Errors
//
// Next returns io.EOF at a clean end. Malformed input is never a panic: it
// is a *FormatError carrying the file name, the byte offset of the bad
// record in the decompressed stream, and one of ErrTruncated, ErrCorrupt or
// ErrUnsupported. Every complete packet before the bad record is returned
// first, and the error is sticky. A captured length above MaxCapLen
// (256 KiB) is corruption, not a reason to allocate.
//
// # Format notes
//
// Timestamps are converted to ns since the Unix epoch, honouring pcapng's
// if_tsresol (powers of 10 and of 2) and if_tsoffset. Classic pcap's link
// type is the low 16 bits of the header field (the upper bits carry FCS
// flags). When a record's captured length exceeds its original length, Data
// is cut to the original length. A pcapng Simple Packet Block belongs to
// interface 0, has no timestamp of its own (the previous packet's is
// reused) and carries min(original length, snaplen) bytes. Packets naming an
// interface the section did not declare are corrupt. Each new section (SHB)
// may switch byte order and resets the interface list. Unknown block types
// are skipped by their length.
//
// Link types are reported per packet, as the LINKTYPE_ number; the
// constants in capture.go name those internal/decode understands (Null,
// Ethernet, Raw, Loop, Linux SLL v1/v2, IPv4, IPv6). Other values are
// passed through unchanged.
//
// PcapWriter and PcapngWriter exist for tests and traffic generators.
package capture
