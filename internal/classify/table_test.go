package classify

import "testing"

func TestTableRows(t *testing.T) {
	if table[dtlsRow].name != "dtls" || table[stunRow].name != "stun" {
		t.Fatalf("dtlsRow/stunRow do not point at the dtls and stun rows")
	}
}
