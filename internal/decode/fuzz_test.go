package decode

import (
	"encoding/binary"
	"testing"

	"github.com/weirnet/weir/internal/capture"
)

// pack concatenates frames, each behind a 2-byte length, for the fuzzer's
// "more" argument.
func pack(frames ...[]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

var allLinks = []capture.LinkType{capture.LinkNull, capture.LinkEthernet, capture.LinkRaw, capture.LinkLoop,
	capture.LinkSLL, capture.LinkIPv4, capture.LinkIPv6, capture.LinkSLL2}

// FuzzDecode decodes frame, then the frames packed in more (same link),
// then frame again and frame as if snaplen had cut it, on one Decoder with
// a small reassembly table: no panic, and every frame is counted once.
func FuzzDecode(f *testing.F) {
	for _, tc := range allCases() {
		f.Add(uint16(tc.link), hx(tc.frame), []byte(nil))
	}
	for _, l := range allLinks {
		f.Add(uint16(l), hx(ipv4UDP), []byte(nil))
	}
	var fr4, fr6 [][]byte
	for _, pc := range split(fragSeg[:200], 64) {
		fr4 = append(fr4, frame4(7, pc, 42))
		fr6 = append(fr6, frame6(9, 17, pc))
	}
	f.Add(uint16(capture.LinkEthernet), fr4[0], pack(fr4[1:]...))
	f.Add(uint16(capture.LinkEthernet), fr6[2], pack(fr6[0], fr6[1], fr6[3]))
	gre := cat(hx("00 00 08 00"), cat(ipv4Hdr(17, 5, 0, true, 16), fragSeg[:16]))
	var nested [][]byte
	for _, pc := range split(gre, 24) {
		nested = append(nested, cat(ipv4Hdr(47, 9, pc.off, pc.more, len(pc.data)), pc.data))
	}
	f.Add(uint16(capture.LinkRaw), nested[0], pack(nested[1:]...))

	f.Fuzz(func(t *testing.T, link uint16, frame, more []byte) {
		d, err := New(Config{Reassemble: true, MaxFragDatagrams: 4})
		if err != nil {
			t.Fatal(err)
		}
		lt := capture.LinkType(link)
		var p Parsed
		n := 0
		check := func(b []byte, wire int) {
			n++
			r := d.Decode(lt, b, wire, int64(n)*1e9, &p)
			switch r {
			case OK:
				if p.Family != 4 && p.Family != 6 {
					t.Fatalf("OK with family %d", p.Family)
				}
				if p.Frames < 1 || p.WireLen < 0 {
					t.Fatalf("OK with frames=%d wire=%d", p.Frames, p.WireLen)
				}
			case Malformed:
				if d.LastReason() == ReasonNone {
					t.Fatal("Malformed without a reason")
				}
			case NotIP, Held:
			default:
				t.Fatalf("result %d", r)
			}
		}
		check(frame, len(frame))
		for b := more; len(b) >= 2; {
			l := min(int(binary.BigEndian.Uint16(b)), len(b)-2)
			check(b[2:2+l], l)
			b = b[2+l:]
		}
		check(frame, len(frame))
		check(frame, len(frame)+1000)
		st := d.Stats()
		var sum uint64
		for _, c := range st.Results {
			sum += c
		}
		if sum != uint64(n) {
			t.Fatalf("%d results counted for %d frames", sum, n)
		}
	})
}
