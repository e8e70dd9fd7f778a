package engine_test

import (
	"encoding/binary"
	"testing"

	"github.com/weirnet/weir/internal/capture"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
)

func newTestClassifier(t testing.TB, on bool) *classify.Classifier {
	if !on {
		return nil
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	return classify.New(classify.DefaultConfig(), classify.CatalogApps(cat))
}

// frame describes one Ethernet/IPv4 TCP or UDP frame for the engine tests.
type frame struct {
	udp          bool
	src, dst     [4]byte
	sport, dport uint16
	flags        byte   // TCP
	seq, ack     uint32 // TCP
}

// packet builds f with payload, captured at ts.
func (f frame) packet(payload []byte, ts int64) *capture.Packet {
	l4, proto := 20, byte(6)
	if f.udp {
		l4, proto = 8, 17
	}
	b := make([]byte, 14+20+l4+len(payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+l4+len(payload)))
	copy(ip[12:], f.src[:])
	copy(ip[16:], f.dst[:])
	h := ip[20:]
	binary.BigEndian.PutUint16(h[0:], f.sport)
	binary.BigEndian.PutUint16(h[2:], f.dport)
	if f.udp {
		binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	} else {
		binary.BigEndian.PutUint32(h[4:], f.seq)
		binary.BigEndian.PutUint32(h[8:], f.ack)
		h[12], h[13] = 5<<4, f.flags
		h[14], h[15] = 0xff, 0xff
	}
	copy(h[l4:], payload)
	return &capture.Packet{Data: b, WireLen: len(b), TS: ts, LinkType: capture.LinkEthernet}
}

// reversed is f sent the other way.
func (f frame) reversed() frame {
	f.src, f.dst, f.sport, f.dport = f.dst, f.src, f.dport, f.sport
	return f
}
