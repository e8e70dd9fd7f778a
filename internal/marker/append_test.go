package marker

import (
	"strings"
	"testing"
)

// The append variants write byte for byte what the allocating ones return.
func TestAppendMatches(t *testing.T) {
	for _, tc := range []struct{ name, rule, notice string }{
		{"plain", "block-social", "https://notices.example/weir"},
		{"empty", "", ""},
		{"hostile", "x; notice=evil\r\n\xff", "n\x00"},
		{"long", strings.Repeat("r", 300), strings.Repeat("n", 250)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := string(AppendRSTPayload([]byte("pre"), tc.rule, tc.notice)), "pre"+string(RSTPayload(tc.rule, tc.notice)); got != want {
				t.Errorf("AppendRSTPayload = %q, want %q", got, want)
			}
			if got, want := string(AppendEDEText(nil, tc.rule, tc.notice)), EDEText(tc.rule, tc.notice); got != want {
				t.Errorf("AppendEDEText = %q, want %q", got, want)
			}
		})
	}
	var buf [512]byte
	if n := testing.AllocsPerRun(100, func() { AppendRSTPayload(buf[:0], "rule", "https://n.example") }); n != 0 {
		t.Errorf("AppendRSTPayload allocates %v times", n)
	}
}
