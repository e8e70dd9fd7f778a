package tls

import (
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

func TestDTLS(t *testing.T) {
	body := dtlsCHBody("Media.Example", []byte{9, 9, 9, 9})
	n := len(body)
	whole := dtlsRecord(hsClientHello, body, 0, n)
	f1 := dtlsRecord(hsClientHello, body[:40], 0, n)
	f2 := dtlsRecord(hsClientHello, body[40:80], 40, n)
	f3 := dtlsRecord(hsClientHello, body[80:], 80, n)
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	// An epoch-1 application-data record and an RTP packet, as WebRTC
	// multiplexes them after the handshake (RFC 7983).
	appData := append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0, 20}, make([]byte, 20)...)
	rtp := append([]byte{0x90, 0x6f, 0x23, 0x60}, make([]byte, 40)...)
	tests := []struct {
		name   string
		dgrams [][]byte
		want   dissect.Status
		host   string
	}{
		{"whole", [][]byte{whole}, dissect.Identified, "media.example"},
		{"fragments in one datagram", [][]byte{append(append(f1, f2...), f3...)}, dissect.Identified, "media.example"},
		{"fragments out of order", [][]byte{f3, f1, f1, f2}, dissect.Identified, "media.example"},
		{"after stun", [][]byte{stun, stun, whole}, dissect.Identified, "media.example"},
		{"missing fragment", [][]byte{f1, f3}, dissect.Continue, ""},
		{"records between rtp after stun", [][]byte{stun, appData, rtp, rtp, appData}, dissect.Done, ""},
		{"rtp without stun or dtls first", [][]byte{rtp, appData, appData}, dissect.NotMine, ""},
		{"bad fragment offset", [][]byte{dtlsRecord(hsClientHello, body[:40], n, n)}, dissect.NotMine, ""},
		{"tls version is not dtls", [][]byte{append([]byte{22, 3, 3}, whole[3:]...)}, dissect.NotMine, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d DTLSDissector
			var m dissect.Meta
			st := dissect.Continue
			for i, g := range tc.dgrams {
				p := dissect.Packet{L4: 17, Index: i + 1, Payload: g}
				st = d.Feed(&p, &m)
			}
			if st != tc.want || m.Host != tc.host {
				t.Fatalf("got (%d, %q), want (%d, %q)", st, m.Host, tc.want, tc.host)
			}
			if st == dissect.Identified && (m.Proto != dissect.DTLS || !strings.HasPrefix(m.TLS.JA4(), "dd2d0202wc_")) {
				t.Errorf("proto %v JA4 %s", m.Proto, m.TLS.JA4())
			}
		})
	}
}
