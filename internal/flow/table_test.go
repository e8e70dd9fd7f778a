package flow_test

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/flow"
)

func v4(a, b, c, d byte) (r [16]byte) { r[0], r[1], r[2], r[3] = a, b, c, d; return }

func pkt(src, dst [16]byte, sp, dp uint16, proto, flags uint8, wire int) *decode.Parsed {
	return &decode.Parsed{Family: 4, Src: src, Dst: dst, SrcPort: sp, DstPort: dp, Proto: proto, TCPFlags: flags, WireLen: wire, Frames: 1}
}

const sec = int64(time.Second)

var (
	cli = v4(10, 0, 0, 9) // numerically higher than srv: the client is Key.Hi
	srv = v4(10, 0, 0, 1)
)

func TestTable_Update_bidirectional(t *testing.T) {
	tb := flow.New(flow.Config{})
	id, dir, created := tb.Update(pkt(cli, srv, 40000, 443, 6, flow.FlagSYN, 74), 1*sec)
	if !created || dir != flow.FromClient {
		t.Fatalf("SYN: created=%v dir=%v", created, dir)
	}
	id2, dir, created := tb.Update(pkt(srv, cli, 443, 40000, 6, flow.FlagSYN|flow.FlagACK, 74), 2*sec)
	if created || id2 != id || dir != flow.FromServer {
		t.Fatalf("SYN-ACK: id=%d/%d created=%v dir=%v", id2, id, created, dir)
	}
	tb.Update(pkt(cli, srv, 40000, 443, 6, flow.FlagACK, 1500), 3*sec)
	f := tb.Flow(id)
	if got := f.Side[flow.FromClient]; got.Packets != 2 || got.Bytes != 1574 || got.First != sec || got.Last != 3*sec {
		t.Errorf("client side = %+v", got)
	}
	if got := f.Side[flow.FromServer]; got.Packets != 1 || got.Bytes != 74 {
		t.Errorf("server side = %+v", got)
	}
	if f.ClientPort() != 40000 || f.ServerPort() != 443 || f.ClientIsLo {
		t.Errorf("roles: client port %d server port %d clientIsLo %v", f.ClientPort(), f.ServerPort(), f.ClientIsLo)
	}
	if f.First() != sec || f.Last() != 3*sec {
		t.Errorf("first/last %d %d", f.First(), f.Last())
	}
}

func TestTable_Update_initiator(t *testing.T) {
	tests := []struct {
		name       string
		pkts       []*decode.Parsed
		clientIsLo bool
	}{
		{"syn-ack-first", []*decode.Parsed{pkt(srv, cli, 443, 40000, 6, flow.FlagSYN|flow.FlagACK, 60)}, false},
		{"data-first-from-server", []*decode.Parsed{pkt(srv, cli, 443, 40000, 6, flow.FlagACK, 60)}, true},
		{"mid-stream-then-syn", []*decode.Parsed{
			pkt(srv, cli, 443, 40000, 6, flow.FlagACK, 60),
			pkt(cli, srv, 40000, 443, 6, flow.FlagSYN, 60),
		}, false},
		{"udp-first-sender", []*decode.Parsed{pkt(cli, srv, 5000, 53, 17, 0, 80), pkt(srv, cli, 53, 5000, 17, 0, 120)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := flow.New(flow.Config{})
			var id flow.ID
			for i, p := range tt.pkts {
				id, _, _ = tb.Update(p, int64(i+1)*sec)
			}
			if tb.Len() != 1 {
				t.Fatalf("%d flows, want 1", tb.Len())
			}
			if got := tb.Flow(id).ClientIsLo; got != tt.clientIsLo {
				t.Errorf("ClientIsLo = %v, want %v", got, tt.clientIsLo)
			}
		})
	}
	// Mid-stream then SYN: counters follow the roles.
	tb := flow.New(flow.Config{})
	tb.Update(pkt(srv, cli, 443, 40000, 6, flow.FlagACK, 100), sec)
	id, dir, _ := tb.Update(pkt(cli, srv, 40000, 443, 6, flow.FlagSYN, 60), 2*sec)
	f := tb.Flow(id)
	if dir != flow.FromClient || f.Side[flow.FromServer].Bytes != 100 || f.Side[flow.FromClient].Bytes != 60 {
		t.Errorf("after re-orientation: dir %v sides %+v", dir, f.Side)
	}
}

