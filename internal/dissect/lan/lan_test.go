package lan

import (
	"encoding/binary"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

// encodeNB first-level encodes a NetBIOS name padded to 15 with a suffix.
func encodeNB(name string, suffix byte) []byte {
	var raw [16]byte
	for i := range raw[:15] {
		raw[i] = ' '
	}
	copy(raw[:15], name)
	raw[15] = suffix
	out := []byte{0x20}
	for _, c := range raw {
		out = append(out, 'A'+c>>4, 'A'+c&0xf)
	}
	return append(out, 0)
}

func nbQuery(name string) []byte {
	b := []byte{0x81, 0x3a, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0}
	b = append(b, encodeNB(name, 0x1d)...)
	return append(b, 0, 0x20, 0, 1)
}

func nbDatagram(src string, data []byte) []byte {
	names := append(encodeNB(src, 0), encodeNB("WORKGROUP", 0x1d)...)
	b := []byte{0x11, 0x0a, 0x80, 0x01, 192, 168, 1, 43, 0, 138}
	b = binary.BigEndian.AppendUint16(b, uint16(len(names)+len(data)))
	b = append(b, 0, 0)
	b = append(b, names...)
	return append(b, data...)
}

func session(typ byte, body []byte) []byte {
	b := []byte{typ, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func dhcpDiscover() []byte {
	b := make([]byte, 240)
	b[0], b[1], b[2] = 1, 1, 6
	copy(b[4:], []byte{0xde, 0xad, 0xbe, 0xef})
	copy(b[28:], []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55})
	binary.BigEndian.PutUint32(b[236:], dhcpCookie)
	b = append(b, 53, 1, 1, 12, 9, 't', 'l', '-', 's', 'g', '1', '1', '6', 'e', 55, 2, 1, 3, 0, 0, 255)
	return append(b, make([]byte, 20)...) // padding after END
}

func dhcp6Solicit() []byte {
	b := []byte{1, 0x12, 0x34, 0x56}
	b = append(b, 0, 1, 0, 10, 0, 3, 0, 1, 0, 0x11, 0x22, 0x33, 0x44, 0x55) // client id (DUID-LL)
	b = append(b, 0, 8, 0, 2, 0, 0)                                         // elapsed time
	b = append(b, 0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)          // IA_NA
	return b
}

func ntpPacket(vn, mode byte) []byte {
	b := make([]byte, 48)
	b[0] = vn<<3 | mode
	b[1], b[2], b[3] = 2, 6, 0xe9 // stratum 2, poll 6, precision -23
	return b
}

func ntpMonlist() []byte {
	b := []byte{0xd7, 0x00, 0x03, 0x2a, 0x00, 0x06, 0x00, 0x48} // v2 mode 7 response, 6 items of 72
	return append(b, make([]byte, 6*72)...)
}

func ntpControl() []byte {
	b := []byte{0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4}
	return append(b, 'a', '=', '1', ',')
}

func udp(port uint16, b []byte) dissect.Packet {
	return dissect.Packet{L4: 17, ClientPort: 50000, ServerPort: port, Payload: b}
}

func tcp(port uint16, b []byte) dissect.Packet {
	return dissect.Packet{L4: 6, ClientPort: 50000, ServerPort: port, Payload: b}
}

type caseT struct {
	name    string
	d       dissect.Dissector
	pkts    []dissect.Packet
	want    dissect.Status
	proto   dissect.Proto
	host    string
	appHint string
}

func TestDissectors(t *testing.T) {
	smb1 := append([]byte("\xffSMB\x72"), make([]byte, 40)...)
	smb2 := append([]byte("\xfeSMB\x40\x00"), make([]byte, 60)...)
	nsResp := []byte{0x81, 0x3a, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0}
	nsResp = append(nsResp, encodeNB("NASFILE", 0x20)...)
	nsResp = append(nsResp, 0, 0x20, 0, 1, 0, 0, 0, 60, 0, 6, 0, 0, 192, 168, 5, 45)
	sessReq := session(0x81, append(encodeNB("FILESERVER", 0x20), encodeNB("CLIENT", 0)...))
	mkDHCP := func(f func([]byte)) []byte { b := dhcpDiscover(); f(b); return b }

	tests := []caseT{
		{"ssdp m-search", &SSDP{}, []dissect.Packet{udp(1900, []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:dial-multiscreen-org:service:dial:1\r\n\r\n"))}, dissect.Done, dissect.SSDP, "", ""},
		{"ssdp notify", &SSDP{}, []dissect.Packet{udp(1900, []byte("NOTIFY * HTTP/1.1\r\nHost: [FF02::C]:1900\r\nnt: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n"))}, dissect.Done, dissect.SSDP, "", ""},
		{"ssdp response", &SSDP{}, []dissect.Packet{udp(50000, []byte("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n"))}, dissect.Done, dissect.SSDP, "", ""},
		{"ssdp without ST", &SSDP{}, []dissect.Packet{udp(1900, []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\nST: late\r\n"))}, dissect.NotMine, 0, "", ""},
		{"ssdp over tcp", &SSDP{}, []dissect.Packet{tcp(1900, []byte("NOTIFY * HTTP/1.1\r\nNT: x\r\n\r\n"))}, dissect.NotMine, 0, "", ""},

		{"netbios name query", &NetBIOS{}, []dissect.Packet{udp(137, nbQuery("WORKGROUP"))}, dissect.Done, dissect.NetBIOS, "workgroup", ""},
		{"netbios name response", &NetBIOS{}, []dissect.Packet{udp(137, nsResp)}, dissect.Done, dissect.NetBIOS, "nasfile", ""},
		{"netbios wildcard", &NetBIOS{}, []dissect.Packet{udp(137, nbQuery("*\x00\x00"))}, dissect.Done, dissect.NetBIOS, "", ""},
		{"netbios bad encoding", &NetBIOS{}, []dissect.Packet{udp(137, func() []byte { b := nbQuery("X"); b[14] = 'Z'; return b }())}, dissect.NotMine, 0, "", ""},
		{"netbios datagram smb", &NetBIOS{}, []dissect.Packet{udp(138, nbDatagram("DESKTOP-RB5T12G", smb1))}, dissect.Done, dissect.NetBIOS, "desktop-rb5t12g", "smbv1"},
		{"netbios datagram other", &NetBIOS{}, []dissect.Packet{udp(138, nbDatagram("Endian-PC", []byte("hello")))}, dissect.Done, dissect.NetBIOS, "endian-pc", ""},
		{"session request", &NetBIOS{}, []dissect.Packet{tcp(139, sessReq)}, dissect.Done, dissect.NetBIOS, "fileserver", ""},
		{"session smb1", &NetBIOS{}, []dissect.Packet{tcp(139, session(0x85, nil)), tcp(139, session(0, smb1))}, dissect.Done, dissect.NetBIOS, "", "smbv1"},
		{"direct smb2", &NetBIOS{}, []dissect.Packet{tcp(445, session(0, smb2))}, dissect.Done, dissect.SMB, "", ""},
		{"session other", &NetBIOS{}, []dissect.Packet{tcp(139, session(0, []byte("GET / HTTP/1.1\r\n")))}, dissect.NotMine, 0, "", ""},
		{"keepalives only", &NetBIOS{}, []dissect.Packet{tcp(139, session(0x85, nil)), tcp(139, session(0x85, nil)), tcp(139, session(0x85, nil)), tcp(139, session(0x85, nil)), tcp(139, session(0x85, nil))}, dissect.NotMine, 0, "", ""},

		{"dhcp discover", &DHCP{}, []dissect.Packet{udp(67, dhcpDiscover())}, dissect.Done, dissect.DHCP, "", ""},
		{"dhcp off port", &DHCP{}, []dissect.Packet{udp(9999, dhcpDiscover())}, dissect.Done, dissect.DHCP, "", ""},
		{"dhcp bad cookie", &DHCP{}, []dissect.Packet{udp(67, mkDHCP(func(b []byte) { b[236] = 0 }))}, dissect.NotMine, 0, "", ""},
		{"dhcp op 3", &DHCP{}, []dissect.Packet{udp(67, mkDHCP(func(b []byte) { b[0] = 3 }))}, dissect.NotMine, 0, "", ""},
		{"dhcp option overrun", &DHCP{}, []dissect.Packet{udp(67, dhcpDiscover()[:250])}, dissect.NotMine, 0, "", ""},

		{"dhcpv6 solicit", &DHCPv6{}, []dissect.Packet{udp(547, dhcp6Solicit())}, dissect.Done, dissect.DHCPv6, "", ""},
		{"dhcpv6 wrong port", &DHCPv6{}, []dissect.Packet{udp(5000, dhcp6Solicit())}, dissect.NotMine, 0, "", ""},
		{"dhcpv6 trailing byte", &DHCPv6{}, []dissect.Packet{udp(547, append(dhcp6Solicit(), 0))}, dissect.NotMine, 0, "", ""},
		{"dhcpv6 type 14", &DHCPv6{}, []dissect.Packet{udp(547, append([]byte{14}, dhcp6Solicit()[1:]...))}, dissect.NotMine, 0, "", ""},

		{"ntp v4 client", &NTP{}, []dissect.Packet{udp(123, ntpPacket(4, 3))}, dissect.Done, dissect.NTP, "", ""},
		{"ntp v3 server with MAC", &NTP{}, []dissect.Packet{udp(123, append(ntpPacket(3, 4), make([]byte, 20)...))}, dissect.Done, dissect.NTP, "", ""},
		{"ntp v4 extension field", &NTP{}, []dissect.Packet{udp(123, append(ntpPacket(4, 3), 0x01, 0x04, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))}, dissect.Done, dissect.NTP, "", ""},
		{"ntp v2 monlist", &NTP{}, []dissect.Packet{{L4: 17, ClientPort: 123, ServerPort: 80, Payload: ntpMonlist()}}, dissect.Done, dissect.NTP, "", ""},
		{"ntp control", &NTP{}, []dissect.Packet{udp(123, ntpControl())}, dissect.Done, dissect.NTP, "", ""},
		{"ntp version 5", &NTP{}, []dissect.Packet{udp(123, ntpPacket(5, 3))}, dissect.NotMine, 0, "", ""},
		{"ntp odd length", &NTP{}, []dissect.Packet{udp(123, append(ntpPacket(4, 3), 1, 2, 3))}, dissect.NotMine, 0, "", ""},
		{"ntp wrong port", &NTP{}, []dissect.Packet{udp(1234, ntpPacket(4, 3))}, dissect.NotMine, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m dissect.Meta
			st := dissect.Continue
			for i := range tc.pkts {
				if st = tc.d.Feed(&tc.pkts[i], &m); st == dissect.Done || st == dissect.NotMine {
					break
				}
			}
			if st != tc.want || m.Proto != tc.proto || m.Host != tc.host || m.AppHint != tc.appHint {
				t.Errorf("got %v %v %q %q, want %v %v %q %q", st, m.Proto, m.Host, m.AppHint, tc.want, tc.proto, tc.host, tc.appHint)
			}
		})
	}
}

func all() map[string]func() dissect.Dissector {
	return map[string]func() dissect.Dissector{
		"SSDP":    func() dissect.Dissector { return &SSDP{} },
		"NetBIOS": func() dissect.Dissector { return &NetBIOS{} },
		"DHCP":    func() dissect.Dissector { return &DHCP{} },
		"DHCPv6":  func() dissect.Dissector { return &DHCPv6{} },
		"NTP":     func() dissect.Dissector { return &NTP{} },
	}
}

// TestRandomRejected feeds 100k random payloads to every type, on its own
// ports (the harshest case) and on random ones, over UDP and TCP.
func TestRandomRejected(t *testing.T) {
	ports := []uint16{1900, 137, 138, 139, 445, 67, 68, 546, 547, 123, 0}
	for name, mk := range all() {
		t.Run(name, func(t *testing.T) {
			dissecttest.RandomPayloads(t, mk, 0, ports, 100000, 0.001)
		})
	}
}

func TestNoAllocsReject(t *testing.T) {
	junk := []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 some bytes that are not a LAN protocol at all....")
	pkts := []dissect.Packet{udp(1900, junk), udp(137, junk), udp(123, junk), udp(547, junk), udp(67, junk), tcp(139, junk)}
	for name, mk := range all() {
		t.Run(name, func(t *testing.T) { dissecttest.NoAllocsReject(t, mk(), pkts...) })
	}
}

// BenchmarkAccept/SSDP-2     100000  164.1 ns/op   0 B/op  0 allocs/op
// BenchmarkAccept/NetBIOS-2  100000  134.4 ns/op  16 B/op  1 allocs/op (the Host string)
// BenchmarkAccept/DHCP-2     100000  11.71 ns/op   0 B/op  0 allocs/op
// BenchmarkAccept/DHCPv6-2   100000  38.88 ns/op   0 B/op  0 allocs/op
// BenchmarkAccept/NTP-2      100000  6.855 ns/op   0 B/op  0 allocs/op
func BenchmarkAccept(b *testing.B) {
	cases := []struct {
		name string
		d    dissect.Dissector
		p    dissect.Packet
	}{
		{"SSDP", &SSDP{}, udp(1900, []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n"))},
		{"NetBIOS", &NetBIOS{}, udp(137, nbQuery("WORKGROUP"))},
		{"DHCP", &DHCP{}, udp(67, dhcpDiscover())},
		{"DHCPv6", &DHCPv6{}, udp(547, dhcp6Solicit())},
		{"NTP", &NTP{}, udp(123, ntpPacket(4, 3))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var m dissect.Meta
			for i := 0; i < b.N; i++ {
				m = dissect.Meta{}
				c.d.Reset()
				c.d.Feed(&c.p, &m)
			}
		})
	}
}

func FuzzLAN(f *testing.F) {
	f.Add([]byte("M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"), uint16(1900), false)
	f.Add(nbQuery("WORKGROUP"), uint16(137), false)
	f.Add(nbDatagram("DESKTOP", []byte("\xffSMB\x25")), uint16(138), false)
	f.Add(session(0x81, append(encodeNB("A", 0x20), encodeNB("B", 0)...)), uint16(139), true)
	f.Add(session(0, []byte("\xfeSMB\x40\x00")), uint16(445), true)
	f.Add(dhcpDiscover(), uint16(67), false)
	f.Add(dhcp6Solicit(), uint16(547), false)
	f.Add(ntpPacket(4, 3), uint16(123), false)
	f.Add(ntpMonlist(), uint16(123), false)
	f.Add(ntpControl(), uint16(123), false)
	f.Fuzz(func(t *testing.T, b []byte, port uint16, isTCP bool) {
		p := udp(port, b)
		if isTCP {
			p.L4 = 6
		}
		for name, mk := range all() {
			var m dissect.Meta
			d := mk()
			st := d.Feed(&p, &m)
			if (st == dissect.Done || st == dissect.Identified) && m.Proto == dissect.Unknown {
				t.Fatalf("%s: accepted without proto", name)
			}
			for i := 0; i < len(m.Host); i++ {
				if c := m.Host[i]; c <= ' ' || c >= 0x7f || c >= 'A' && c <= 'Z' {
					t.Fatalf("%s: unsafe host %q", name, m.Host)
				}
			}
		}
	})
}
