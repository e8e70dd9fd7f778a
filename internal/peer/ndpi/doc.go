// Package ndpi reads nDPI's expected-output files (ndpiReader -v 2 flow
// lines, the result/*.out files of nDPI's test suite) so Weir's tests and
// the ndpicompare command can compare Weir with its peer flow by flow.
//
// It is test and tooling support: nothing on the packet path imports it.
package ndpi
