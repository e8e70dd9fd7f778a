package marker

// Append variants of the marker texts, for injectors that build packets in
// place: they write exactly what RSTPayload and EDEText return, without
// allocating when b has room.

// AppendRSTPayload appends RSTPayload(rule, notice) to b.
func AppendRSTPayload(b []byte, rule, notice string) []byte {
	b = append(b, RSTPrefix+"; rule="...)
	b = appendClean(b, rule)
	b = append(b, "; notice="...)
	return appendClean(b, notice)
}

// AppendEDEText appends EDEText(rule, notice) to b.
func AppendEDEText(b []byte, rule, notice string) []byte {
	b = append(b, EDEPrefix+"; rule="...)
	b = appendClean(b, rule)
	b = append(b, "; notice="...)
	return appendClean(b, notice)
}

// appendClean appends clean(s) to b.
func appendClean(b []byte, s string) []byte {
	if len(s) > maxText {
		s = s[:maxText]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == ';' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}
