package store

import "errors"

var (
	// ErrConfig wraps configuration problems found by Open.
	ErrConfig = errors.New("store: invalid configuration")
	// ErrNewerSchema is returned by Open for a file written by a newer Weir.
	ErrNewerSchema = errors.New("store: database schema is newer than this weir")
	// ErrReadOnly is returned by writes to a store opened read-only.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrClosed is returned by operations on a closed store.
	ErrClosed = errors.New("store: closed")
)
