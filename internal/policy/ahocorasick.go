package policy

// acMachine is a byte-level Aho-Corasick automaton over lower-cased
// keywords; the input is lower-cased (ASCII) as it is scanned, so matching is
// case-insensitive without a copy.
//
// Layout: edges of state s are edges[first[s]:first[s+1]], sorted by byte,
// searched linearly or by binary search; the root has a dense 256-entry table
// because most scanned bytes fall back to it. out[s] is the keyword ending at
// s (-1 none) and dict[s] the nearest state on the failure chain that ends a
// keyword (-1 none), so every match is reported without walking failures.
type acMachine struct {
	first []int32
	label []byte
	next  []int32
	fail  []int32
	out   []int32
	dict  []int32
	root  [256]int32
	words []string
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// newAC builds the automaton. words must be non-empty and lower-case;
// duplicates are allowed (the first id wins the output slot, and callers
// dedupe beforehand when they care).
func newAC(words []string) *acMachine {
	type edge struct {
		c byte
		t int32
	}
	// Build the trie with per-state edge lists.
	kids := [][]edge{nil}
	out := []int32{-1}
	for id, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			c := w[i]
			t := int32(-1)
			for _, e := range kids[s] {
				if e.c == c {
					t = e.t
					break
				}
			}
			if t < 0 {
				t = int32(len(kids))
				kids = append(kids, nil)
				out = append(out, -1)
				kids[s] = append(kids[s], edge{c, t})
			}
			s = t
		}
		if out[s] < 0 {
			out[s] = int32(id)
		}
	}
	n := len(kids)
	m := &acMachine{
		first: make([]int32, n+1),
		fail:  make([]int32, n),
		out:   out,
		dict:  make([]int32, n),
		words: words,
	}
	for s := range kids {
		es := kids[s]
		// insertion sort: edge lists are short
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && es[j].c < es[j-1].c; j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
		m.first[s] = int32(len(m.label))
		for _, e := range es {
			m.label = append(m.label, e.c)
			m.next = append(m.next, e.t)
		}
	}
	m.first[n] = int32(len(m.label))
	for c := range m.root {
		m.root[c] = 0
	}
	for _, e := range kids[0] {
		m.root[e.c] = e.t
	}
	// BFS for failure and dictionary links.
	queue := make([]int32, 0, n)
	for _, e := range kids[0] {
		m.fail[e.t] = 0
		m.dict[e.t] = -1
		queue = append(queue, e.t)
	}
	m.dict[0] = -1
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		for _, e := range kids[s] {
			f := m.fail[s]
			t := m.step(f, e.c)
			m.fail[e.t] = t
			if m.out[t] >= 0 {
				m.dict[e.t] = t
			} else {
				m.dict[e.t] = m.dict[t]
			}
			queue = append(queue, e.t)
		}
	}
	return m
}

// edge returns the child of s on c, or -1.
func (m *acMachine) edge(s int32, c byte) int32 {
	lo, hi := m.first[s], m.first[s+1]
	if hi-lo <= 8 {
		for i := lo; i < hi; i++ {
			if m.label[i] == c {
				return m.next[i]
			}
		}
		return -1
	}
	for lo < hi {
		mid := int32(uint32(lo+hi) >> 1)
		switch {
		case m.label[mid] < c:
			lo = mid + 1
		case m.label[mid] > c:
			hi = mid
		default:
			return m.next[mid]
		}
	}
	return -1
}

// step is the full transition function: follow failures until an edge on c
// exists; the root's dense table ends the walk.
func (m *acMachine) step(s int32, c byte) int32 {
	for s != 0 {
		if t := m.edge(s, c); t >= 0 {
			return t
		}
		s = m.fail[s]
	}
	return m.root[c]
}

// first returns the id of a keyword that occurs in s.
func (m *acMachine) find(s string) (int32, bool) {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = m.step(st, lowerASCII(s[i]))
		if m.out[st] >= 0 {
			return m.out[st], true
		}
		if d := m.dict[st]; d >= 0 {
			return m.out[d], true
		}
	}
	return -1, false
}

// kwHits collects distinct keyword ids found by scan, up to a fixed bound so
// the caller can keep it on the stack.
type kwHits struct {
	ids      [maxKwHits]int32
	n        int
	overflow bool
}

const maxKwHits = 32

func (h *kwHits) add(id int32) {
	for i := 0; i < h.n; i++ {
		if h.ids[i] == id {
			return
		}
	}
	if h.n == len(h.ids) {
		h.overflow = true
		return
	}
	h.ids[h.n] = id
	h.n++
}

// scan reports every keyword occurring in s into h.
func (m *acMachine) scan(s string, h *kwHits) {
	st := int32(0)
	for i := 0; i < len(s) && !h.overflow; i++ {
		st = m.step(st, lowerASCII(s[i]))
		if m.out[st] >= 0 {
			h.add(m.out[st])
		}
		for d := m.dict[st]; d >= 0; d = m.dict[d] {
			h.add(m.out[d])
		}
	}
}
