package decode

import (
	"bytes"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/capture"
)

// A 3008-byte UDP datagram (5353 -> 53) split 1480/1480/48 as an MTU-1500
// IPv4 path would.
var (
	fragData = pattern(3000, 1)
	fragSeg  = cat(udpHdr(5353, 53, len(fragData)), fragData)
)

type piece struct {
	off  int
	data []byte
	more bool
}

func split(seg []byte, size int) []piece {
	var ps []piece
	for off := 0; off < len(seg); off += size {
		end := min(off+size, len(seg))
		ps = append(ps, piece{off, seg[off:end], end < len(seg)})
	}
	return ps
}

func frame4(id uint16, pc piece, vlans ...uint16) []byte {
	return cat(ethHdr(0x0800, vlans...), ipv4Hdr(17, id, pc.off, pc.more, len(pc.data)), pc.data)
}

func frame6(id uint32, nh uint8, pc piece) []byte {
	return cat(ethHdr(0x86dd), ipv6Hdr(44, 8+len(pc.data)), fragHdr6(nh, id, pc.off, pc.more), pc.data)
}

func flip(pc piece, i int) piece {
	d := bytes.Clone(pc.data)
	d[i] ^= 0xff
	pc.data = d
	return pc
}

func TestFragments4(t *testing.T) {
	ps := split(fragSeg, 1480)
	p0, p1, p2 := ps[0], ps[1], ps[2]
	zero := piece{1480, nil, true}
	// Overlaps 8 bytes of p0 with the same bytes (a resegmenting middlebox).
	shifted := piece{1472, fragSeg[1472:2960], true}
	type step struct {
		pc   piece
		want Result
		why  Reason
	}
	H := func(pc piece) step { return step{pc, Held, ReasonNone} }
	done := func(pc piece) step { return step{pc, OK, ReasonNone} }
	for _, tc := range []struct {
		name    string
		steps   []step
		dropped uint64 // Held frames discarded
	}{
		{"in-order", []step{H(p0), H(p1), done(p2)}, 0},
		{"reverse", []step{H(p2), H(p1), done(p0)}, 0},
		{"shuffled", []step{H(p1), H(p2), done(p0)}, 0},
		{"duplicate-middle", []step{H(p0), H(p1), H(p1), done(p2)}, 0},
		{"duplicate-last", []step{H(p2), H(p0), H(p2), done(p1)}, 0},
		{"zero-length", []step{H(p0), H(zero), H(p2), done(p1)}, 0},
		{"identical-partial-overlap", []step{H(p0), H(shifted), done(p2)}, 0},
		{"conflicting-overlap", []step{H(p0), {flip(p0, 100), Malformed, FragOverlap}, H(p1), H(p2)}, 1},
		{"conflicting-partial-overlap", []step{H(p0), {flip(shifted, 3), Malformed, FragOverlap}}, 1},
		{"last-end-differs", []step{H(p2), {piece{2960, fragSeg[2960:3000], false}, Malformed, FragOverlap}}, 1},
		{"past-known-end", []step{H(p2), H(p0), {piece{2960, cat(fragSeg[2960:], make([]byte, 8)), true}, Malformed, FragOverlap}}, 2},
		{"last-before-received-data", []step{H(p1), {piece{1400, fragSeg[1400:1480], false}, Malformed, FragOverlap}}, 1},
		{"too-big", []step{{piece{65528, make([]byte, 16), true}, Malformed, FragTooBig}}, 0},
		{"odd-length-middle", []step{{piece{0, fragSeg[:12], true}, Malformed, FragBadLength}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, DefaultConfig())
			var p Parsed
			wire := 0
			for i, s := range tc.steps {
				f := frame4(77, s.pc, 42)
				if s.want != Malformed {
					wire += len(f)
				}
				r := d.Decode(capture.LinkEthernet, f, len(f), int64(i), &p)
				if r != s.want || d.LastReason() != s.why {
					t.Fatalf("step %d: got %v/%v, want %v/%v", i, r, d.LastReason(), s.want, s.why)
				}
				if r == OK {
					want := view{Res: OK, Family: 4, Src: "192.0.2.1", Dst: "192.0.2.2", Proto: 17, SPort: 5353, DPort: 53,
						VLAN: 42, Payload: string(fragData), Frag: true, Frames: i + 1, WireLen: wire}
					diffView(t, viewOf(r, d, &p), want)
					if p.IPID != 77 {
						t.Errorf("IPID = %d", p.IPID)
					}
				}
			}
			if st := d.Stats(); st.FragDroppedFrames != tc.dropped {
				t.Errorf("FragDroppedFrames = %d, want %d", st.FragDroppedFrames, tc.dropped)
			}
		})
	}
}

