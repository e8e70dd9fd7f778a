package enforce

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/flow"
)

// TestSetKeys_roundTrip: the keys the set writer builds for a flow (both
// directions) parse back, as the counter reader sees them, to the flow's
// own addresses, ports and protocol, and credit the right flow and side.
func TestSetKeys_roundTrip(t *testing.T) {
	for _, tc := range []struct {
		client, server netip.AddrPort
		proto          uint8
	}{
		{netip.MustParseAddrPort("10.200.1.2:40312"), netip.MustParseAddrPort("10.200.2.2:443"), 6},
		{netip.MustParseAddrPort("[fd00:200:1::2]:5353"), netip.MustParseAddrPort("[fd00:200:2::2]:443"), 17},
	} {
		tb := flow.New(flow.Config{})
		p := parsedFor(tc.client, tc.server, tc.proto)
		id, _, _ := tb.Update(p, 1)
		w := newSetWriter(t.Logf)
		w.add(tb.Flow(id), markAllow)
		if len(w.ch) != 2 {
			t.Fatalf("%v: %d elements queued, want 2", tc.client, len(w.ch))
		}
		for range 2 {
			el := <-w.ch
			var q decode.Parsed
			if !parseSetKey(el.key[:el.klen], &q) {
				t.Fatalf("%v: key %x does not parse", tc.client, el.key[:el.klen])
			}
			if !tb.Credit(&q, 10, 1000, 2) {
				t.Errorf("%v: key %x names no live flow", tc.client, el.key[:el.klen])
			}
		}
		f := tb.Flow(id)
		if f.Side[flow.FromClient].Bytes != uint64(p.WireLen)+1000 || f.Side[flow.FromServer].Bytes != 1000 {
			t.Errorf("%v: credited sides %+v", tc.client, f.Side)
		}
	}
}

func parsedFor(src, dst netip.AddrPort, proto uint8) *decode.Parsed {
	p := &decode.Parsed{Proto: proto, SrcPort: src.Port(), DstPort: dst.Port(), WireLen: 60, Frames: 1, TCPFlags: 0x02}
	p.Family = 4
	if src.Addr().Is6() {
		p.Family = 6
		p.Src, p.Dst = src.Addr().As16(), dst.Addr().As16()
	} else {
		a, b := src.Addr().As4(), dst.Addr().As4()
		copy(p.Src[:], a[:])
		copy(p.Dst[:], b[:])
	}
	return p
}

// FuzzParseSetKey: any bytes a set dump could hold parse or are refused,
// without a panic, and a parsed key names a TCP/UDP-sized 5-tuple.
func FuzzParseSetKey(f *testing.F) {
	f.Add(make([]byte, 20))
	f.Add(make([]byte, 44))
	f.Add([]byte{10, 200, 1, 2, 10, 200, 2, 2, 6, 0, 0, 0, 0x9d, 0x78, 0, 0, 1, 0xbb, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, key []byte) {
		var p decode.Parsed
		if !parseSetKey(key, &p) {
			if len(key) == 20 || len(key) == 44 {
				t.Fatalf("a %d-byte key was refused", len(key))
			}
			return
		}
		if (p.Family == 4) != (len(key) == 20) {
			t.Fatalf("family %d for a %d-byte key", p.Family, len(key))
		}
	})
}

// FuzzParseDumpReply: any bytes read from the netlink socket parse into
// elements or end the dump, without a panic or an out-of-range slice.
func FuzzParseDumpReply(f *testing.F) {
	// A real reply shape: one message with one element (key, expiration,
	// counter), then NLMSG_DONE.
	var elem []byte
	key := appendAttrBytes(nil, nftaDataValue, make([]byte, 20))
	elem = appendAttrBytes(elem, nftaSetElemKey|0x8000, key)
	elem = appendAttrBytes(elem, nftaSetElemExpiration, []byte{0, 0, 0, 0, 0, 0, 0x27, 0x10})
	cdata := appendAttrBytes(nil, nftaCounterBytes, []byte{0, 0, 0, 0, 0, 0, 0x10, 0})
	cdata = appendAttrBytes(cdata, nftaCounterPackets, []byte{0, 0, 0, 0, 0, 0, 0, 3})
	expr := appendAttrString(nil, nftaExprName, "counter")
	expr = appendAttrBytes(expr, nftaExprData|0x8000, cdata)
	elem = appendAttrBytes(elem, nftaSetElemExpr|0x8000, expr)
	list := appendAttrBytes(nil, nftaListElem|0x8000, elem)
	body := append([]byte{nfprotoInet, 0, 0, 0}, appendAttrBytes(nil, nftaSetElemListElems|0x8000, list)...)
	msg := nlmsg(nfnlSubsysNftables<<8|12, 7, body)
	msg = append(msg, nlmsg(nlmsgDone, 7, make([]byte, 4))...)
	var got []dumpedElem
	done, err := parseDumpReply(msg, 7, "allow4", func(e *dumpedElem) { got = append(got, *e) })
	if !done || err != nil || len(got) != 1 || !got[0].counted || got[0].packets != 3 || got[0].bytes != 4096 ||
		len(got[0].key) != 20 || got[0].expires != 10*time.Second {
		f.Fatalf("seed reply: done %v err %v elements %+v", done, err, got)
	}
	f.Add(msg, uint32(7))
	f.Add(msg[:len(msg)-3], uint32(7))
	f.Add(nlmsg(nlmsgError, 7, []byte{0xfe, 0xff, 0xff, 0xff}), uint32(7))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		parseDumpReply(b, seq, "s", func(e *dumpedElem) {
			var p decode.Parsed
			parseSetKey(e.key, &p)
		})
	})
}

func appendAttrBytes(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nlmsg(typ uint16, seq uint32, body []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(nlmsgHdrLen+len(body)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, 0)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	return append(b, body...)
}
