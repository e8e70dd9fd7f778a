package http

import (
	"bytes"
	"context"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// recConn records what a client writes and reads on a real connection.
type recConn struct {
	net.Conn
	mu          sync.Mutex
	wrote, read bytes.Buffer
}

func (c *recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.wrote.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.read.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// roundTrip runs req against a loopback httptest server and returns the
// bytes the client sent and received.
func roundTrip(t *testing.T, h nethttp.HandlerFunc, build func(url string) *nethttp.Request) (req, resp []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	var rc *recConn
	tr := &nethttp.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rc = &recConn{Conn: c}
		return rc, nil
	}}
	defer tr.CloseIdleConnections()
	r, err := (&nethttp.Client{Transport: tr}).Do(build(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	r.Body.Close()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Clone(rc.wrote.Bytes()), bytes.Clone(rc.read.Bytes())
}

// segments splits b into packets of at most n bytes starting at seq.
func segments(dir dissect.Dir, seq uint32, b []byte, n int) []dissect.Packet {
	var out []dissect.Packet
	for off := 0; off < len(b); off += n {
		end := min(off+n, len(b))
		out = append(out, dissect.Packet{Dir: dir, L4: 6, ClientPort: 50000, ServerPort: 80, Seq: seq + uint32(off), Payload: b[off:end]})
	}
	return out
}

func feedAll(d *Dissector, m *dissect.Meta, pkts []dissect.Packet) dissect.Status {
	st := dissect.Continue
	for i := range pkts {
		st = d.Feed(&pkts[i], m)
		if st == dissect.Done || st == dissect.NotMine {
			break
		}
	}
	return st
}

func TestRealClient(t *testing.T) {
	handler := func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Server", "weir-test")
		w.WriteHeader(201)
		w.Write([]byte("<html>hi</html>"))
	}
	req, resp := roundTrip(t, handler, func(url string) *nethttp.Request {
		r, _ := nethttp.NewRequest("POST", url+"/upload?x=1", strings.NewReader("a=b"))
		r.Host = "WWW.Example.COM:8080"
		r.Header.Set("User-Agent", "weir/1.0 (test)")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	})
	want := dissect.HTTPInfo{Method: "POST", Path: "/upload?x=1", UserAgent: "weir/1.0 (test)", Status: 201,
		ContentType: "text/html; charset=utf-8", Server: "weir-test"}
	for _, n := range []int{1, 7, 1460} {
		var d Dissector
		var m dissect.Meta
		pkts := append(segments(dissect.ToServer, 1000, req, n), segments(dissect.ToClient, 5000, resp, n)...)
		if st := feedAll(&d, &m, pkts); st != dissect.Done {
			t.Fatalf("segment size %d: status %v", n, st)
		}
		if m.Proto != dissect.HTTP || m.Host != "www.example.com" || !reflect.DeepEqual(m.HTTP, want) {
			t.Errorf("segment size %d: (-got, +want)\n-%v %q %+v\n+%v %q %+v", n, m.Proto, m.Host, m.HTTP, dissect.HTTP, "www.example.com", want)
		}
	}
}

func TestFeed(t *testing.T) {
	tests := []struct {
		name   string
		pkts   []dissect.Packet
		want   dissect.Status
		proto  dissect.Proto
		host   string
		method string
		status int
	}{
		{"connect", append(
			segments(dissect.ToServer, 1, []byte("CONNECT apache.org:443 HTTP/1.1\r\nHost: apache.org:443\r\nUser-Agent: Firefox\r\n\r\n"), 1460),
			segments(dissect.ToClient, 1, []byte("HTTP/1.1 200 Connection established\r\n\r\n"), 1460)...),
			dissect.Done, dissect.HTTPConnect, "apache.org", "CONNECT", 200},
		{"proxy form", segments(dissect.ToServer, 1, []byte("GET http://user@Http.com:81/a?b HTTP/1.1\r\nHost: other\r\n\r\n"), 1460),
			dissect.Identified, dissect.HTTPProxy, "http.com", "GET", 0},
		{"ipv6 host", segments(dissect.ToServer, 1, []byte("GET / HTTP/1.0\r\nhOsT: [2001:DB8::1]:8080\r\n\r\n"), 1460),
			dissect.Identified, dissect.HTTP, "2001:db8::1", "GET", 0},
		{"bare LF, trailing dot", segments(dissect.ToServer, 1, []byte("HEAD /x HTTP/1.1\nHost: example.org.\n\n"), 3),
			dissect.Identified, dissect.HTTP, "example.org", "HEAD", 0},
		{"response only", segments(dissect.ToServer, 1, []byte("HTTP/1.1 404 Not Found\r\nServer: Apache\r\nContent-Type: text/html\r\n\r\n"), 10),
			dissect.Done, dissect.HTTP, "", "", 404},
		{"100 continue then final", append(
			segments(dissect.ToServer, 1, []byte("POST /p HTTP/1.1\r\nHost: h\r\n\r\n"), 1460),
			segments(dissect.ToClient, 1, []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), 5)...),
			dissect.Done, dissect.HTTP, "h", "POST", 204},
		{"h2 preface", segments(dissect.ToServer, 1, []byte(Preface+"\x00\x00\x12\x04"), 10),
			dissect.Done, dissect.HTTP2, "", "", 0},
		{"unknown method", segments(dissect.ToServer, 1, []byte("FETCH / HTTP/1.1\r\n\r\n"), 1460), dissect.NotMine, 0, "", "", 0},
		{"lower-case method", segments(dissect.ToServer, 1, []byte("get / HTTP/1.1\r\n\r\n"), 1460), dissect.NotMine, 0, "", "", 0},
		{"bad version", segments(dissect.ToServer, 1, []byte("GET / HTTP/2.0\r\n\r\n"), 1460), dissect.NotMine, 0, "", "", 0},
		{"space in target", segments(dissect.ToServer, 1, []byte("GET /a b\x01 HTTP/1.1\r\n\r\n"), 1460), dissect.NotMine, 0, "", "", 0},
		{"tls", segments(dissect.ToServer, 1, []byte("\x16\x03\x01\x00\xa5\x01"), 1460), dissect.NotMine, 0, "", "", 0},
		{"status 600", segments(dissect.ToServer, 1, []byte("HTTP/1.1 600 X\r\n\r\n"), 1460), dissect.NotMine, 0, "", "", 0},
		{"GE waits", segments(dissect.ToServer, 1, []byte("GE"), 1460), dissect.Continue, 0, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dissector
			var m dissect.Meta
			if st := feedAll(&d, &m, tc.pkts); st != tc.want {
				t.Fatalf("status %v, want %v", st, tc.want)
			}
			if m.Proto != tc.proto || m.Host != tc.host || m.HTTP.Method != tc.method || m.HTTP.Status != tc.status {
				t.Errorf("got %v %q %q %d, want %v %q %q %d", m.Proto, m.Host, m.HTTP.Method, m.HTTP.Status, tc.proto, tc.host, tc.method, tc.status)
			}
		})
	}
}

