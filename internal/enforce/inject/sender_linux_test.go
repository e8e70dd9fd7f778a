package inject

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

// These tests send the built packets through the real kernel on loopback
// (127.0.0.1 and ::1 only): a UDP socket must receive the DNS answer, live
// TCP connections must be reset, and Go's HTTP client and curl must read
// the 451 notice. They need root (raw and packet sockets). CI runs as root,
// so there a missing privilege is a failure, not a skip.

func needRoot(t *testing.T) *Sender {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("needs root for raw sockets")
	}
	s, err := NewSender(0)
	if err != nil {
		fail("NewSender: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var families = []struct{ name, loop string }{{"v4", "127.0.0.1"}, {"v6", "::1"}}

func TestSenderDNS(t *testing.T) {
	s := needRoot(t)
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(f.loop)})
			if err != nil {
				t.Skipf("no %s loopback: %v", f.name, err)
			}
			defer c.Close()
			me := c.LocalAddr().(*net.UDPAddr).AddrPort()
			// The query is never sent: the test plays the NFQUEUE part.
			in := seg{src: me.String(), dst: netip.AddrPortFrom(me.Addr(), 53).String(), proto: protoUDP,
				payload: query(t, "blocked.test.", dns.TypeA, true)}
			pkt := in.build(t)
			out, err := DNSBlock(pkt, decodeRaw(t, pkt), testRule, testNotice, marker.EDEBlocked, DNSAnswer{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(out); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			buf := make([]byte, 2048)
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			if from.Port() != 53 || from.Addr() != me.Addr() {
				t.Errorf("answer from %v", from)
			}
			var m dns.Msg
			if err := m.Unpack(buf[:n]); err != nil {
				t.Fatal(err)
			}
			opt := m.IsEdns0()
			if m.Rcode != dns.RcodeNameError || opt == nil || len(opt.Option) != 1 {
				t.Fatalf("answer %v", &m)
			}
			if ede, ok := opt.Option[0].(*dns.EDNS0_EDE); !ok || ede.ExtraText != marker.EDEText(testRule, testNotice) {
				t.Errorf("EDE %v", opt.Option[0])
			}
		})
	}
}

// sniffer reads packets arriving on lo through a packet socket.
type sniffer struct{ fd int }

func newSniffer(t *testing.T) *sniffer {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	const ethPAll = 0x0003
	proto := int(ethPAll>>8 | ethPAll<<8&0xff00) // htons
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: lo.Index}); err != nil {
		t.Fatal(err)
	}
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	return &sniffer{fd}
}

// next returns the first TCP segment with payload sent to port.
func (s *sniffer) next(t *testing.T, port uint16) ([]byte, *decode.Parsed) {
	t.Helper()
	d, _ := decode.New(decode.DefaultConfig())
	buf := make([]byte, 65536)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, from, err := syscall.Recvfrom(s.fd, buf, 0)
		if err != nil {
			continue // timeout: look at the deadline again
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); !ok || ll.Pkttype != syscall.PACKET_HOST {
			continue // the outgoing copy of a looped packet
		}
		var p decode.Parsed
		if d.Decode(capture.LinkRaw, buf[:n], n, 0, &p) == decode.OK && p.Proto == protoTCP && p.DstPort == port && len(p.Payload) > 0 {
			pkt := append([]byte(nil), buf[:n]...)
			p.Payload = pkt[n-len(p.Payload):]
			return pkt, &p
		}
	}
	t.Fatalf("no segment to port %d seen", port)
	return nil, nil
}

func TestSenderTCPReset(t *testing.T) {
	s := needRoot(t)
	sn := newSniffer(t)
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(f.loop, "0"))
			if err != nil {
				t.Skipf("no %s loopback: %v", f.name, err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			if _, err := client.Write(clientHello); err != nil {
				t.Fatal(err)
			}
			pkt, p := sn.next(t, uint16(ln.Addr().(*net.TCPAddr).Port))
			toC, toS := TCPReset(pkt, p, testRule, testNotice)
			for _, b := range [][]byte{toC, toS} {
				if err := s.Send(b); err != nil {
					t.Fatal(err)
				}
			}
			buf := make([]byte, 64)
			client.SetReadDeadline(time.Now().Add(3 * time.Second))
			if _, err := client.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("client read: %v, want connection reset", err)
			}
			server.SetReadDeadline(time.Now().Add(3 * time.Second))
			got, err := io.ReadAll(server)
			if !bytes.Equal(got, clientHello) || !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("server read %q, %v; want the data then connection reset", got, err)
			}
		})
	}
}

// blockHTTP runs a server that never answers, lets request start a client
// against it, and injects the 451 notice when the request is seen.
func blockHTTP(t *testing.T, s *Sender, loop, rule, notice string, request func(url string)) {
	sn := newSniffer(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(loop, "0"))
	if err != nil {
		t.Skipf("no loopback %s: %v", loop, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		request("http://" + net.JoinHostPort(loop, strconv.Itoa(port)) + "/page")
	}()
	pkt, p := sn.next(t, uint16(port))
	toC, toS := HTTPBlock(pkt, p, rule, notice, "blocked.test")
	for _, b := range append(toC, toS) {
		if err := s.Send(b); err != nil {
			t.Error(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not finish")
	}
}

func TestSenderHTTPBlock(t *testing.T) {
	s := needRoot(t)
	for _, f := range families {
		for _, v := range []struct{ name, rule, notice string }{
			{"", testRule, testNotice},
			// Notice texts long enough to split the response in two segments.
			{" split", strings.Repeat("r", 200), "https://n.example/" + strings.Repeat("n", 180)},
		} {
			t.Run(f.name+v.name+" net/http", func(t *testing.T) {
				blockHTTP(t, s, f.loop, v.rule, v.notice, func(url string) {
					ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
					defer cancel()
					req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
					resp, err := (&http.Transport{DisableKeepAlives: true}).RoundTrip(req)
					if err != nil {
						t.Error(err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Error(err)
					}
					n, ok := marker.ParseBlockedBy(resp.Header.Get("Link"))
					if resp.StatusCode != 451 || !ok || n != v.notice || resp.Header.Get(marker.RuleHeader) != v.rule ||
						!bytes.Contains(body, []byte("blocked.test")) {
						t.Errorf("status %d link %q body %q", resp.StatusCode, resp.Header.Get("Link"), body)
					}
					if len(marker.HTTP451(v.rule, v.notice, "blocked.test")) > MaxSegment != (v.name != "") {
						t.Error("the split case does not split")
					}
				})
			})
		}
		t.Run(f.name+" curl", func(t *testing.T) {
			curl, err := exec.LookPath("curl")
			if err != nil {
				t.Skip("curl not installed")
			}
			blockHTTP(t, s, f.loop, testRule, testNotice, func(url string) {
				out, err := exec.Command(curl, "-sS", "-i", "--max-time", "8", "-H", "Host: blocked.test", url).CombinedOutput()
				if err != nil {
					t.Errorf("curl: %v\n%s", err, out)
				}
				r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
				if err != nil {
					t.Errorf("curl output: %v\n%s", err, out)
					return
				}
				if r.StatusCode != 451 || !strings.Contains(r.Header.Get("Link"), testNotice) {
					t.Errorf("curl got:\n%s", out)
				}
			})
		})
	}
}

func TestSenderRefuses(t *testing.T) {
	s := needRoot(t)
	if err := s.Send([]byte{0x10}); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("Send(garbage) = %v", err)
	}
	s.Close()
	if err := s.Send(make([]byte, 40)); err == nil {
		t.Error("Send after Close succeeded")
	}
}
