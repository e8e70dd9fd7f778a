package quic

import (
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

var corpusFiles = []string{
	"quic.pcap", "quic-23.pcap", "quic-24.pcap", "quic-27.pcap", "quic-28.pcap", "quic-29.pcap",
	"quic-33.pcapng", "quic-34.pcap", "quic-v2.pcapng", "quic_interop_V.pcapng",
	"quic-mvfst-22.pcap", "quic-mvfst-27.pcapng", "quic-mvfst-exp.pcap", "quic046.pcap",
	"quic_q39.pcap", "quic_q43.pcap", "quic_q46.pcap", "quic_q50.pcap", "quic_t50.pcap",
	"quic_t51.pcap", "quic_0RTT.pcap", "quic_frags_ch_in_multiple_packets.pcapng",
	"quic_frags_different_dcid.pcapng", "quic_frags_ch_out_of_order_same_packet_craziness.pcapng",
	"quic-forcing-vn-with-data.pcapng", "gquic.pcap", "youtube_quic.pcap", "youtubeupload.pcap",
}

// ndpiVersion maps nDPI's [QUIC ver: ...] text to a check on the wire version.
func ndpiVersion(s string, v uint32) bool {
	switch {
	case s == "V-1":
		return v == Version1
	case s == "V-2":
		return v == Version2
	case s == "MVFST-22":
		return v == VersionMvfst22
	case s == "MVFST-27":
		return v == VersionMvfst27
	case s == "MVFST-EXP":
		return v == VersionMvfstEx
	case s == "Ver-Negotiation":
		return v == 0 || isForcingVN(v)
	case strings.HasPrefix(s, "Draft-"):
		n, _ := strconv.Atoi(s[6:])
		return v == 0xff000000|uint32(n)
	case len(s) == 4:
		return v == uint32(s[0])<<24|uint32(s[1])<<16|uint32(s[2])<<8|uint32(s[3])
	}
	return false
}

// TestCorpus runs the dissector over the QUIC flows of the nDPI captures and
// checks protocol, SNI and version against nDPI's results.
func TestCorpus(t *testing.T) {
	dissecttest.CorpusDir(t)
	var totFlows, totIdent, totSNI, totSNIOK, totVerOK int
	for _, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			// nDPI's UDP flows it labels QUIC* by DPI, outside tunnels.
			var want []*dissecttest.NDPIFlow
			for _, w := range dissecttest.Load(t, name).NDPI {
				if w.L4 == "UDP" && strings.HasPrefix(w.Label, "QUIC") && w.Tunnel == "" && w.Confidence == "DPI" {
					want = append(want, w)
				}
			}
			var ident, sniWant, sniOK, verOK, alpnWant, alpnOK, uaWant, uaOK int
			for _, w := range want {
				f := w.Match
				if f == nil {
					t.Errorf("flow %s <-> %s not in capture", w.A, w.B)
					continue
				}
				st, m := dissecttest.Feed(&Dissector{}, f)
				if m.Proto == dissect.QUIC {
					ident++
				} else {
					t.Errorf("%s: not identified (status %d)", w.A, st)
				}
				if w.Host != "" {
					sniWant++
					if m.Host == w.Host {
						sniOK++
					} else {
						t.Errorf("%s: host %q, want %q (why %q)", w.A, m.Host, w.Host, m.Why)
					}
				}
				if w.ALPN != "" {
					alpnWant++
					if got := strings.Join(m.TLS.ALPN(), ";"); got == w.ALPN {
						alpnOK++
					} else {
						t.Errorf("%s: ALPN %q, want %q", w.A, got, w.ALPN)
					}
				}
				// The UAID tag of Google's CHLO (Q0xx only: T05x and IETF
				// Chrome carry it in a transport parameter, not parsed here).
				if w.Fields["User-Agent"] != "" && m.QUIC.Google && m.QUIC.Version>>24 == 'Q' {
					uaWant++
					if m.HTTP.UserAgent == w.Fields["User-Agent"] {
						uaOK++
					} else {
						t.Errorf("%s: user agent %q, want %q", w.A, m.HTTP.UserAgent, w.Fields["User-Agent"])
					}
				}
				if ndpiVersion(w.QUICVer, m.QUIC.Version) {
					verOK++
				} else {
					t.Errorf("%s: version %#x, want %s", w.A, m.QUIC.Version, w.QUICVer)
				}
			}
			t.Logf("%s: flows %d, identified %d, SNI %d/%d, ALPN %d/%d, UA %d/%d, version %d/%d",
				name, len(want), ident, sniOK, sniWant, alpnOK, alpnWant, uaOK, uaWant, verOK, len(want))
			totFlows += len(want)
			totIdent += ident
			totSNI += sniWant
			totSNIOK += sniOK
			totVerOK += verOK
		})
	}
	t.Logf("total: flows %d, identified %d, SNI %d/%d, version %d/%d",
		totFlows, totIdent, totSNIOK, totSNI, totVerOK, totFlows)
}
