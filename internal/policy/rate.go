package policy

import (
	"strconv"
	"strings"
)

// Rate units. Only unambiguous spellings are accepted: "mbps" is megabits to
// some people and megabytes to others, so it is rejected with a hint. All
// multipliers are SI (1000), as in link speeds.
var rateUnits = []struct {
	name string
	bits float64 // bits per second per unit
}{
	{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9},
	{"byte", 8}, {"kbyte", 8e3}, {"mbyte", 8e6}, {"gbyte", 8e9},
}

const maxRate = 1e13 // 10 Tbit/s: larger is a typo

// parseRate returns bits per second, or an error message and hint.
func parseRate(s string) (bps uint64, hint, err string) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	const units = "units: bit, kbit, mbit, gbit (bits/s) or byte, kbyte, mbyte, gbyte (bytes/s)"
	v, perr := strconv.ParseFloat(num, 64)
	if num == "" || perr != nil {
		return 0, "write a number and a unit, e.g. 1mbit; " + units, "bad rate " + strconv.Quote(s)
	}
	for _, u := range rateUnits {
		if u.name == unit {
			r := v * u.bits
			if r < 1 || r > maxRate {
				return 0, "between 1bit and 10000gbit", "rate " + strconv.Quote(s) + " out of range"
			}
			return uint64(r), "", ""
		}
	}
	switch unit {
	case "bps", "kbps", "mbps", "gbps", "b/s", "kb/s", "mb/s", "gb/s":
		pre := ""
		if unit[0] != 'b' {
			pre = unit[:1]
		}
		return 0, "write " + num + pre + "bit for bits/s or " + num + pre + "byte for bytes/s", "ambiguous rate unit " + strconv.Quote(unit)
	}
	return 0, units, "unknown rate unit " + strconv.Quote(unit)
}
