package quic

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
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

type wantFlow struct {
	a, b string // "ip:port" as nDPI prints them
	sni  string
	ver  string
	alpn string
	ua   string
}

var (
	reFlow = regexp.MustCompile(`^\s*\d+\s+UDP\s+(\S+)\s+<?->\s+(\S+)\s+\[proto: [0-9.]+/QUIC[^\]]*\].*\[Confidence: DPI\]`)
	reSNI  = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
	reVer  = regexp.MustCompile(`\[QUIC ver: ([^\]]*)\]`)
	reUA   = regexp.MustCompile(`\[User-Agent: ([^\]]*)\]`)
	reALPN = regexp.MustCompile(`\[\(Advertised\) ALPNs: ([^\]]*)\]`)
)

func readWant(t *testing.T, path string) []wantFlow {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []wantFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		mm := reFlow.FindStringSubmatch(l)
		if mm == nil {
			continue
		}
		w := wantFlow{a: mm[1], b: mm[2]}
		if s := reSNI.FindStringSubmatch(l); s != nil {
			w.sni = s[1]
		}
		if s := reUA.FindStringSubmatch(l); s != nil {
			w.ua = s[1]
		}
		if s := reALPN.FindStringSubmatch(l); s != nil {
			w.alpn = s[1]
		}
		if s := reVer.FindStringSubmatch(l); s != nil {
			w.ver = s[1]
		}
		out = append(out, w)
	}
	return out
}

func endpoint(ip [16]byte, v4 bool, port uint16) string {
	if v4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[:4])), port).String()
	}
	return netip.AddrPortFrom(netip.AddrFrom16(ip), port).String()
}

// canon rewrites nDPI's "ip:port" (inet_ntop style) in netip's style.
func canon(s string) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s
	}
	return ap.String()
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
	c := corpusDir(t)
	var totFlows, totIdent, totSNI, totSNIOK, totVerOK int
	for _, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			want := readWant(t, filepath.Join(c, "result", name+".out"))
			flows := readUDPFlows(t, filepath.Join(c, "pcap", name))
			byKey := map[string]*corpusFlow{}
			for _, f := range flows {
				a, b := endpoint(f.client, f.v4, f.clientPort), endpoint(f.server, f.v4, f.serverPort)
				byKey[a+" "+b], byKey[b+" "+a] = f, f
			}
			var ident, sniWant, sniOK, verOK, alpnWant, alpnOK, uaWant, uaOK int
			for _, w := range want {
				f := byKey[canon(w.a)+" "+canon(w.b)]
				if f == nil {
					t.Errorf("flow %s <-> %s not in capture", w.a, w.b)
					continue
				}
				var d Dissector
				var m dissect.Meta
				st := dissect.Continue
				for i := range f.pkts {
					if i >= 24 || st == dissect.Done || st == dissect.NotMine {
						break
					}
					st = d.Feed(&f.pkts[i], &m)
				}
				if m.Proto == dissect.QUIC {
					ident++
				} else {
					t.Errorf("%s: not identified (status %d)", w.a, st)
				}
				if w.sni != "" {
					sniWant++
					if m.Host == w.sni {
						sniOK++
					} else {
						t.Errorf("%s: host %q, want %q (why %q)", w.a, m.Host, w.sni, m.Why)
					}
				}
				if w.alpn != "" {
					alpnWant++
					if got := strings.Join(m.TLS.ALPN, ";"); got == w.alpn {
						alpnOK++
					} else {
						t.Errorf("%s: ALPN %q, want %q", w.a, got, w.alpn)
					}
				}
				// The UAID tag of Google's CHLO (Q0xx only: T05x and IETF
				// Chrome carry it in a transport parameter, not parsed here).
				if w.ua != "" && m.QUIC.Google && m.QUIC.Version>>24 == 'Q' {
					uaWant++
					if m.HTTP.UserAgent == w.ua {
						uaOK++
					} else {
						t.Errorf("%s: user agent %q, want %q", w.a, m.HTTP.UserAgent, w.ua)
					}
				}
				if ndpiVersion(w.ver, m.QUIC.Version) {
					verOK++
				} else {
					t.Errorf("%s: version %#x, want %s", w.a, m.QUIC.Version, w.ver)
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
