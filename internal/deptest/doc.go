// Package deptest holds the test that keeps Weir's packages in data-flow
// order: a package may import only packages at its own stage or earlier,
// and the datapath packages stay free of heavyweight or global-state
// standard packages (net/http, encoding/json, log).
package deptest
