package record

import (
	"cmp"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
)

// AppendJSON appends r as one JSON object (no trailing newline). Keys are
// stable; optional keys are omitted when empty. See docs/records.md.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"l4":"`...)
	b = append(b, L4Name(r.L4)...)
	b = append(b, `","client":`...)
	b = appendAddrPort(b, r.Client, r.L4)
	b = append(b, `,"server":`...)
	b = appendAddrPort(b, r.Server, r.L4)
	if r.VLAN != 0 {
		b = append(b, `,"vlan":`...)
		b = strconv.AppendUint(b, uint64(r.VLAN), 10)
	}
	b = append(b, `,"first":"`...)
	b = time.Unix(0, r.First).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","last":"`...)
	b = time.Unix(0, r.Last).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","duration_ms":`...)
	b = strconv.AppendFloat(b, float64(r.Last-r.First)/1e6, 'f', 3, 64)
	b = appendUint(b, "c2s_packets", r.C2SPackets)
	b = appendUint(b, "c2s_bytes", r.C2SBytes)
	b = appendUint(b, "s2c_packets", r.S2CPackets)
	b = appendUint(b, "s2c_bytes", r.S2CBytes)
	b = appendStr(b, "end", r.End.String())
	if c := r.Class; c != nil {
		m := &c.Meta
		b = appendStr(b, "protocol", m.Proto.String())
		b = appendStr(b, "app", c.App)
		b = appendStr(b, "category", c.Category)
		b = appendStr(b, "host", c.Host)
		if c.HostConf() == classify.ConfDNSCache {
			b = appendStr(b, "host_confidence", c.HostConf().String())
		}
		b = appendStr(b, "confidence", c.Confidence.String())
		if c.App != "" {
			b = appendStr(b, "app_confidence", c.AppConf.String())
		}
		var why [256]byte
		if w := c.AppendWhy(why[:0]); len(w) > 0 {
			b = append(b, `,"why":`...)
			b = appendQuotedBytes(b, w)
		}
		if a, i := m.TLS.NextALPN(0); a != nil {
			b = append(b, `,"alpn":[`...)
			for first := true; a != nil; a, i = m.TLS.NextALPN(i) {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendQuotedBytes(b, a)
			}
			b = append(b, ']')
		}
		b = appendStr(b, "server_alpn", m.TLS.ServerALPN)
		if v := m.TLS.Version; v != 0 {
			b = appendStr(b, "tls_version", TLSVersionName(v))
		} else if hv := cmp.Or(m.TLS.MaxSupportedVersion(), m.TLS.ClientVersion); hv != 0 {
			b = appendStr(b, "tls_version", TLSVersionName(hv))
		}
		if m.TLS.HasClientHello() {
			b = append(b, `,"ja4":"`...)
			b = m.TLS.AppendJA4(b)
			b = append(b, `","ja3":"`...)
			b = m.TLS.AppendJA3(b)
			b = append(b, '"')
		}
		if m.TLS.ECH {
			b = append(b, `,"ech":true`...)
		}
		b = appendStr(b, "cert_subject", m.TLS.CertSubject)
		if m.TLS.HasCertSANs() {
			b = appendCertSANs(b, &m.TLS)
		}
		if m.QUIC.Version != 0 {
			b = appendStr(b, "quic_version", QUICVersionName(m.QUIC.Version))
		}
		b = appendStr(b, "dns_qname", m.DNS.QName)
		if m.DNS.QName != "" {
			b = appendUint(b, "dns_qtype", uint64(m.DNS.QType))
			if m.DNS.Response {
				b = appendUint(b, "dns_rcode", uint64(m.DNS.RCode))
			}
		}
		b = appendStr(b, "http_method", m.HTTP.Method)
		b = appendStr(b, "http_path", m.HTTP.Path)
		if m.HTTP.Status != 0 {
			b = appendUint(b, "http_status", uint64(m.HTTP.Status))
		}
		b = appendStr(b, "user_agent", m.HTTP.UserAgent)
		b = appendStr(b, "http_server", m.HTTP.Server)
		b = appendStr(b, "content_type", m.HTTP.ContentType)
		b = appendStr(b, "client_name", m.ClientName)
		b = appendStr(b, "ssh_client", m.SSH.ClientBanner)
		b = appendStr(b, "ssh_server", m.SSH.ServerBanner)
	}
	b = appendStr(b, "verdict", r.Verdict)
	b = appendStr(b, "rule", r.Rule)
	return append(b, '}')
}

// MaxCertSANs caps the cert_sans array: a certificate may name thousands.
const MaxCertSANs = 16

// appendCertSANs writes the first MaxCertSANs subject alternative names of
// the server certificate as a "cert_sans" array, nothing when it names none.
func appendCertSANs(b []byte, t *dissect.TLSInfo) []byte {
	var buf [256]byte // a DNS name is at most 253 bytes; longer ones spill to the heap
	name, i, ok := t.AppendCertSAN(buf[:0], 0)
	if !ok {
		return b
	}
	b = append(b, `,"cert_sans":[`...)
	for n := 0; ok && n < MaxCertSANs; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendQuotedBytes(b, name)
		name, i, ok = t.AppendCertSAN(name[:0], i)
	}
	return append(b, ']')
}

func appendAddrPort(b []byte, ap netip.AddrPort, l4 uint8) []byte {
	b = append(b, '"')
	b = appendEndpoint(b, ap, l4)
	return append(b, '"')
}

func appendUint(b []byte, key string, v uint64) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendUint(b, v, 10)
}

func appendStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return AppendQuoted(b, v)
}

// AppendQuoted writes s as a JSON string. Names on the wire are
// attacker-controlled bytes: invalid UTF-8 becomes U+FFFD, control bytes are
// \u-escaped, and U+2028/U+2029 are escaped because they end lines in
// JavaScript consumers, so a hostile name cannot break a JSON line.
func AppendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// appendQuotedBytes is AppendQuoted for a byte slice, without copying it
// into a string first (AppendQuoted keeps nothing of s).
func appendQuotedBytes(b, s []byte) []byte {
	return AppendQuoted(b, unsafe.String(unsafe.SliceData(s), len(s)))
}

// TLSVersionName names a TLS/DTLS version number.
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv1.0"
	case 0x0302:
		return "TLSv1.1"
	case 0x0303:
		return "TLSv1.2"
	case 0x0304:
		return "TLSv1.3"
	case 0xfeff:
		return "DTLSv1.0"
	case 0xfefd:
		return "DTLSv1.2"
	case 0xfefc:
		return "DTLSv1.3"
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// QUICVersionName names a QUIC wire version.
func QUICVersionName(v uint32) string {
	switch {
	case v == 1:
		return "v1"
	case v == 0x6b3343cf:
		return "v2"
	case v&0xffffff00 == 0xff000000:
		return "draft-" + strconv.Itoa(int(v&0xff))
	case v&0xfffffff0 == 0xfaceb000:
		return "mvfst-" + strconv.FormatUint(uint64(v&0xf), 16)
	}
	// Google QUIC versions are ASCII tags such as Q050 or T051.
	t := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	if (t[0] == 'Q' || t[0] == 'T') && isDigit(t[1]) && isDigit(t[2]) && isDigit(t[3]) {
		return string(t[:])
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
