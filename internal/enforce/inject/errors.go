package inject

import "errors"

// Base errors: every *Error unwraps to one of them.
var (
	// ErrNotApplicable: the packet is not one this builder answers (wrong
	// protocol, tunnelled, a lone fragment, TCP without ACK or with RST).
	ErrNotApplicable = errors.New("inject: packet does not fit this builder")
	// ErrMalformed: the packet is what the builder answers, but its
	// content (the DNS query) does not parse.
	ErrMalformed = errors.New("inject: malformed query")
)

// Reason says why a builder refused a packet; a closed set, for counting.
type Reason uint8

const (
	ReasonNotApplicable Reason = iota + 1
	ReasonShort                // DNS message shorter than its header or question, or a TCP length prefix past the segment
	ReasonNotQuery             // QR set, or an opcode other than QUERY
	ReasonQuestionCount        // QDCOUNT is not 1
	ReasonBadName              // compression pointer, reserved label type, or name longer than 255 bytes
)

func (r Reason) String() string {
	switch r {
	case ReasonNotApplicable:
		return "not-applicable"
	case ReasonShort:
		return "short"
	case ReasonNotQuery:
		return "not-query"
	case ReasonQuestionCount:
		return "question-count"
	case ReasonBadName:
		return "bad-name"
	}
	return "unknown"
}

// Error is a builder's refusal with its Reason. The builders return shared
// preallocated values, so refusing allocates nothing.
type Error struct{ Reason Reason }

var _ error = (*Error)(nil)

func (e *Error) Error() string { return "inject: " + e.Reason.String() }

func (e *Error) Unwrap() error {
	if e.Reason == ReasonNotApplicable {
		return ErrNotApplicable
	}
	return ErrMalformed
}

var (
	errNotApplicable = &Error{ReasonNotApplicable}
	errShort         = &Error{ReasonShort}
	errNotQuery      = &Error{ReasonNotQuery}
	errQuestionCount = &Error{ReasonQuestionCount}
	errBadName       = &Error{ReasonBadName}
)
