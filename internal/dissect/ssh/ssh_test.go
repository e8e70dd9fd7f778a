package ssh

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	xssh "golang.org/x/crypto/ssh"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// recConn records both directions as seen by the server.
type recConn struct {
	net.Conn
	mu         sync.Mutex
	fromClient bytes.Buffer
	fromServer bytes.Buffer
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.fromClient.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.fromServer.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// handshake runs a real x/crypto/ssh client and server on loopback and
// returns the first bytes each side sent.
func handshake(t testing.TB, clientVersion, serverVersion string) (client, server []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &xssh.ServerConfig{NoClientAuth: true, ServerVersion: serverVersion}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rcCh := make(chan *recConn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			rcCh <- nil
			return
		}
		rc := &recConn{Conn: c}
		rcCh <- rc
		if sc, chans, reqs, err := xssh.NewServerConn(rc, cfg); err == nil {
			go xssh.DiscardRequests(reqs)
			go func() {
				for ch := range chans {
					ch.Reject(xssh.Prohibited, "test")
				}
			}()
			sc.Wait()
		}
	}()
	cc, err := xssh.Dial("tcp", ln.Addr().String(), &xssh.ClientConfig{
		User: "weir", ClientVersion: clientVersion, HostKeyCallback: xssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cc.Close()
	rc := <-rcCh
	rc.Close()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Clone(rc.fromClient.Bytes()), bytes.Clone(rc.fromServer.Bytes())
}

func segs(dir dissect.Dir, seq uint32, b []byte, n int) []dissect.Packet {
	var out []dissect.Packet
	for off := 0; off < len(b); off += n {
		end := min(off+n, len(b))
		out = append(out, dissect.Packet{Dir: dir, L4: 6, ClientPort: 50000, ServerPort: 22, Seq: seq + uint32(off), Payload: b[off:end]})
	}
	return out
}

func TestRealHandshake(t *testing.T) {
	cb, sb := handshake(t, "SSH-2.0-WeirClient_1.0 test-comment", "SSH-2.0-WeirServer_2.0")
	for _, n := range []int{1, 5, 1460} {
		var d Dissector
		var m dissect.Meta
		// Server speaks first, as OpenSSH servers do.
		pkts := append(segs(dissect.ToClient, 77, sb, n), segs(dissect.ToServer, 1, cb, n)...)
		st := dissect.Continue
		for i := range pkts {
			if st = d.Feed(&pkts[i], &m); st == dissect.Done || st == dissect.NotMine {
				break
			}
		}
		if st != dissect.Done || m.Proto != dissect.SSH ||
			m.SSH.ClientBanner != "SSH-2.0-WeirClient_1.0 test-comment" || m.SSH.ServerBanner != "SSH-2.0-WeirServer_2.0" {
			t.Errorf("segment %d: %v %v %+v", n, st, m.Proto, m.SSH)
		}
	}
}

func TestBanner(t *testing.T) {
	tests := []struct {
		in   string
		line string
		ok   bool
	}{
		{"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "SSH-2.0-OpenSSH_9.2p1 Debian-2", true},
		{"SSH-1.99-Cisco-1.25\r\n\x00\x00", "SSH-1.99-Cisco-1.25", true},
		{"SSH-2.0-APACHE-SSHD-2.5.0\n", "SSH-2.0-APACHE-SSHD-2.5.0", true},
		{"SSH-2.0-x\r", "", true}, // wait for LF
		{"SSH-2", "", true},
		{"S", "", true},
		{"SSH-1.5-old\r\n", "", false},
		{"SSH-2.0-\r\n", "", false},
		{"SSH-2.0- spaced\r\n", "", false},
		{"SSH-2.0-a\x01b\r\n", "", false},
		{"SSH-2.0-a\rb\r\n", "", false},
		{"HTTP/1.1 200 OK\r\n", "", false},
		{"SSH-2.0-" + string(bytes.Repeat([]byte("a"), 250)) + "\r\n", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in[:min(len(tc.in), 20)], func(t *testing.T) {
			line, ok := Banner([]byte(tc.in))
			if string(line) != tc.line || ok != tc.ok {
				t.Errorf("Banner(%q) = %q, %v; want %q, %v", tc.in, line, ok, tc.line, tc.ok)
			}
		})
	}
}

func TestFeedOneSided(t *testing.T) {
	var d Dissector
	var m dissect.Meta
	p := segs(dissect.ToServer, 1, []byte("SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7\r\n"), 1460)[0]
	if st := d.Feed(&p, &m); st != dissect.Identified || m.SSH.ClientBanner != "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7" {
		t.Fatalf("%v %+v", st, m.SSH)
	}
	q := segs(dissect.ToClient, 1, []byte("\x00\x00\x01\x0c garbage"), 1460)[0]
	if st := d.Feed(&q, &m); st != dissect.Identified {
		t.Fatalf("after garbage from the server: %v", st)
	}
}

func TestRandomRejected(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 6, []uint16{22, 0}, 100000, 0.001)
}

func TestNoAllocsReject(t *testing.T) {
	dissecttest.NoAllocsReject(t, &Dissector{}, dissect.Packet{L4: 6, Payload: []byte("GET / HTTP/1.1\r\n\r\n")})
}

// BenchmarkBanners-2  1573575  273.9 ns/op  56 B/op  2 allocs/op
func BenchmarkBanners(b *testing.B) {
	c := dissect.Packet{L4: 6, Dir: dissect.ToServer, Payload: []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")}
	s := dissect.Packet{L4: 6, Dir: dissect.ToClient, Payload: []byte("SSH-2.0-OpenSSH_8.9\r\n")}
	b.ReportAllocs()
	var d Dissector
	for i := 0; i < b.N; i++ {
		var m dissect.Meta
		d.Reset()
		d.Feed(&c, &m)
		d.Feed(&s, &m)
	}
}

// BenchmarkReject-2  22462704  25.10 ns/op  0 B/op  0 allocs/op
func BenchmarkReject(b *testing.B) {
	p := dissect.Packet{L4: 6, Payload: []byte("\x16\x03\x01\x00\xa5\x01\x00")}
	b.ReportAllocs()
	var d Dissector
	var m dissect.Meta
	for i := 0; i < b.N; i++ {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func FuzzFeed(f *testing.F) {
	f.Add([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), []byte("SSH-1.99-Cisco-1.25\r\n"), uint8(3))
	f.Add([]byte("SSH-2.0-x\r"), []byte("SSH-"), uint8(1))
	f.Fuzz(func(t *testing.T, c, s []byte, seg uint8) {
		n := int(seg%32) + 1
		var d Dissector
		var m dissect.Meta
		pkts := append(segs(dissect.ToServer, 0xfffffffe, c, n), segs(dissect.ToClient, 9, s, n)...)
		for i := range pkts {
			st := d.Feed(&pkts[i], &m)
			if st == dissect.Done || st == dissect.NotMine {
				break
			}
		}
		for _, bn := range []string{m.SSH.ClientBanner, m.SSH.ServerBanner} {
			if len(bn) > MaxBanner {
				t.Fatalf("banner too long: %d", len(bn))
			}
			if line, ok := Banner([]byte(bn + "\r\n")); bn != "" && (!ok || string(line) != bn) {
				t.Fatalf("recorded banner %q does not re-validate", bn)
			}
		}
	})
}
