package inject

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

const (
	testRule   = "block-social"
	testNotice = "https://notices.example/weir"
)

var clientHello = append([]byte{0x16, 0x03, 0x01, 0x00, 0x05}, "hello"...)

func TestTCPReset(t *testing.T) {
	for _, tc := range []struct {
		name             string
		in               seg
		cSeq, cAck, sSeq uint32
		cFlags           uint8
	}{
		{"v4 client hello", seg{src: "192.0.2.1:50000", dst: "198.51.100.7:443", proto: protoTCP, seq: 1000, ack: 7000, flags: flagPSH | flagACK, payload: clientHello, ipid: 1},
			7000, 1010, 1010, flagRST | flagACK},
		{"v6 client hello", seg{src: "[2001:db8::1]:50000", dst: "[2001:db8::2]:443", proto: protoTCP, seq: 0xfffffffe, ack: 5, flags: flagACK, payload: clientHello},
			5, 8, 8, flagRST | flagACK},
		// From the server's side: the "client" is whoever sent the segment.
		{"v4 server data", seg{src: "198.51.100.7:443", dst: "192.0.2.1:50000", proto: protoTCP, seq: 7000, ack: 1010, flags: flagACK, payload: []byte("abc")},
			1010, 7003, 7003, flagRST | flagACK},
		{"v4 syn", seg{src: "192.0.2.1:50000", dst: "198.51.100.7:443", proto: protoTCP, seq: 99, flags: flagSYN},
			0, 100, 100, flagRST | flagACK},
		{"v6 fin", seg{src: "[2001:db8::1]:1", dst: "[2001:db8::2]:2", proto: protoTCP, seq: 10, ack: 20, flags: flagFIN | flagACK},
			20, 11, 11, flagRST | flagACK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := tc.in.build(t)
			p := decodeRaw(t, pkt)
			toC, toS := TCPReset(pkt, p, testRule, testNotice)
			if toC == nil || toS == nil {
				t.Fatal("no reset")
			}
			c := checkInjected(t, toC)
			s := checkInjected(t, toS)
			if addrPort(c, true) != addrPort(p, false) || addrPort(c, false) != addrPort(p, true) {
				t.Errorf("toClient %v -> %v, want from the receiver to the sender", addrPort(c, true), addrPort(c, false))
			}
			if addrPort(s, true) != addrPort(p, true) || addrPort(s, false) != addrPort(p, false) {
				t.Errorf("toServer %v -> %v, want the segment's direction", addrPort(s, true), addrPort(s, false))
			}
			if c.TCPSeq != tc.cSeq || c.TCPAck != tc.cAck || c.TCPFlags != tc.cFlags {
				t.Errorf("toClient seq %d ack %d flags %#x, want %d %d %#x", c.TCPSeq, c.TCPAck, c.TCPFlags, tc.cSeq, tc.cAck, tc.cFlags)
			}
			if s.TCPSeq != tc.sSeq || s.TCPFlags != flagRST {
				t.Errorf("toServer seq %d flags %#x, want %d RST", s.TCPSeq, s.TCPFlags, tc.sSeq)
			}
			for _, q := range []*decode.Parsed{c, s} {
				if rule, notice, ok := marker.ParseRST(q.Payload); !ok || rule != testRule || notice != testNotice {
					t.Errorf("payload %q", q.Payload)
				}
			}
		})
	}
}

func TestTCPResetRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   seg
		edit func(*decode.Parsed)
	}{
		{"rst", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoTCP, flags: flagRST | flagACK}, nil},
		{"udp", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoUDP}, nil},
		{"tunnel", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoTCP, flags: flagACK}, func(p *decode.Parsed) { p.Tunnel = decode.TunnelGRE }},
		{"fragment", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoTCP, flags: flagACK}, func(p *decode.Parsed) { p.Unreassembled = true }},
		{"no family", seg{src: "192.0.2.1:1", dst: "192.0.2.2:2", proto: protoTCP, flags: flagACK}, func(p *decode.Parsed) { p.Family = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := tc.in.build(t)
			p := decodeRaw(t, pkt)
			if tc.edit != nil {
				tc.edit(p)
			}
			if c, s := TCPReset(pkt, p, "r", "n"); c != nil || s != nil {
				t.Error("answered")
			}
			if c, s := HTTPBlock(pkt, p, "r", "n", "h"); c != nil || s != nil {
				t.Error("HTTPBlock answered")
			}
		})
	}
	if c, s := TCPReset(nil, nil, "", ""); c != nil || s != nil {
		t.Error("answered nil")
	}
}

