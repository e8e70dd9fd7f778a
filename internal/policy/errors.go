package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is the base of every error that a policy file can cause; both
// [*Error] and [ErrorList] unwrap to it.
var ErrInvalid = errors.New("policy: invalid policy")

// Error is one problem in a policy file, at a 1-based line and column.
// Line 0 means the position is unknown (an I/O error, or a YAML syntax error
// that carried no line).
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Hint string // may be empty
}

// Error formats the problem as FILE:LINE:COL: message (hint: ...), the form
// that editors and `weir policy check` understand.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return ErrInvalid }

// ErrorList is every problem found in one file, in source order. Parsing does
// not stop at the first problem so that one `policy check` run shows them all.
type ErrorList []*Error

// Error joins the problems, one a line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) and errors.As(err, **Error) work on
// the whole list.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

var (
	_ error = (*Error)(nil)
	_ error = ErrorList(nil)
)
