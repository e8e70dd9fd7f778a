package ipfix

import "testing"

func TestStringCapDocumented(t *testing.T) {
	// docs/ipfix.md quotes these.
	for mtu, want := range map[int]int{1400: 218, 512: 40, 9000: 254} {
		if got := stringCap(mtu); got != want {
			t.Errorf("stringCap(%d) = %d, want %d", mtu, got, want)
		}
	}
	if templateSetLen != 204 {
		t.Errorf("template set is %d bytes", templateSetLen)
	}
}
