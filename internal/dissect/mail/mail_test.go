package mail

import (
	"bytes"
	gotls "crypto/tls"
	"fmt"
	"net"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// goClientHello returns the first TLS record Go's crypto/tls client writes.
func goClientHello(t testing.TB, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		gotls.Client(c, &gotls.Config{ServerName: sni}).Handshake()
	}()
	hdr := make([]byte, 5)
	readFull(t, s, hdr)
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	readFull(t, s, body)
	c.Close()
	return append(hdr, body...)
}

func readFull(t testing.TB, c net.Conn, b []byte) {
	for n := 0; n < len(b); {
		k, err := c.Read(b[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
}

type line struct {
	dir dissect.Dir
	s   string
}

func session(port uint16, lines ...line) []dissect.Packet {
	var out []dissect.Packet
	seq := [2]uint32{1000, 9000}
	for i, l := range lines {
		out = append(out, dissect.Packet{Dir: l.dir, L4: 6, ClientPort: 50000, ServerPort: port,
			Index: i + 1, Seq: seq[l.dir], Payload: []byte(l.s)})
		seq[l.dir] += uint32(len(l.s))
	}
	return out
}

const c, s = dissect.ToServer, dissect.ToClient

func TestMail(t *testing.T) {
	ch := string(goClientHello(t, "mail.example.org"))
	tests := []struct {
		name  string
		pkts  []dissect.Packet
		want  dissect.Status
		proto dissect.Proto
		host  string
	}{
		{"smtp", session(25, line{s, "220 MX.Example.com ESMTP Postfix\r\n"}, line{c, "EHLO client.example\r\n"}), dissect.Identified, dissect.SMTP, "mx.example.com"},
		{"smtp client only", session(25, line{c, "EHLO client.example\r\n"}, line{c, "MAIL FROM:<a@b>\r\n"}), dissect.Identified, dissect.SMTP, ""},
		{"smtp starttls", session(587, line{s, "220 mx.example.com ESMTP\r\n"}, line{c, "EHLO x.example\r\n"},
			line{s, "250-mx.example.com\r\n250 STARTTLS\r\n"}, line{c, "STARTTLS\r\n"}, line{s, "220 2.0.0 Ready to start TLS\r\n"}, line{c, ch}),
			dissect.Identified, dissect.SMTPS, "mail.example.org"},
		{"imap starttls", session(143, line{s, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"}, line{c, "a1 STARTTLS\r\n"},
			line{s, "a1 OK Begin TLS negotiation now\r\n"}, line{c, ch}), dissect.Identified, dissect.IMAPS, "mail.example.org"},
		{"imap", session(143, line{s, "* OK server ready\r\n"}, line{c, "C00000 CAPABILITY\r\n"}), dissect.Identified, dissect.IMAP, ""},
		{"pop3 stls", session(110, line{s, "+OK POP3 ready\r\n"}, line{c, "STLS\r\n"}, line{s, "+OK Begin TLS\r\n"}, line{c, ch}),
			dissect.Identified, dissect.POP3S, "mail.example.org"},
		{"pop3", session(110, line{s, "+OK hello\r\n"}, line{c, "USER bob\r\n"}), dissect.Identified, dissect.POP3, ""},
		{"ftp is not smtp", session(21, line{s, "220 ProFTPD Server ready.\r\n"}, line{c, "USER anonymous\r\n"}, line{s, "331 Password required\r\n"},
			line{c, "PASS x\r\n"}, line{s, "230 Logged in\r\n"}, line{c, "SYST\r\n"}), dissect.NotMine, dissect.Unknown, ""},
		{"http", session(80, line{c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"}), dissect.NotMine, dissect.Unknown, ""},
		{"binary", session(25, line{s, "\x16\x03\x01\x00\x10"}), dissect.NotMine, dissect.Unknown, ""},
		{"imap greeting, smtp command", session(25, line{s, "* OK hi\r\n"}, line{c, "EHLO x.y\r\n"}), dissect.NotMine, dissect.Unknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dissector
			var m dissect.Meta
			st := dissect.Continue
			for i := range tc.pkts {
				st = d.Feed(&tc.pkts[i], &m)
				if st == dissect.NotMine || st == dissect.Done {
					break
				}
			}
			if st != tc.want || m.Proto != tc.proto || m.Host != tc.host {
				t.Errorf("got (%d, %v, %q), want (%d, %v, %q); why %q", st, m.Proto, m.Host, tc.want, tc.proto, tc.host, m.Why)
			}
		})
	}
}

func TestCorpus(t *testing.T) {
	dissecttest.CorpusDir(t)
	masters := map[string]dissect.Proto{"SMTP": dissect.SMTP, "SMTPS": dissect.SMTPS, "IMAP": dissect.IMAP, "IMAPS": dissect.IMAPS, "POP3": dissect.POP3}
	n := 0
	for _, file := range []string{"smtp.pcap", "smtp-starttls.pcap", "imap.pcap", "imap-starttls.pcap", "pop3.pcap"} {
		t.Run(file, func(t *testing.T) {
			for _, f := range dissecttest.Load(t, file).Flows {
				o := f.NDPI
				if o == nil {
					continue
				}
				proto, mine := masters[o.Master]
				if !mine || len(f.Packets) == 0 {
					continue
				}
				n++
				st, m := dissecttest.Feed(&Dissector{}, f)
				if (st != dissect.Identified && st != dissect.Done) || m.Proto != proto || m.Host != o.Host {
					t.Errorf("%s: got (%d, %v, %q), nDPI (%s, %q)", f, st, m.Proto, m.Host, o.Label, o.Host)
				}
			}
		})
	}
	t.Logf("%d flows checked", n)
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 6, []uint16{25, 587, 143, 110, 0}, 100000, 0.001)
}

func TestNoAllocsReject(t *testing.T) {
	var d Dissector
	dissecttest.NoAllocsReject(t, &d,
		dissect.Packet{L4: 6, Dir: c, Index: 1, Payload: []byte("GET / HTTP/1.1\r\n\r\n")},
		dissect.Packet{L4: 6, Dir: s, Index: 1, Payload: []byte("SSH-2.0-OpenSSH_9.2\r\n")},
		dissect.Packet{L4: 6, Dir: s, Index: 1, Payload: bytes.Repeat([]byte{0x80}, 64)},
	)
	// Waiting on a greeting that does not name the protocol allocates nothing either.
	var m dissect.Meta
	g := dissect.Packet{L4: 6, Dir: s, Index: 1, Payload: []byte("220 mx.example.com ready\r\n")}
	dissecttest.NoAllocs(t, "continue path", func() { d.Reset(); d.Feed(&g, &m) })
}

func FuzzMail(f *testing.F) {
	f.Add([]byte("220 mx.example.com ESMTP\r\n"), []byte("EHLO a.b\r\n"), []byte("STARTTLS\r\n"))
	f.Add([]byte("* OK IMAP4rev1\r\n"), []byte("a1 STARTTLS\r\n"), []byte("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"))
	f.Add([]byte("+OK\r\n"), []byte("STLS\r\n"), []byte("+OK\r\n"))
	f.Fuzz(func(t *testing.T, a, b, x []byte) {
		var d Dissector
		var m dissect.Meta
		for i, p := range [][]byte{a, b, x, x} {
			pk := dissect.Packet{L4: 6, Dir: dissect.Dir(1 - i&1), Index: i + 1, Payload: p}
			if st := d.Feed(&pk, &m); st == dissect.NotMine || st == dissect.Done {
				return
			}
		}
	})
}

// BenchmarkSMTP-2  3503 ns/op  64 B/op  3 allocs/op
func BenchmarkSMTP(b *testing.B) {
	pkts := session(25, line{s, "220 mx.example.com ESMTP\r\n"}, line{c, "EHLO a.example\r\n"})
	b.ReportAllocs()
	for b.Loop() {
		var d Dissector
		var m dissect.Meta
		for i := range pkts {
			d.Feed(&pkts[i], &m)
		}
	}
}

func ExampleDissector() {
	var d Dissector
	var m dissect.Meta
	for _, p := range session(25, line{s, "220 mx.example.com ESMTP\r\n"}, line{c, "EHLO client.example\r\n"}) {
		fmt.Println(d.Feed(&p, &m))
	}
	fmt.Println(m.Proto, m.Host, m.Why)
	// Output:
	// 1
	// 1
	// SMTP mx.example.com SMTP greeting
}