func TestFragments6(t *testing.T) {
	// The fragmentable part starts with a destination options header.
	fragmentable := cat(hx("11 00 01 04 00 00 00 00  # dest opts: next=UDP"), fragSeg)
	ps := split(fragmentable, 1232)
	d := mustNew(t, DefaultConfig())
	var p Parsed
	order := []int{1, 2, 0}
	for i, k := range order {
		f := frame6(0xabcdef, 60, ps[k])
		r := d.Decode(capture.LinkEthernet, f, len(f), 0, &p)
		want := Held
		if i == len(order)-1 {
			want = OK
		}
		if r != want {
			t.Fatalf("fragment %d: got %v/%v, want %v", k, r, d.LastReason(), want)
		}
	}
	if p.Family != 6 || p.Proto != 17 || p.SrcPort != 5353 || p.DstPort != 53 || !bytes.Equal(p.Payload, fragData) ||
		!p.Fragmented || p.Frames != 3 || addrString(6, p.Src) != "2001:db8::1" {
		t.Errorf("reassembled: %+v", p)
	}
}

func TestFragmentTimeout(t *testing.T) {
	ps := split(fragSeg, 1480)
	d := mustNew(t, Config{Reassemble: true, FragTimeout: 30 * time.Second})
	var p Parsed
	sec := int64(time.Second)
	f0, f1, f2 := frame4(1, ps[0]), frame4(1, ps[1]), frame4(1, ps[2])
	d.Decode(capture.LinkEthernet, f0, len(f0), 0, &p)
	d.Decode(capture.LinkEthernet, f1, len(f1), 29*sec, &p)
	// 31 s after the first fragment: the datagram expires before f2 is
	// looked at, and f2 starts a new one that will never complete.
	if r := d.Decode(capture.LinkEthernet, f2, len(f2), 31*sec, &p); r != Held {
		t.Fatalf("got %v", r)
	}
	st := d.Stats()
	if st.Reasons[FragTimeout] != 1 || st.FragDroppedFrames != 2 || st.FragInProgress != 1 {
		t.Errorf("stats: timeout=%d dropped=%d inprogress=%d", st.Reasons[FragTimeout], st.FragDroppedFrames, st.FragInProgress)
	}
}

func TestFragmentTableFull(t *testing.T) {
	ps := split(fragSeg, 1480)
	d := mustNew(t, Config{Reassemble: true, MaxFragDatagrams: 2})
	var p Parsed
	for id := uint16(1); id <= 3; id++ {
		f := frame4(id, ps[0])
		if r := d.Decode(capture.LinkEthernet, f, len(f), 0, &p); r != Held {
			t.Fatalf("id %d: %v", id, r)
		}
	}
	if st := d.Stats(); st.Reasons[FragTableFull] != 1 || st.FragInProgress != 2 {
		t.Errorf("eviction: full=%d inprogress=%d", st.Reasons[FragTableFull], st.FragInProgress)
	}
	// id 1 was the oldest and is gone; id 3 still completes.
	for i, pc := range ps[1:] {
		f := frame4(3, pc)
		r := d.Decode(capture.LinkEthernet, f, len(f), 0, &p)
		if (i == 1) != (r == OK) {
			t.Fatalf("id 3 fragment %d: %v", i+1, r)
		}
	}
}

