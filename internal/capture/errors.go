package capture

import (
	"errors"
	"strconv"
)

// The sentinels every *FormatError unwraps to.
var (
	// ErrTruncated: the input ended inside a header or record.
	ErrTruncated = errors.New("truncated input")
	// ErrCorrupt: a length, magic or reference is impossible.
	ErrCorrupt = errors.New("corrupt input")
	// ErrUnsupported: a well-formed input this package does not read
	// (unknown magic, unknown major version).
	ErrUnsupported = errors.New("unsupported format")
)

var errClosed = errors.New("capture: source is closed")

// FormatError reports where and why an input could not be read further.
// Err is exactly one of ErrTruncated, ErrCorrupt or ErrUnsupported, so
// callers can switch on it or use errors.Is.
type FormatError struct {
	File   string // name given to Open/NewReader ("stdin" for "-")
	Offset int64  // byte offset of the bad record in the (decompressed) stream
	Err    error  // sentinel

	what   string // short description, e.g. "truncated record"
	detail string // optional parenthesised detail, e.g. "need 1514 bytes, have 200"
}

var _ error = (*FormatError)(nil)

// Error reads like
// "capture: trace.pcap: truncated record at byte offset 123456 (need 1514 bytes, have 200)".
func (e *FormatError) Error() string {
	what := e.what
	if what == "" && e.Err != nil {
		what = e.Err.Error()
	}
	s := "capture: " + e.File + ": " + what + " at byte offset " + strconv.FormatInt(e.Offset, 10)
	if e.detail != "" {
		s += " (" + e.detail + ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *FormatError) Unwrap() error { return e.Err }
