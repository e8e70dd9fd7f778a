package bittorrent

// maxDepth bounds bencode nesting; DHT messages nest two or three levels.
const maxDepth = 8

// skipValue returns the index just past the bencoded value starting at b[i].
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxDepth {
		return 0, false
	}
	switch c := b[i]; {
	case c == 'i':
		i++
		start := i
		if i < len(b) && b[i] == '-' {
			i++
		}
		digits := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n := i - digits
		if n == 0 || n > 20 || i >= len(b) || b[i] != 'e' {
			return 0, false
		}
		// No leading zeros and no negative zero.
		if b[digits] == '0' && (n > 1 || digits > start) {
			return 0, false
		}
		return i + 1, true
	case c >= '0' && c <= '9':
		_, end, ok := bstring(b, i)
		return end, ok
	case c == 'l':
		i++
		for i < len(b) && b[i] != 'e' {
			var ok bool
			if i, ok = skipValue(b, i, depth+1); !ok {
				return 0, false
			}
		}
		if i >= len(b) {
			return 0, false
		}
		return i + 1, true
	case c == 'd':
		i++
		for i < len(b) && b[i] != 'e' {
			var ok bool
			if _, i, ok = bstring(b, i); !ok {
				return 0, false
			}
			if i, ok = skipValue(b, i, depth+1); !ok {
				return 0, false
			}
		}
		if i >= len(b) {
			return 0, false
		}
		return i + 1, true
	}
	return 0, false
}

// bstring parses "<len>:<bytes>" at b[i] and returns the start of the bytes
// and the index after them.
func bstring(b []byte, i int) (start, end int, ok bool) {
	n, j := 0, i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		if j-i >= 7 { // longer than any UDP datagram
			return 0, 0, false
		}
		n = n*10 + int(b[j]-'0')
		j++
	}
	if j == i || j >= len(b) || b[j] != ':' || (b[i] == '0' && j-i > 1) {
		return 0, 0, false
	}
	j++
	if n > len(b)-j {
		return 0, 0, false
	}
	return j, j + n, true
}

// DHTKind is the "y" of a KRPC message: 'q' query, 'r' response, 'e' error.
type DHTKind byte

// ParseDHT reports whether b is exactly one KRPC message (BEP 5): a bencoded
// dict with a string "t" and "y" of "q" (with "q" string and "a" dict), "r"
// (with an "r" dict) or "e" (with an "e" list).
func ParseDHT(b []byte) (DHTKind, bool) {
	if len(b) < 12 || b[0] != 'd' {
		return 0, false
	}
	end, ok := skipValue(b, 0, 0)
	if !ok || end != len(b) {
		return 0, false
	}
	var y byte
	var hasT, hasQ, hasA, hasR, hasE bool
	for i := 1; b[i] != 'e'; {
		ks, ke, _ := bstring(b, i)
		ve, _ := skipValue(b, ke, 1)
		key, v := b[ks:ke], b[ke:ve]
		if len(key) == 1 {
			switch key[0] {
			case 't':
				hasT = v[0] >= '0' && v[0] <= '9'
			case 'y':
				if len(v) == 3 && v[0] == '1' && v[1] == ':' {
					y = v[2]
				}
			case 'q':
				hasQ = v[0] >= '1' && v[0] <= '9'
			case 'a':
				hasA = v[0] == 'd'
			case 'r':
				hasR = v[0] == 'd'
			case 'e':
				hasE = v[0] == 'l'
			}
		}
		i = ve
	}
	if !hasT {
		return 0, false
	}
	switch {
	case y == 'q' && hasQ && hasA, y == 'r' && hasR, y == 'e' && hasE:
		return DHTKind(y), true
	}
	return 0, false
}