// With one slot, an outer datagram completing in this Decode holds it
// while the inner fragment it carries needs another: frag-table-full.
func TestFragmentTableFullNested(t *testing.T) {
	innerFrag := cat(ipv4Hdr(17, 5, 0, true, 16), fragSeg[:16])
	gre := cat(hx("00 00 08 00"), innerFrag)
	outer := split(gre, 24)
	d := mustNew(t, Config{Reassemble: true, MaxFragDatagrams: 1})
	var p Parsed
	var r Result
	for _, pc := range outer {
		f := cat(ipv4Hdr(47, 9, pc.off, pc.more, len(pc.data)), pc.data)
		r = d.Decode(capture.LinkRaw, f, len(f), 0, &p)
	}
	if r != Malformed || d.LastReason() != FragTableFull {
		t.Errorf("got %v/%v, want frag-table-full", r, d.LastReason())
	}
}

func TestFragmentTruncated(t *testing.T) {
	ps := split(fragSeg, 1480)
	f := frame4(1, ps[0])
	d := mustNew(t, DefaultConfig())
	var p Parsed
	if r := d.Decode(capture.LinkEthernet, f[:200], len(f), 0, &p); r != Malformed || d.LastReason() != FragTruncated {
		t.Errorf("got %v/%v", r, d.LastReason())
	}
}

func TestFragmentsNoReassembly(t *testing.T) {
	ps := split(fragSeg, 1480)
	d := mustNew(t, Config{})
	var p Parsed
	f := frame4(1, ps[0])
	if r := d.Decode(capture.LinkEthernet, f, len(f), 0, &p); r != OK || p.SrcPort != 5353 || p.DstPort != 53 || !p.Unreassembled || p.Fragmented {
		t.Errorf("first fragment: %v %+v", r, p)
	}
	f = frame4(1, ps[1])
	if r := d.Decode(capture.LinkEthernet, f, len(f), 0, &p); r != OK || p.SrcPort != 0 || p.Proto != 17 || !p.Unreassembled || len(p.Payload) != 1480 {
		t.Errorf("second fragment: %v %+v", r, p)
	}
}

// Fragmented outer packets carrying a tunnel, and tunnels carrying
// fragments: both reach the inner flow.
func TestFragmentsAndTunnels(t *testing.T) {
	inner := cat(ipv4Hdr(17, 1, 0, false, len(fragSeg)), fragSeg)
	t.Run("gre-over-fragmented-ipv4", func(t *testing.T) {
		gre := cat(hx("00 00 08 00"), inner)
		d := mustNew(t, DefaultConfig())
		var p Parsed
		var r Result
		for _, pc := range split(gre, 1480) {
			f := cat(ethHdr(0x0800, 42), ipv4Hdr(47, 9, pc.off, pc.more, len(pc.data)), pc.data)
			r = d.Decode(capture.LinkEthernet, f, len(f), 0, &p)
		}
		if r != OK || p.Tunnel != TunnelGRE || p.VLAN != 42 || p.SrcPort != 5353 || p.Frames != 3 || !bytes.Equal(p.Payload, fragData) {
			t.Errorf("got %v/%v %+v", r, d.LastReason(), p)
		}
	})
	t.Run("fragments-inside-vxlan", func(t *testing.T) {
		d := mustNew(t, DefaultConfig())
		var p Parsed
		var r Result
		wire := 0
		for _, pc := range split(fragSeg, 1400) {
			in := cat(ethHdr(0x0800), ipv4Hdr(17, 3, pc.off, pc.more, len(pc.data)), pc.data)
			vx := cat(udpHdr(40000, 4789, 8+len(in)), hx("08 00 00 00 00 04 57 00"), in)
			f := cat(ethHdr(0x0800, 5), ipv4Hdr(17, 1, 0, false, len(vx)), vx)
			wire += len(f)
			r = d.Decode(capture.LinkEthernet, f, len(f), 0, &p)
		}
		if r != OK || p.Tunnel != TunnelVXLAN || p.VLAN != 5 || p.DstPort != 53 || p.Frames != 3 || p.WireLen != wire ||
			!bytes.Equal(p.Payload, fragData) {
			t.Errorf("got %v/%v %+v", r, d.LastReason(), p)
		}
	})
}
