package engine_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/engine"
)

// TestEngine_earlyAppSameResult: deciding the application early (inline)
// and deciding it again when dissection ends must give the record what
// deciding it once gives (offline): the same app, host and evidence. The
// second decision used to drop the first one's evidence and DNS-learned
// host.
func TestEngine_earlyAppSameResult(t *testing.T) {
	dir := corpusDir(t)
	names, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, early bool) []string {
		cfg := classify.DefaultConfig()
		cfg.EarlyApp = early
		var out []string
		eng, err := engine.New(engine.DefaultConfig(), classify.New(cfg, classify.CatalogApps(cat)), func(e *engine.FlowEnd) {
			c := e.Class
			out = append(out, fmt.Sprintf("%v %v|%s|%s|%s|%v|%v|%s", e.Flow.Key, c.Meta.Proto, c.App, c.Category, c.Host, c.Confidence, c.AppConf, c.Why()))
		})
		if err != nil {
			t.Fatal(err)
		}
		src, err := capture.Open(name)
		if err != nil {
			return nil
		}
		defer src.Close()
		var p capture.Packet
		for src.Next(&p) == nil {
			eng.Packet(&p)
		}
		eng.Flush()
		return out
	}
	flows := 0
	for _, name := range names {
		once, early := run(name, false), run(name, true)
		flows += len(once)
		if !slices.Equal(once, early) {
			for i := range min(len(once), len(early)) {
				if once[i] != early[i] {
					t.Errorf("%s: decided once %q, early and again %q", filepath.Base(name), once[i], early[i])
					break
				}
			}
		}
	}
	if flows < 1000 {
		t.Fatalf("only %d flows compared", flows)
	}
}

// udpFrame is an Ethernet/IPv4/UDP frame from 10.1.0.2:sport to
// 10.2.0.1:40000 with payload.
func udpFrame(sport uint16, payload []byte, ts int64) *capture.Packet {
	return frame{udp: true, src: [4]byte{10, 1, 0, 2}, dst: [4]byte{10, 2, 0, 1}, sport: sport, dport: 40000}.packet(payload, ts)
}

// After packet time jumps back (captures joined end to end, pcap seconds
// wrapping), flows of the earlier time base end, and dissection timeouts
// of later flows still fire: a deadline from the earlier time base must
// not hold up the queue.
func TestEngine_timeJump(t *testing.T) {
	var ended []string
	eng, err := engine.New(engine.DefaultConfig(), newTestClassifier(t, true), func(e *engine.FlowEnd) {
		ended = append(ended, fmt.Sprintf("%d:%v", e.Flow.ClientPort(), e.Reason))
	})
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte("\x17\x42\x99\x01 not any protocol \x00\x01\x02\x03")
	const sec = int64(time.Second)
	base := int64(4_000_000_000) * sec // after pcap's 32-bit seconds wrap
	eng.Packet(udpFrame(1000, junk, base))
	if s := eng.Process(udpFrame(1000, junk, base+sec)); s == nil || s.Class.Final {
		t.Fatal("an unknown flow should still be dissecting")
	}
	now := int64(1_000_000_000) * sec // the clock went back 95 years
	eng.Packet(udpFrame(2000, junk, now))
	if len(ended) != 1 || ended[0] != "1000:time-jump" {
		t.Fatalf("ended %v, want the flow of the earlier time base", ended)
	}
	s := eng.Process(udpFrame(2000, junk, now+11*sec)) // past DissectTimeout
	if s == nil || !s.Class.Final {
		t.Fatal("dissection timeout did not fire after the jump")
	}
}

const (
	testSec = int64(time.Second)
	testT0  = 1_700_000_000 * testSec
)

// lastResultEngine is an engine with the test classifier and a copy of the
// result of the flow that ended last.
func lastResultEngine(t *testing.T) (*engine.Engine, *classify.Result) {
	t.Helper()
	got := new(classify.Result)
	eng, err := engine.New(engine.DefaultConfig(), newTestClassifier(t, true), func(e *engine.FlowEnd) { *got = *e.Class })
	if err != nil {
		t.Fatal(err)
	}
	return eng, got
}

// tcpFrame is an Ethernet/IPv4/TCP frame between 10.1.0.2:40000 and
// 10.2.0.1:80 (toServer picks the direction) with payload.
func tcpFrame(toServer bool, flags byte, seq, ack uint32, payload []byte, ts int64) *capture.Packet {
	f := frame{src: [4]byte{10, 1, 0, 2}, dst: [4]byte{10, 2, 0, 1}, sport: 40000, dport: 80, flags: flags, seq: seq, ack: ack}
	if !toServer {
		f = f.reversed()
	}
	return f.packet(payload, ts)
}

