// Package domainset is a compiled, immutable domain-suffix matcher.
//
// A [Builder] collects patterns, each with an int32 value, and [Builder.Build]
// compiles them into a [Set] that answers "which patterns match this host
// name?" in one right-to-left pass over the name.
//
// Patterns (normalised to lower case, one trailing dot dropped):
//
//	example.com     example.com and every name below it
//	=example.com    example.com only
//	*.example.com   every name below example.com, but not example.com itself
//
// Names are validated on Add: labels of 1..63 bytes from [a-z0-9_-], at most
// 253 bytes in all. Underscore is accepted because it occurs in real SNI and
// service names. Adding the same pattern twice keeps the smaller value, which
// is what first-match-wins policy tables want.
//
// Specificity, for [Set.Longest]: a longer matching name beats a shorter one;
// on the same name, "=x" beats "x" for the host x itself, and "*.x" beats "x"
// for hosts below x (it is the narrower pattern).
//
// Lookups ([Set.Longest], [Set.Min]) are case-insensitive for ASCII, accept one
// trailing dot, never allocate and never retain the host string. Hosts longer
// than 253 bytes (after the trailing dot) match nothing.
//
// Concurrency: a Builder is for one goroutine. A Set is immutable once built
// and safe for concurrent use; a nil *Set matches nothing. A reload builds a new
// Set and swaps the pointer.
package domainset
