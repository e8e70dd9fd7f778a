package tls

import (
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

func FuzzClientHello(f *testing.F) {
	f.Add(goClientHello(f)[5:], byte('t'))
	f.Add(buildCH([]uint16{0x1a1a, 0x1301}, sniExt("a.example"), alpnExt("h2"), ext{extECH, nil}), byte('q'))
	f.Add(buildCH([]uint16{1}, ext{extSupportedVersions, []byte{4, 0xfe, 0xfc, 0xfe, 0xfd}}), byte('d'))
	f.Fuzz(func(t *testing.T, hs []byte, tr byte) {
		var m dissect.Meta
		if err := ParseClientHello(hs, tr, &m); err == nil {
			// What records derive from the kept lists, on hostile input.
			if len(m.TLS.JA4()) < 36 || len(m.TLS.JA3()) != 32 {
				t.Fatalf("short JA4 %q or JA3 %q", m.TLS.JA4(), m.TLS.JA3())
			}
			_, _, _ = m.TLS.ALPN(), m.TLS.SupportedVersions(), m.TLS.Extensions()
			_, _ = m.TLS.CipherSuites(), m.TLS.MaxSupportedVersion()
		}
		ParseServerHello(hs, &m)
		if ParseCertificate(hs, &m) == nil {
			m.TLS.CertSANs()
		}
	})
}

// FuzzTLSDissector splits the input into up to four segments, delivered in
// an order and direction chosen by the first byte.
func FuzzTLSDissector(f *testing.F) {
	cli, srv := goHandshake(f, 0x0303)
	f.Add(byte(0), cli, srv)
	f.Add(byte(0x1b), cli, srv)
	f.Add(byte(0x72), records(recHandshake, buildCH([]uint16{1}, sniExt("x.example")), 9), []byte{})
	f.Add(byte(3), records(recApplicationData, make([]byte, 40), 10), records(recAlert, []byte{1, 0}, 10))
	f.Fuzz(func(t *testing.T, ctl byte, a, b []byte) {
		var d Dissector
		var m dissect.Meta
		var pkts []dissect.Packet
		for i, s := range [][]byte{a, b} {
			q := len(s) / 2
			p := segments(dissect.Dir(i), uint32(ctl)*1000, s, q)
			if ctl&(1<<i) != 0 {
				p[0], p[1] = p[1], p[0]
			}
			if ctl&(4<<i) != 0 {
				p = append(p, p[0]) // retransmission
			}
			pkts = append(pkts, p...)
		}
		if ctl&0x40 != 0 {
			pkts[0], pkts[len(pkts)-1] = pkts[len(pkts)-1], pkts[0]
		}
		feedAll(&d, &m, pkts)
	})
}

func FuzzDTLS(f *testing.F) {
	body := dtlsCHBody("d.example", []byte{1, 2, 3})
	f.Add(dtlsRecord(hsClientHello, body, 0, len(body)), []byte{})
	f.Add(dtlsRecord(hsClientHello, []byte{3, 3, 0, 0}, 8, 100), dtlsRecord(hsClientHello, []byte{1, 2}, 0, 100))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d DTLSDissector
		var m dissect.Meta
		for i, s := range [][]byte{a, b} {
			p := dissect.Packet{L4: 17, Dir: dissect.Dir(i), Index: i + 1, Payload: s}
			if st := d.Feed(&p, &m); st == dissect.Done || st == dissect.NotMine {
				return
			}
		}
	})
}

// dtlsRecord wraps one handshake fragment in a DTLS 1.2 record.
func dtlsRecord(typ byte, frag []byte, off, total int) []byte {
	hs := []byte{typ, byte(total >> 16), byte(total >> 8), byte(total), 0, 0,
		byte(off >> 16), byte(off >> 8), byte(off), byte(len(frag) >> 16), byte(len(frag) >> 8), byte(len(frag))}
	hs = append(hs, frag...)
	rec := []byte{recHandshake, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0}
	return append(append(rec, u16(len(hs))...), hs...)
}

// dtlsCHBody returns a DTLS 1.2 ClientHello body (no handshake header)
// with the given cookie.
func dtlsCHBody(sni string, cookie []byte) []byte {
	ch := buildCH([]uint16{0xc02b, 0xc02f}, sniExt(sni), alpnExt("webrtc"))[4:]
	ch[0], ch[1] = 0xfe, 0xfd
	at := 2 + 32 + 1 // after the empty session id
	out := append([]byte{}, ch[:at]...)
	out = append(append(out, byte(len(cookie))), cookie...)
	return append(out, ch[at:]...)
}