var httpGet = []byte("GET / HTTP/1.1\r\nHost: blocked.test\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n")

func TestHTTPBlock(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name, rule, notice, host string
		src, dst                 string
		segs                     int // data segments expected
	}{
		{"v4", testRule, testNotice, "blocked.test", "192.0.2.1:50000", "198.51.100.7:80", 1},
		{"v6", testRule, testNotice, "blocked.test", "[2001:db8::1]:50000", "[2001:db8::2]:80", 1},
		{"v4 split", long, "https://n.example/" + long, long, "192.0.2.1:50000", "198.51.100.7:80", 2},
		{"v6 split", long, "https://n.example/" + long, long, "[2001:db8::1]:50000", "[2001:db8::2]:80", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := seg{src: tc.src, dst: tc.dst, proto: protoTCP, seq: 4000, ack: 9000, flags: flagPSH | flagACK, payload: httpGet}
			pkt := in.build(t)
			p := decodeRaw(t, pkt)
			toC, toS := HTTPBlock(pkt, p, tc.rule, tc.notice, tc.host)
			if len(toC) != tc.segs+1 {
				t.Fatalf("%d packets to the client, want %d data + FIN", len(toC), tc.segs)
			}
			var stream []byte
			next := uint32(9000)
			for i, b := range toC {
				c := checkInjected(t, b)
				if addrPort(c, true) != addrPort(p, false) || addrPort(c, false) != addrPort(p, true) {
					t.Errorf("segment %d: %v -> %v", i, addrPort(c, true), addrPort(c, false))
				}
				want := uint8(flagPSH | flagACK)
				if i == len(toC)-1 {
					want = flagFIN | flagACK
				}
				if c.TCPSeq != next || c.TCPAck != 4000+uint32(len(httpGet)) || c.TCPFlags != want {
					t.Errorf("segment %d: seq %d ack %d flags %#x, want %d %d %#x", i, c.TCPSeq, c.TCPAck, c.TCPFlags, next, 4000+len(httpGet), want)
				}
				if len(c.Payload) > MaxSegment {
					t.Errorf("segment %d carries %d bytes", i, len(c.Payload))
				}
				stream = append(stream, c.Payload...)
				next += uint32(len(c.Payload))
			}
			if !bytes.Equal(stream, marker.HTTP451(tc.rule, tc.notice, tc.host)) {
				t.Error("the segments do not carry the 451 notice")
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(stream)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Error(err)
			}
			if n, ok := marker.ParseBlockedBy(resp.Header.Get("Link")); resp.StatusCode != 451 || !ok || n == "" {
				t.Errorf("status %d link %q", resp.StatusCode, resp.Header.Get("Link"))
			}
			s := checkInjected(t, toS)
			if addrPort(s, true) != addrPort(p, true) || s.TCPSeq != 4000+uint32(len(httpGet)) || s.TCPFlags != flagRST {
				t.Errorf("toServer %v seq %d flags %#x", addrPort(s, true), s.TCPSeq, s.TCPFlags)
			}
			if _, _, ok := marker.ParseRST(s.Payload); !ok {
				t.Errorf("toServer payload %q", s.Payload)
			}
		})
	}
	// Without ACK the server's sequence number is unknown.
	in := seg{src: "192.0.2.1:1", dst: "192.0.2.2:80", proto: protoTCP, flags: flagPSH, payload: httpGet}
	pkt := in.build(t)
	if c, s := HTTPBlock(pkt, decodeRaw(t, pkt), "r", "n", "h"); c != nil || s != nil {
		t.Error("answered a segment without ACK")
	}
}
