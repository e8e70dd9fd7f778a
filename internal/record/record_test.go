package record_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
	"github.com/weirnet/weir/internal/dissect/tls"
	"github.com/weirnet/weir/internal/record"
)

func sample() *record.Record {
	r := &record.Record{
		L4: 6, Client: netip.MustParseAddrPort("[fd00::2]:40000"), Server: netip.MustParseAddrPort("10.0.0.1:443"),
		VLAN: 7, First: 1_700_000_000_000_000_000, Last: 1_700_000_001_500_000_000,
		C2SPackets: 3, C2SBytes: 300, S2CPackets: 2, S2CBytes: 2000,
		Class: &classify.Result{App: "facebook", Category: "social", Host: "evil\"\n\u2028\xff.example", Confidence: classify.ConfDPI, AppConf: classify.ConfDPI},
	}
	r.Class.Meta.Proto, r.Class.Meta.Host = dissect.TLS, r.Class.Host
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

// certMessage returns a TLS 1.2 Certificate handshake message whose leaf
// certificate, made by crypto/x509, names dnsNames and ips.
func certMessage(t *testing.T, dnsNames []string, ips []net.IP) []byte {
	t.Helper()
	der, _ := dissecttest.SelfSigned(t, dnsNames, ips)
	u24 := func(b []byte, n int) []byte { return append(b, byte(n>>16), byte(n>>8), byte(n)) }
	hs := u24([]byte{11}, len(der)+6)        // handshake type certificate
	hs = u24(hs, len(der)+3)                 // certificate_list
	return append(u24(hs, len(der)), der...) // the leaf
}

// jsonOf formats r and parses the line back.
func jsonOf(t *testing.T, r *record.Record) (string, map[string]any) {
	t.Helper()
	b := r.AppendJSON(nil)
	if strings.ContainsAny(string(b), "\n\r") {
		t.Fatalf("JSON line contains a line break: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return string(b), m
}

// http_server and cert_sans carry the Server header and the certificate's
// names, escaped, and are omitted when empty.
func TestAppendJSONServerAndCertSANs(t *testing.T) {
	r := sample()
	if _, m := jsonOf(t, r); m["http_server"] != nil || m["cert_sans"] != nil {
		t.Errorf("empty fields printed: http_server %v cert_sans %v", m["http_server"], m["cert_sans"])
	}
	r.Class.Meta.HTTP.Server = "nginx\"/1.25\x01\n\xff"
	msg := certMessage(t, []string{"Www.Example.COM", "api.example.com", `we"ird\.example`, "del\x7f.example"},
		[]net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")})
	if err := tls.ParseCertificate(msg, &r.Class.Meta); err != nil {
		t.Fatal(err)
	}
	line, m := jsonOf(t, r)
	if got, want := m["http_server"], "nginx\"/1.25\x01\n\ufffd"; got != want {
		t.Errorf("http_server = %q, want %q", got, want)
	}
	for _, esc := range []string{`"http_server":"nginx\"/1.25\u0001\u000a\ufffd"`, `"we\"ird\\.example"`, `"del\u007f.example"`} {
		if !strings.Contains(line, esc) {
			t.Errorf("line lacks %s: %s", esc, line)
		}
	}
	want := []any{"www.example.com", "api.example.com", `we"ird\.example`, "del\x7f.example", "192.0.2.1", "2001:db8::1"}
	if got := m["cert_sans"]; !reflect.DeepEqual(got, want) {
		t.Errorf("cert_sans = %q, want %q", got, want)
	}
	if m["cert_subject"] != "weir.test" {
		t.Errorf("cert_subject = %v", m["cert_subject"])
	}
}

// A certificate with many names prints only the first MaxCertSANs.
func TestAppendJSONCertSANsCapped(t *testing.T) {
	var names []string
	for i := range 3 * record.MaxCertSANs {
		names = append(names, fmt.Sprintf("host%03d.example", i))
	}
	r := sample()
	if err := tls.ParseCertificate(certMessage(t, names, []net.IP{net.ParseIP("192.0.2.1")}), &r.Class.Meta); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Class.Meta.TLS.CertSANs()); n != len(names)+1 {
		t.Fatalf("dissector kept %d names, want %d", n, len(names)+1)
	}
	_, m := jsonOf(t, r)
	got, _ := m["cert_sans"].([]any)
	if len(got) != record.MaxCertSANs {
		t.Fatalf("cert_sans has %d names, want %d: %v", len(got), record.MaxCertSANs, got)
	}
	for i, g := range got {
		if g != names[i] {
			t.Errorf("cert_sans[%d] = %v, want %s", i, g, names[i])
		}
	}
	// The record writer stays allocation-free with the names in (a Google
	// QUIC version name is the one field that allocates).
	r.Class.Meta.QUIC.Version = 0
	r.Class.Meta.HTTP.Server = "nginx"
	buf := r.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %v times", n)
	}
}

// The text line escapes control and non-ASCII bytes.
func TestAppendText(t *testing.T) {
	line := string(sample().AppendText(nil))
	if strings.ContainsAny(line, "\n\xff") || !strings.Contains(line, `\x0a`) {
		t.Errorf("text line not escaped: %q", line)
	}
	for _, want := range []string{"tcp [fd00::2]:40000 <-> 10.0.0.1:443", "[vlan 7]", "TLS/facebook", "[cat social]", "[3 pkts/300 bytes <-> 2 pkts/2000 bytes]"} {
		if !strings.Contains(line, want) {
			t.Errorf("text line %q lacks %q", line, want)
		}
	}
	r := sample()
	r.Class.AppConf = classify.ConfIPMatch
	if line = string(r.AppendText(nil)); !strings.Contains(line, " dpi; app ip-match]") {
		t.Errorf("text line %q lacks the app's confidence", line)
	}
	if strings.Contains(line, "; host") {
		t.Errorf("text line %q marks a host the flow carried", line)
	}
	r.Class.Meta.Host = "" // the flow carried no name: Host came from DNS
	if line = string(r.AppendText(nil)); !strings.Contains(line, " dpi; host dns-cache; app ip-match]") {
		t.Errorf("text line %q does not mark the host learned from DNS", line)
	}
}

// JSON names a host learned from DNS as such, and only that host.
func TestAppendJSONHostConfidence(t *testing.T) {
	r := sample()
	if b := r.AppendJSON(nil); strings.Contains(string(b), "host_confidence") {
		t.Errorf("host the flow carried got a host_confidence: %s", b)
	}
	r.Class.Meta.Host = "" // the flow carried no name: Host came from DNS
	var m map[string]any
	if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	if m["host_confidence"] != "dns-cache" {
		t.Errorf("host_confidence = %v, want dns-cache", m["host_confidence"])
	}
}

// The reason may carry names from the wire: the text line keeps printable
// UTF-8 in it and escapes control bytes, invalid UTF-8 and format
// characters (a right-to-left override could disguise the line).
func TestAppendTextWhyEscaped(t *testing.T) {
	r := sample()
	r.Class.Meta.Why = "TLS ClientHello SNI → evil\x1b[2J\xff\u202e.example"
	line := string(r.AppendText(nil))
	if strings.ContainsAny(line, "\x1b\u202e") || strings.Contains(line, "\xff") {
		t.Errorf("text line %q carries raw control, invalid or format bytes", line)
	}
	if !strings.Contains(line, "[why TLS ClientHello SNI → evil\\x1b[2J\\xff\\xe2\\x80\\xae.example]") {
		t.Errorf("text line %q: want the arrow kept and the other bytes escaped", line)
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