func TestTable_Update_keys(t *testing.T) {
	tb := flow.New(flow.Config{})
	tb.Update(pkt(cli, srv, 1, 2, 17, 0, 60), sec)
	p := pkt(cli, srv, 1, 2, 17, 0, 60)
	p.VLAN = 7
	tb.Update(p, sec)                              // another VLAN: another flow
	tb.Update(pkt(cli, srv, 1, 2, 6, 0, 60), sec)  // another protocol
	tb.Update(pkt(cli, srv, 1, 3, 17, 0, 60), sec) // another port
	// ICMP echo request and reply (type in SrcPort) share a flow.
	tb.Update(pkt(cli, srv, 8<<8, 77, 1, 0, 98), sec)
	tb.Update(pkt(srv, cli, 0, 77, 1, 0, 98), sec)
	if tb.Len() != 5 {
		t.Errorf("%d flows, want 5", tb.Len())
	}
}

func TestTable_Expire(t *testing.T) {
	var ended []flow.EndReason
	tb := flow.New(flow.Config{UDPIdle: 10 * time.Second, TCPIdle: 100 * time.Second, TCPClosedIdle: 5 * time.Second})
	tb.OnEnd = func(id flow.ID, f *flow.Flow, why flow.EndReason) { ended = append(ended, why) }
	tb.Update(pkt(cli, srv, 1, 53, 17, 0, 60), 0)
	tb.Update(pkt(cli, srv, 2, 80, 6, flow.FlagSYN, 60), 0)
	tb.Update(pkt(cli, srv, 3, 80, 6, flow.FlagRST, 60), 0)
	tb.Expire(6 * sec)
	if tb.Len() != 2 || len(ended) != 1 {
		t.Fatalf("after 6 s: %d live, %d ended; want the RST flow gone", tb.Len(), len(ended))
	}
	tb.Expire(11 * sec)
	if tb.Len() != 1 {
		t.Fatalf("after 11 s: %d live, want the TCP flow only", tb.Len())
	}
	tb.Expire(101 * sec)
	if tb.Len() != 0 || len(ended) != 3 || ended[2] != flow.EndIdle {
		t.Fatalf("after 101 s: %d live, ended %v", tb.Len(), ended)
	}
}

// Packet time going back past ClockJump (captures joined end to end, pcap
// seconds wrapping) ends the flows of the earlier time base; going back
// less (reordering) ends nothing.
func TestTable_TimeJump(t *testing.T) {
	ended := map[uint16]flow.EndReason{}
	tb := flow.New(flow.Config{ClockJump: 10 * time.Minute})
	tb.OnEnd = func(id flow.ID, f *flow.Flow, why flow.EndReason) { ended[f.ClientPort()] = why }
	const later = 100_000 * sec
	tb.Update(pkt(cli, srv, 1, 53, 17, 0, 60), later)
	tb.Update(pkt(cli, srv, 2, 80, 6, flow.FlagSYN, 60), later)
	tb.Update(pkt(cli, srv, 3, 53, 17, 0, 60), later-5*60*sec)
	tb.Expire(later - 9*60*sec) // back 9 minutes: reordering
	if len(ended) != 0 {
		t.Fatalf("back 9 minutes ended %v", ended)
	}
	tb.Update(pkt(cli, srv, 4, 53, 17, 0, 60), 60*sec)
	tb.Expire(60 * sec) // back 27 hours: a new time base
	if tb.Len() != 1 || len(ended) != 3 || ended[1] != flow.EndTimeJump || ended[2] != flow.EndTimeJump || ended[3] != flow.EndTimeJump {
		t.Fatalf("after the jump: %d live, ended %v", tb.Len(), ended)
	}
	if got := tb.Stats().Ended[flow.EndTimeJump]; got != 3 {
		t.Errorf("Ended[EndTimeJump] = %d", got)
	}
	if flow.EndTimeJump.String() != "time-jump" {
		t.Errorf("String = %q", flow.EndTimeJump.String())
	}
}

func TestTable_ActiveTimeout(t *testing.T) {
	var records int
	tb := flow.New(flow.Config{ActiveTimeout: 60 * time.Second, UDPIdle: time.Hour})
	tb.OnEnd = func(id flow.ID, f *flow.Flow, why flow.EndReason) {
		if why == flow.EndActive {
			records++
		}
	}
	for i := range 200 {
		tb.Update(pkt(cli, srv, 1, 2, 17, 0, 60), int64(i)*sec)
	}
	if records != 3 || tb.Len() != 1 {
		t.Errorf("active-timeout records %d (want 3), live %d", records, tb.Len())
	}
}

