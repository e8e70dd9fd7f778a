package dissect_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/weirnet/weir/internal/dissect"
)

// sanSeq builds a GeneralNames body: DNS names (tag 2), IP addresses (tag
// 7, raw bytes, so a bad length can be tested) and a URI (tag 6, ignored).
func sanSeq(dns []string, ips [][]byte) []byte {
	var b cryptobyte.Builder
	for i := range max(len(dns), len(ips)) {
		if i < len(ips) {
			b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(c *cryptobyte.Builder) { c.AddBytes(ips[i]) })
		}
		b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(c *cryptobyte.Builder) { c.AddBytes([]byte("https://x.test/")) })
		if i < len(dns) {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(c *cryptobyte.Builder) { c.AddBytes([]byte(dns[i])) })
		}
	}
	return b.BytesOrPanic()
}

// AppendCertSAN yields the names CertSANs lists, in the same order and
// form, without allocating.
func TestAppendCertSAN(t *testing.T) {
	dns := []string{"Www.Example.COM", "api.example.com", "ÜNÏ\xff.example", `q"\.example`}
	ips := [][]byte{{192, 0, 2, 1}, {1, 2, 3, 4, 5}, netip.MustParseAddr("2001:db8::1").AsSlice()}
	var ti dissect.TLSInfo
	if !ti.SetCertSANs(sanSeq(dns, ips)) || !ti.HasCertSANs() {
		t.Fatal("SetCertSANs refused the names")
	}
	var want []string
	for _, d := range dns {
		want = append(want, strings.ToLower(d))
	}
	want = append(want, "192.0.2.1", "2001:db8::1")
	if got := ti.CertSANs(); !reflect.DeepEqual(got, want) {
		t.Errorf("CertSANs = %q, want %q", got, want)
	}
	var got []string
	buf := make([]byte, 0, 256)
	i, ok, name := 0, true, buf
	for {
		if name, i, ok = ti.AppendCertSAN(append(name[:0], "prefix:"...), i); !ok {
			break
		}
		got = append(got, strings.TrimPrefix(string(name), "prefix:"))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AppendCertSAN gave %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() {
		for name, i, ok := ti.AppendCertSAN(buf[:0], 0); ok; name, i, ok = ti.AppendCertSAN(name[:0], i) {
		}
	}); n != 0 {
		t.Errorf("AppendCertSAN allocates %v times", n)
	}
	var none dissect.TLSInfo
	if _, _, ok := none.AppendCertSAN(nil, 0); ok || none.HasCertSANs() || none.CertSANs() != nil {
		t.Error("a TLSInfo without a certificate has names")
	}
	if none.SetCertSANs(sanSeq(nil, [][]byte{{1, 2, 3}})) {
		t.Error("SetCertSANs accepted a sequence without a usable name")
	}
}