func TestRetransmissionAndGap(t *testing.T) {
	req := []byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\n\r\n")
	p := segments(dissect.ToServer, 100, req, 20)
	pkts := []dissect.Packet{p[0], p[0], p[1], p[0], p[2], p[3]}
	var d Dissector
	var m dissect.Meta
	feedAll(&d, &m, pkts)
	if m.Host != "example.com" || m.HTTP.UserAgent != "curl/8" {
		t.Errorf("with retransmissions: host %q ua %q", m.Host, m.HTTP.UserAgent)
	}
	// A gap ends reassembly; the request line seen so far still counts.
	d.Reset()
	m = dissect.Meta{}
	p = segments(dissect.ToServer, 100, req, 30)
	if st := feedAll(&d, &m, []dissect.Packet{p[0], p[2]}); st != dissect.Identified || m.HTTP.Method != "GET" || m.Host != "" {
		t.Errorf("with gap: %v %+v", st, m)
	}
}

func TestRandomRejected(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 6, []uint16{80, 8080, 0}, 100000, 0.001)
}

func TestNoAllocsReject(t *testing.T) {
	dissecttest.NoAllocsReject(t, &Dissector{},
		dissect.Packet{L4: 6, ServerPort: 80, Payload: []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")},
		dissect.Packet{L4: 6, ServerPort: 80, Payload: []byte("GETX / HTTP/1.1\r\n\r\n")},
		dissect.Packet{L4: 6, ServerPort: 80, Payload: []byte("SSH-2.0-OpenSSH_9.2\r\n")},
	)
}

// BenchmarkRequestResponse-2  100000  1844 ns/op  56 B/op  5 allocs/op (loaded 2-core box)
func BenchmarkRequestResponse(b *testing.B) {
	req := []byte("GET / HTTP/1.1\r\nHost: google.com\r\nUser-Agent: curl/7.68.0\r\nAccept: */*\r\n\r\n")
	resp := []byte("HTTP/1.1 301 Moved Permanently\r\nLocation: http://www.google.com/\r\nContent-Type: text/html; charset=UTF-8\r\nServer: gws\r\n\r\n")
	p1 := dissect.Packet{L4: 6, Dir: dissect.ToServer, Payload: req}
	p2 := dissect.Packet{L4: 6, Dir: dissect.ToClient, Payload: resp}
	b.ReportAllocs()
	var d Dissector
	for i := 0; i < b.N; i++ {
		var m dissect.Meta
		d.Reset()
		d.Feed(&p1, &m)
		d.Feed(&p2, &m)
	}
}

// BenchmarkReject-2  100000  12.91 ns/op  0 B/op  0 allocs/op
func BenchmarkReject(b *testing.B) {
	p := dissect.Packet{L4: 6, Payload: []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")}
	b.ReportAllocs()
	var d Dissector
	var m dissect.Meta
	for i := 0; i < b.N; i++ {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func FuzzFeed(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: google.com\r\nUser-Agent: curl/7.68.0\r\n\r\n"), []byte("HTTP/1.1 301 Moved\r\nServer: gws\r\n\r\n"), uint8(7))
	f.Add([]byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), uint8(3))
	f.Add([]byte("GET http://[::1]:80/ HTTP/1.0\n\n"), []byte{}, uint8(1))
	f.Add([]byte(Preface), []byte{}, uint8(5))
	f.Fuzz(func(t *testing.T, req, resp []byte, seg uint8) {
		n := int(seg%64) + 1
		var d Dissector
		var m dissect.Meta
		pkts := append(segments(dissect.ToServer, 7, req, n), segments(dissect.ToClient, 0xfffffff0, resp, n)...)
		st := feedAll(&d, &m, pkts)
		if (st == dissect.Identified || st == dissect.Done) && m.Proto == dissect.Unknown {
			t.Fatal("identified without proto")
		}
		if strings.ContainsAny(m.Host, " \r\n[]ABCDEFGHIJKLMNOPQRSTUVWXYZ") || strings.Count(m.Host, ":") == 1 {
			t.Fatalf("unclean host %q", m.Host)
		}
	})
}

// TestRepeatFlowNoAllocs: a request and response whose host, path and
// header values were seen before cost no allocation (they are interned).
func TestRepeatFlowNoAllocs(t *testing.T) {
	handler := func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	}
	req, resp := roundTrip(t, handler, func(url string) *nethttp.Request {
		r, _ := nethttp.NewRequest("GET", url+"/index.html", nil)
		r.Host = "Repeat.Example.ORG"
		r.Header.Set("User-Agent", "weir/1.0 (repeat)")
		return r
	})
	pkts := append(segments(dissect.ToServer, 1000, req, 1460), segments(dissect.ToClient, 5000, resp, 1460)...)
	if n := dissecttest.RepeatAllocs(&Dissector{}, pkts); n != 0 {
		t.Errorf("repeated flow: %v allocations, want 0", n)
	}
}
