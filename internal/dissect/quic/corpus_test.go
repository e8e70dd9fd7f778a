package quic

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
)

// This file is a deliberately small, test-only capture reader: classic pcap
// and pcapng (EPB/SPB), link types Ethernet (with VLAN tags) and Linux
// cooked capture v1, IPv4/IPv6 without fragments, UDP only. It groups UDP
// payloads into flows whose client is the first sender.

// corpusDir returns <repo root>/../shared/corpus/ndpi or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "ndpi")
	if _, err := os.Stat(filepath.Join(c, "pcap")); err != nil {
		t.Skip("nDPI corpus not found at ../shared/corpus/ndpi")
	}
	return c
}

type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
}

type corpusFlow struct {
	client, server         [16]byte
	clientPort, serverPort uint16
	v4                     bool
	pkts                   []dissect.Packet
}

// readUDPFlows returns the UDP flows of a capture in order of first packet.
func readUDPFlows(t testing.TB, path string) []*corpusFlow {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var flows []*corpusFlow
	index := map[flowKey]*corpusFlow{}
	add := func(link uint32, frame []byte) {
		src, dst, sp, dp, v4, payload, ok := decodeUDP(link, frame)
		if !ok || len(payload) == 0 {
			return
		}
		k := flowKey{a: src, b: dst, pa: sp, pb: dp}
		dir := dissect.ToServer
		f := index[k]
		if f == nil {
			f = index[flowKey{a: dst, b: src, pa: dp, pb: sp}]
			dir = dissect.ToClient
		}
		if f == nil {
			f = &corpusFlow{client: src, server: dst, clientPort: sp, serverPort: dp, v4: v4}
			index[k] = f
			flows = append(flows, f)
			dir = dissect.ToServer
		}
		f.pkts = append(f.pkts, dissect.Packet{
			Dir: dir, L4: 17, ClientPort: f.clientPort, ServerPort: f.serverPort,
			Index: len(f.pkts) + 1, Payload: append([]byte(nil), payload...),
		})
	}
	if len(raw) < 24 {
		t.Fatalf("%s: short file", path)
	}
	switch binary.BigEndian.Uint32(raw) {
	case 0x0a0d0d0a:
		var links []uint32
		var le binary.ByteOrder = binary.LittleEndian
		for off := 0; off+12 <= len(raw); {
			if binary.BigEndian.Uint32(raw[off:]) == 0x0a0d0d0a {
				if binary.LittleEndian.Uint32(raw[off+8:]) == 0x1a2b3c4d {
					le = binary.LittleEndian
				} else {
					le = binary.BigEndian
				}
				links = links[:0]
			}
			typ, blen := le.Uint32(raw[off:]), int(le.Uint32(raw[off+4:]))
			if blen < 12 || off+blen > len(raw) {
				break
			}
			body := raw[off+8 : off+blen-4]
			switch typ {
			case 1:
				links = append(links, uint32(le.Uint16(body)))
			case 6:
				if len(body) >= 20 {
					ifc, capLen := le.Uint32(body), int(le.Uint32(body[12:]))
					if int(ifc) < len(links) && 20+capLen <= len(body) {
						add(links[ifc], body[20:20+capLen])
					}
				}
			case 3:
				if len(links) > 0 && len(body) >= 4 {
					add(links[0], body[4:])
				}
			}
			off += blen
		}
	default:
		var bo binary.ByteOrder = binary.LittleEndian
		if m := binary.BigEndian.Uint32(raw); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
			bo = binary.BigEndian
		}
		link := bo.Uint32(raw[20:])
		for off := 24; off+16 <= len(raw); {
			capLen := int(bo.Uint32(raw[off+8:]))
			if off+16+capLen > len(raw) {
				break
			}
			add(link, raw[off+16:off+16+capLen])
			off += 16 + capLen
		}
	}
	return flows
}

func decodeUDP(link uint32, b []byte) (src, dst [16]byte, sp, dp uint16, v4 bool, payload []byte, ok bool) {
	var etype uint16
	switch link {
	case 1: // Ethernet
		if len(b) < 14 {
			return
		}
		etype, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for (etype == 0x8100 || etype == 0x88a8) && len(b) >= 4 {
			etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case 113: // Linux cooked capture v1
		if len(b) < 16 {
			return
		}
		etype, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	default:
		return
	}
	var proto byte
	switch etype {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return
		}
		ihl := int(b[0]&0x0f) * 4
		tot := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || tot < ihl || tot > len(b) || binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
			return
		}
		proto, v4 = b[9], true
		copy(src[:], b[12:16])
		copy(dst[:], b[16:20])
		b = b[ihl:tot]
	case 0x86dd:
		if len(b) < 40 {
			return
		}
		pl := int(binary.BigEndian.Uint16(b[4:]))
		if 40+pl > len(b) {
			return
		}
		proto = b[6]
		copy(src[:], b[8:24])
		copy(dst[:], b[24:40])
		b = b[40 : 40+pl]
	default:
		return
	}
	if proto != 17 || len(b) < 8 {
		return
	}
	ul := int(binary.BigEndian.Uint16(b[4:]))
	if ul < 8 || ul > len(b) {
		return
	}
	return src, dst, binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), v4, b[8:ul], true
}
