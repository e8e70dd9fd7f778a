package policy

import "sync/atomic"

// Holder publishes the active policy to the datapath. Readers call Load on
// every flow (one atomic load); a reload compiles off to the side and swaps,
// so a file with errors never replaces a working policy.
type Holder struct {
	p atomic.Pointer[Policy]
}

// Load returns the active policy, nil before the first Swap.
func (h *Holder) Load() *Policy { return h.p.Load() }

// Swap installs p and returns the previous policy.
func (h *Holder) Swap(p *Policy) *Policy { return h.p.Swap(p) }

// Reload compiles the file at path and, only if it is valid, makes it
// active. On error the old policy stays active and the error lists every
// problem in the new file.
func (h *Holder) Reload(path string, cat Catalog) (*Policy, error) {
	p, err := Load(path, cat)
	if err != nil {
		return nil, err
	}
	h.p.Store(p)
	return p, nil
}
