package tls

import (
	"bytes"
	gotls "crypto/tls"
	"net"
	"sync"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// recConn records what is written through it.
type recConn struct {
	net.Conn
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (c recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

var (
	certOnce sync.Once
	testCert gotls.Certificate
)

// selfSigned returns a throwaway ECDSA certificate for "weir.test".
func selfSigned(t testing.TB) gotls.Certificate {
	certOnce.Do(func() {
		der, key := dissecttest.SelfSigned(t, []string{"weir.test", "www.weir.test"}, nil)
		testCert = gotls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// goHandshake runs Go's crypto/tls client and server over net.Pipe and
// returns the bytes each side wrote during the handshake.
func goHandshake(t testing.TB, maxVersion uint16) (client, server []byte) {
	t.Helper()
	c, s := net.Pipe()
	var mu sync.Mutex
	var cb, sb bytes.Buffer
	cc := gotls.Client(recConn{c, &mu, &cb}, &gotls.Config{
		ServerName: "Weir.Test", NextProtos: []string{"h2", "http/1.1"},
		InsecureSkipVerify: true, MaxVersion: maxVersion,
	})
	sc := gotls.Server(recConn{s, &mu, &sb}, &gotls.Config{
		Certificates: []gotls.Certificate{selfSigned(t)}, NextProtos: []string{"h2"},
		MaxVersion: maxVersion,
	})
	done := make(chan error, 1)
	go func() { done <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close() // not cc.Close: a close_notify on a synchronous pipe would block
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	return bytes.Clone(cb.Bytes()), bytes.Clone(sb.Bytes())
}

// goClientHello returns the first record Go's client writes (its
// ClientHello record), without running a server.
func goClientHello(t testing.TB) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		cc := gotls.Client(c, &gotls.Config{ServerName: "weir.test", NextProtos: []string{"h2", "http/1.1"}})
		cc.Handshake()
	}()
	hdr := make([]byte, 5)
	if _, err := ioReadFull(s, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := ioReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	c.Close()
	return append(hdr, body...)
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// segments returns packets carrying stream at seq base, cut at the
// given offsets.
func segments(dir dissect.Dir, base uint32, stream []byte, cuts ...int) []dissect.Packet {
	var out []dissect.Packet
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		out = append(out, dissect.Packet{Dir: dir, L4: 6, ClientPort: 40000, ServerPort: 443,
			Seq: base + uint32(prev), Payload: stream[prev:c]})
		prev = c
	}
	return out
}

// feedAll feeds pkts in order and returns the last status.
func feedAll(d dissect.Dissector, m *dissect.Meta, pkts []dissect.Packet) dissect.Status {
	st := dissect.Continue
	for i := range pkts {
		pkts[i].Index = i + 1
		st = d.Feed(&pkts[i], m)
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	return st
}

type ext struct {
	typ  uint16
	data []byte
}

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }

func vec16(b []byte) []byte { return append(u16(len(b)), b...) }

func sniExt(name string) ext {
	entry := append([]byte{0}, vec16([]byte(name))...)
	return ext{extServerName, vec16(entry)}
}

func alpnExt(protos ...string) ext {
	var l []byte
	for _, p := range protos {
		l = append(append(l, byte(len(p))), p...)
	}
	return ext{extALPN, vec16(l)}
}

// buildCH returns a ClientHello handshake message (4-byte header).
func buildCH(ciphers []uint16, exts ...ext) []byte {
	body := append(u16(0x0303), make([]byte, 32)...)
	body = append(body, 0) // session id
	var cs []byte
	for _, c := range ciphers {
		cs = append(cs, u16(int(c))...)
	}
	body = append(body, vec16(cs)...)
	body = append(body, 1, 0) // null compression
	var eb []byte
	for _, e := range exts {
		eb = append(append(eb, u16(int(e.typ))...), vec16(e.data)...)
	}
	body = append(body, vec16(eb)...)
	return append([]byte{hsClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// records wraps a handshake stream into TLS records of at most max bytes.
func records(typ byte, b []byte, max int) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(len(b), max)
		out = append(append(out, typ, 3, 1), u16(n)...)
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}