// A handshake that takes longer than DissectTimeout (SYN retries on a lossy
// path) must still be dissected: the timeout runs from the first payload.
func TestEngine_slowHandshakeDissected(t *testing.T) {
	eng, got := lastResultEngine(t)
	const sec, t0 = testSec, testT0
	eng.Packet(tcpFrame(true, 0x02, 100, 0, nil, t0))          // SYN
	eng.Packet(tcpFrame(true, 0x02, 100, 0, nil, t0+3*sec))    // SYN again
	eng.Packet(tcpFrame(false, 0x12, 500, 101, nil, t0+9*sec)) // SYN-ACK
	eng.Packet(tcpFrame(false, 0x12, 500, 101, nil, t0+15*sec))
	eng.Packet(tcpFrame(true, 0x18, 101, 501, []byte("GET / HTTP/1.1\r\nHost: slow.example\r\nUser-Agent: t\r\n\r\n"), t0+16*sec))
	eng.Packet(tcpFrame(false, 0x18, 501, 160, []byte("HTTP/1.1 204 No Content\r\n\r\n"), t0+17*sec))
	eng.Flush()
	if got.Meta.Proto.String() != "HTTP" || got.Host != "slow.example" || got.Confidence != classify.ConfDPI {
		t.Fatalf("slow handshake classified as %+v", got)
	}
}

// A flow seen without its SYN gets a port guess from either end (the
// capture may start with the server speaking); one that began with a SYN
// is guessed from its server's port only.
func TestEngine_portGuessMidStream(t *testing.T) {
	var got []string
	eng, err := engine.New(engine.DefaultConfig(), newTestClassifier(t, true), func(e *engine.FlowEnd) {
		got = append(got, fmt.Sprintf("%v %v %s", e.Class.Meta.Proto, e.Class.Confidence, e.Class.Why()))
	})
	if err != nil {
		t.Fatal(err)
	}
	const sec, t0 = testSec, testT0
	junk := []byte("\x17\x42\x99\x01 not any protocol \x00\x01\x02\x03")
	eng.Packet(udpFrame(53, junk, t0))                   // 10.1.0.2:53 -> 10.2.0.1:40000: the server answers first
	eng.Packet(tcpFrame(false, 0x02, 1, 0, nil, t0+sec)) // a SYN from port 80 makes port 40000 the server
	eng.Packet(tcpFrame(true, 0x12, 9, 2, nil, t0+sec))
	eng.Flush()
	want := []string{
		"DNS port-guess undecided after 1 payload packet; port guess from the first sender's port (no SYN seen)",
		"Unknown unknown no payload",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// RTP over TCP (RFC 4571: a 2-byte length before each packet) reaches the
// RTP dissector: the table must offer it TCP flows.
func TestEngine_rtpOverTCP(t *testing.T) {
	eng, got := lastResultEngine(t)
	const sec, t0 = testSec, testT0
	eng.Packet(tcpFrame(true, 0x02, 100, 0, nil, t0))
	eng.Packet(tcpFrame(false, 0x12, 500, 101, nil, t0))
	seq := uint32(101)
	for i := range 4 {
		pkt := make([]byte, 2+12+160)
		binary.BigEndian.PutUint16(pkt, 12+160)
		rtp := pkt[2:]
		rtp[0], rtp[1] = 0x80, 8 // version 2, PCMA
		binary.BigEndian.PutUint16(rtp[2:], uint16(1000+i))
		binary.BigEndian.PutUint32(rtp[4:], uint32(160*i))
		binary.BigEndian.PutUint32(rtp[8:], 0x1234abcd)
		eng.Packet(tcpFrame(true, 0x18, seq, 501, pkt, t0+int64(i+1)*sec/50))
		seq += uint32(len(pkt))
	}
	eng.Flush()
	if got.Meta.Proto.String() != "RTP" || got.Confidence != classify.ConfDPI {
		t.Fatalf("RTP over TCP classified as %+v", got)
	}
}

// Once the classifier has settled a flow, the engine stops offering it the
// flow's packets; a later flow on the same table slot starts unsettled and
// is dissected again.
func TestEngine_settledFlows(t *testing.T) {
	eng, got := lastResultEngine(t)
	const sec, t0 = testSec, testT0
	http := func(host string, ts int64) *engine.Seen {
		eng.Packet(tcpFrame(true, 0x02, 100, 0, nil, ts))
		eng.Packet(tcpFrame(false, 0x12, 500, 101, nil, ts))
		s := eng.Process(tcpFrame(true, 0x18, 101, 501, []byte("GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"), ts+sec/10))
		if s == nil || s.Flow.Settled {
			t.Fatalf("%s: settled before the response", host)
		}
		s = eng.Process(tcpFrame(false, 0x18, 501, 160, []byte("HTTP/1.1 204 No Content\r\n\r\n"), ts+sec/5))
		if s == nil || !s.Flow.Settled || !s.Class.Final {
			t.Fatalf("%s: not settled after the response", host)
		}
		return s
	}
	first := http("one.example", t0)
	firstID := first.ID
	eng.Packet(tcpFrame(true, 0x11, 160, 530, nil, t0+sec)) // FIN both ways
	eng.Packet(tcpFrame(false, 0x11, 530, 161, nil, t0+sec))
	eng.Packet(tcpFrame(true, 0x10, 161, 531, nil, t0+sec))
	eng.Expire(t0 + 10*time.Minute.Nanoseconds())
	if got.Host != "one.example" {
		t.Fatalf("first flow ended as %+v", got)
	}
	second := http("two.example", t0+11*time.Minute.Nanoseconds())
	if second.ID != firstID {
		t.Fatalf("second flow got ID %d, want the reused %d", second.ID, firstID)
	}
	eng.Flush()
	if got.Host != "two.example" {
		t.Fatalf("second flow on a reused slot classified as %+v", got)
	}
}
