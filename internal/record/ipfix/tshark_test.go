package ipfix

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/record"
)

// writePcap wraps IPFIX messages in synthetic IPv4/UDP headers
// (192.0.2.1:50000 → 192.0.2.2:4739) and writes a raw-IP pcap.
func writePcap(t *testing.T, path string, msgs [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w := capture.NewPcapWriter(&buf, capture.LinkRaw, true)
	for i, m := range msgs {
		pkt := make([]byte, 28+len(m))
		ip := pkt[:20]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(len(pkt)))
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		ip[8], ip[9] = 64, 17
		copy(ip[12:], []byte{192, 0, 2, 1})
		copy(ip[16:], []byte{192, 0, 2, 2})
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[j:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := pkt[20:28]
		binary.BigEndian.PutUint16(udp[0:], 50000)
		binary.BigEndian.PutUint16(udp[2:], 4739)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(m)))
		copy(pkt[28:], m)
		if err := w.WritePacket(t0.UnixNano()+int64(i)*1000, pkt, len(pkt)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tsharkDecode(t *testing.T, recs ...*record.Record) string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	msgs := encodeAll(t, Config{ObservationDomain: 99}, recs...)
	p := filepath.Join(t.TempDir(), "ipfix.pcap")
	writePcap(t, p, msgs)
	if os.Getenv("IPFIX_KEEP_PCAP") != "" {
		os.WriteFile(os.Getenv("IPFIX_KEEP_PCAP"), mustRead(t, p), 0o644)
	}
	out, err := exec.Command(tshark, "-r", p, "-V", "-d", "udp.port==4739,cflow").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	return string(out)
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTshark checks that Wireshark's IPFIX dissector, an independent
// decoder, reads every field back: the expected lines must appear in this
// order in tshark -V output.
func TestTshark(t *testing.T) {
	r := tlsRecord()
	r.Class.Host = "www.facebook.com"
	out := tsharkDecode(t, r, dnsRecord6(), oneWayRecord())
	want := []string{
		"Version: 10",
		"FlowSequence: 0",
		"Observation Domain Id: 99",
		"Template (Id = 256, Count = 19)",
		"PEN: Example Enterprise Number for Documentation Use (32473)",
		"Template (Id = 257, Count = 19)",
		"Set 2 [id=256] (2 flows)",
		// TLS, client → server
		"SrcAddr: 192.0.2.77", "DstAddr: 198.51.100.1", "SrcPort: 40000", "DstPort: 443",
		"Protocol: TCP (6)", "Octets: 1000", "Packets: 10",
		"[Duration: 1.500000000 seconds",
		"StartTime: May  6, 2026 07:08:09.123000000 UTC",
		"EndTime: May  6, 2026 07:08:10.623000000 UTC",
		"Flow End Reason: Idle timeout (1)",
		"ForwardingStatus: Drop (2)", "ForwardingStatusDropCode: Drop ACL Deny (1)",
		"Vlan Id: 7",
		"Classification Engine ID: PANA-L7-PEN (20)",
		"Selector ID: 00007ed90008",
		"ApplicationName: facebook",
		"(Example Enterprise Number for Documentation Use) Type 1: Value (hex bytes): 77 77 77 2e 66 61 63 65 62 6f 6f 6b 2e 63 6f 6d", // www.facebook.com
		"Type 2: Value (hex bytes): 6e 6f 2d 73 6f 63 69 61 6c",                                                                        // no-social
		"Type 3: Value (hex bytes): 54 4c 53",                                                                                          // TLS
		"Type 4: Value (hex bytes): 73 6f 63 69 61 6c",                                                                                 // social
		"Type 5: Value (hex bytes): 01",
		// TLS, server → client
		"SrcAddr: 198.51.100.1", "DstAddr: 192.0.2.77", "SrcPort: 443", "DstPort: 40000",
		"Octets: 9000", "Packets: 8", "Type 5: Value (hex bytes): 02",
		// DNS over IPv6
		"Set 3 [id=257] (2 flows)",
		"SrcAddr: 2001:db8::7", "DstAddr: 2001:db8:1::53", "SrcPort: 5353", "DstPort: 53",
		"Protocol: UDP (17)", "Octets: 80",
		"EndTime: May  6, 2026 07:08:09.143000000 UTC",
		"Flow End Reason: Forced end (4)",
		"ForwardingStatus: Unknown (0)",
		"Selector ID: 00007ed90001",
		"ApplicationName: DNS",
		"Type 1: Value (hex bytes): 65 78 61 6d 70 6c 65 2e 6f 72 67", // example.org
		"SrcAddr: 2001:db8:1::53", "Octets: 120",
		// ICMP, one direction, unclassified
		"Set 4 [id=256] (1 flows)",
		"SrcAddr: 10.0.0.1", "DstAddr: 10.0.0.2", "Protocol: ICMP (1)", "Octets: 294", "Packets: 3",
		"Flow End Reason: Lack of resources (5)",
		"Selector ID: 00007ed90000",
	}
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("tshark output lacks %q (in order); output:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
	if strings.Contains(out, "Malformed") || strings.Contains(out, "Expert Info") {
		t.Errorf("tshark reports problems:\n%s", out)
	}
}
