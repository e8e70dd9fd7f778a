package record_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/record"
)

func sample() *record.Record {
	r := &record.Record{
		L4: 6, Client: netip.MustParseAddrPort("[fd00::2]:40000"), Server: netip.MustParseAddrPort("10.0.0.1:443"),
		VLAN: 7, First: 1_700_000_000_000_000_000, Last: 1_700_000_001_500_000_000,
		C2SPackets: 3, C2SBytes: 300, S2CPackets: 2, S2CBytes: 2000,
		Class: &classify.Result{App: "facebook", Category: "social", Host: "evil\"\n\u2028\xff.example", Confidence: classify.ConfDPI},
	}
	r.Class.Meta.Proto = dissect.TLS
	r.Class.Meta.TLS.SetClientHello('t', 0x0303, true, &dissect.HelloLists{
		Ciphers: []byte{0x13, 0x01}, ExtTypes: []byte{0, 0, 0, 0x10}, ALPN: []byte("\x02h2\x08http/1.1"),
	})
	r.Class.Meta.QUIC.Version = 0x51303530
	return r
}

// AppendJSON produces one valid JSON object with the documented keys,
// whatever bytes the names carry.
func TestAppendJSON(t *testing.T) {
	b := sample().AppendJSON(nil)
	if strings.ContainsAny(string(b), "\n") {
		t.Fatalf("JSON line contains a newline: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	want := map[string]any{"l4": "tcp", "client": "[fd00::2]:40000", "server": "10.0.0.1:443", "vlan": 7.0,
		"c2s_packets": 3.0, "s2c_bytes": 2000.0, "protocol": "TLS", "app": "facebook", "confidence": "dpi",
		"quic_version": "Q050", "duration_ms": 1500.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if a, _ := m["alpn"].([]any); len(a) != 2 || a[0] != "h2" || a[1] != "http/1.1" {
		t.Errorf("alpn = %v", m["alpn"])
	}
	if j, _ := m["ja4"].(string); !strings.HasPrefix(j, "t12d0102h2_") || len(j) != 36 {
		t.Errorf("ja4 = %v", m["ja4"])
	}
	if h := m["host"].(string); !strings.HasPrefix(h, "evil\"\n\u2028\ufffd") {
		t.Errorf("host round-trips as %q", h)
	}
}

// The text line escapes control and non-ASCII bytes.
func TestAppendText(t *testing.T) {
	line := string(sample().AppendText(nil))
	if strings.ContainsAny(line, "\n\xff") || !strings.Contains(line, `\x0a`) {
		t.Errorf("text line not escaped: %q", line)
	}
	for _, want := range []string{"tcp [fd00::2]:40000 <-> 10.0.0.1:443", "[vlan 7]", "TLS/facebook", "[3 pkts/300 bytes <-> 2 pkts/2000 bytes]"} {
		if !strings.Contains(line, want) {
			t.Errorf("text line %q lacks %q", line, want)
		}
	}
}

func FuzzAppendQuoted(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\"\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var out string
		if err := json.Unmarshal(record.AppendQuoted(nil, s), &out); err != nil {
			t.Fatalf("AppendQuoted(%q) is not a JSON string: %v", s, err)
		}
	})
}