// A flood of random flows must not grow the table past its cap; the
// longest-idle flows are evicted and counted.
func TestTable_FloodStaysBounded(t *testing.T) {
	const maxFlows = 4096
	tb := flow.New(flow.Config{MaxFlows: maxFlows})
	r := rand.New(rand.NewPCG(1, 2))
	keep := pkt(cli, srv, 9, 9, 17, 0, 60)
	var slab int
	for i := range 200_000 {
		p := pkt(v4(byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())), srv, uint16(r.Uint32()), 80, 17, 0, 60)
		tb.Update(p, int64(i))
		tb.Update(keep, int64(i)) // an active flow is never the longest idle
		if i == 50_000 {
			slab = tb.Stats().SlabBytes
		}
	}
	st := tb.Stats()
	if st.Live > maxFlows || st.Peak > maxFlows {
		t.Errorf("live %d peak %d > cap %d", st.Live, st.Peak, maxFlows)
	}
	if st.Evicted() < 190_000 {
		t.Errorf("evicted %d, want ~196k", st.Evicted())
	}
	if st.SlabBytes != slab {
		t.Errorf("slab grew after the cap was reached: %d -> %d", slab, st.SlabBytes)
	}
	if max := maxFlows * flow.CoreBytesPerFlow * 2; st.SlabBytes > max {
		t.Errorf("slab %d bytes > %d", st.SlabBytes, max)
	}
	id, _, created := tb.Update(keep, 1<<40)
	if created || tb.Flow(id).Side[0].Packets != 200_001 {
		t.Errorf("the busy flow was evicted")
	}
}

func TestFlowSize(t *testing.T) {
	t.Logf("Flow %d bytes, core bytes per tracked flow %d", unsafe.Sizeof(flow.Flow{}), flow.CoreBytesPerFlow)
	if flow.CoreBytesPerFlow > 200 {
		t.Errorf("core state per flow %d bytes > 200", flow.CoreBytesPerFlow)
	}
}

func TestTable_Update_noAllocs(t *testing.T) {
	tb := flow.New(flow.Config{MaxFlows: 1000})
	ps := make([]*decode.Parsed, 5000)
	for i := range ps {
		ps[i] = pkt(v4(10, 1, byte(i>>8), byte(i)), srv, uint16(i), 443, 6, flow.FlagACK, 100)
	}
	ts := int64(0)
	run := func() {
		for _, p := range ps {
			ts++
			tb.Update(p, ts)
		}
		tb.Expire(ts)
	}
	run() // warm up: the slab reaches its cap
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("Update allocates %v times per run, want 0", n)
	}
}

// BenchmarkTable_Update: 64k live flows, round robin.
func BenchmarkTable_Update(b *testing.B) {
	tb := flow.New(flow.Config{})
	ps := make([]decode.Parsed, 1<<16)
	for i := range ps {
		ps[i] = *pkt(v4(10, 1, byte(i>>8), byte(i)), srv, uint16(i), 443, 6, flow.FlagACK, 100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb.Update(&ps[i&(len(ps)-1)], int64(i))
	}
}

// TestTable_Credit: counts forwarded outside the table land on the live
// flow in the right direction and keep it from idling out; an unknown
// 5-tuple is refused.
func TestTable_Credit(t *testing.T) {
	tb := flow.New(flow.Config{UDPIdle: 10 * time.Second})
	id, _, _ := tb.Update(pkt(cli, srv, 40000, 443, 17, 0, 1200), 1*sec)
	if !tb.Credit(pkt(srv, cli, 443, 40000, 17, 0, 0), 100, 150000, 8*sec) {
		t.Fatal("live flow not credited")
	}
	if !tb.Credit(pkt(cli, srv, 40000, 443, 17, 0, 0), 5, 500, 9*sec) {
		t.Fatal("live flow not credited")
	}
	f := tb.Flow(id)
	if c, s := f.Side[flow.FromClient], f.Side[flow.FromServer]; c.Packets != 6 || c.Bytes != 1700 || s.Packets != 100 ||
		s.Bytes != 150000 || s.First != 8*sec || f.Last() != 9*sec {
		t.Errorf("client %+v server %+v", c, s)
	}
	tb.Expire(15 * sec) // idle 6 s since the credit, under 10 s
	if tb.Stats().Live != 1 {
		t.Error("a credited flow idled out")
	}
	if tb.Credit(pkt(cli, srv, 40001, 443, 17, 0, 0), 1, 1, 9*sec) {
		t.Error("credited a flow that does not exist")
	}
	if tb.Stats().Live != 1 {
		t.Error("Credit created a flow")
	}
}
