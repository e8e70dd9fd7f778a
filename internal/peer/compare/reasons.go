package compare

// reasons explains each remaining difference between Weir and nDPI, keyed
// by Difference.Key(). docs/accuracy.md prints them.
var reasons = map[string]string{}

// Reasons returns the explanations (read-only).
func Reasons() map[string]string { return reasons }
