package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/weirnet/weir/internal/capture"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
	"github.com/weirnet/weir/internal/engine"
)

// fuzzPorts are the server ports a fuzz record can pick: the ones that
// steer the classifier's port guesses and dissector choices.
var fuzzPorts = [16]uint16{40001, 53, 80, 443, 22, 25, 123, 1194, 3478, 5060, 51820, 6881, 5353, 1900, 853, 8801}

// fuzzFrames turns fuzz input into frames between four clients and one
// server. Each record is four bytes and a payload:
//
//	0: bit 0 UDP (else TCP), bit 1 from the server, bit 2 a pause past the
//	   dissection timeout before it, bits 3-6 the server port (fuzzPorts)
//	1: TCP flags
//	2: client (low two bits)
//	3: payload length
func fuzzFrames(data []byte) []*capture.Packet {
	var out []*capture.Packet
	ts := int64(1_700_000_000) * int64(time.Second)
	for len(data) >= 4 {
		sel, flags, client, n := data[0], data[1], data[2]&3, int(data[3])
		data = data[4:]
		n = min(n, len(data))
		payload := data[:n]
		data = data[n:]
		if sel&4 != 0 {
			ts += 11 * int64(time.Second)
		}
		ts += int64(time.Millisecond)
		out = append(out, fuzzFrame(sel&1 != 0, sel&2 != 0, fuzzPorts[sel>>3&15], 50000+uint16(client), flags, payload, ts))
	}
	return out
}

// fuzzFrame is an Ethernet/IPv4 TCP or UDP frame between 10.9.0.2:cport and
// 10.9.0.1:sport.
func fuzzFrame(udp, fromServer bool, sport, cport uint16, flags byte, payload []byte, ts int64) *capture.Packet {
	f := frame{udp: udp, src: [4]byte{10, 9, 0, 2}, dst: [4]byte{10, 9, 0, 1}, sport: cport, dport: sport, flags: flags, seq: uint32(ts)}
	if fromServer {
		f = f.reversed()
	}
	return f.packet(payload, ts)
}

// fuzzSeed encodes the demo capture's payload packets as fuzz records, flow
// after flow, each on the fuzz port nearest its server's.
func fuzzSeed(t testing.TB, limit int) []byte {
	var seed []byte
	n := 0
	for _, f := range dissecttest.Demo(t) {
		for _, p := range f.Packets {
			if n++; n > limit {
				return seed
			}
			sel := byte(max(slices.Index(fuzzPorts[:], p.ServerPort), 0)) << 3
			if f.L4 == 17 {
				sel |= 1
			}
			if p.Dir == dissect.ToClient {
				sel |= 2
			}
			pay := p.Payload[:min(len(p.Payload), 255)]
			seed = append(seed, sel, p.TCPFlags, byte(p.ClientPort), byte(len(pay)))
			seed = append(seed, pay...)
		}
	}
	return seed
}

// FuzzEngine feeds hostile packet sequences through decode, flows and every
// dissector: no panic, every flow ends exactly once with a final result,
// and the dissector state a flow holds is returned.
func FuzzEngine(f *testing.F) {
	f.Add(fuzzSeed(f, 400))
	f.Add(fuzzSeed(f, 40))
	f.Add([]byte{1 | 3<<3, 0, 0, 4, 0xc0, 0, 0, 0, 1, 0, 0, 0}) // a QUIC-looking UDP datagram to 443
	f.Add([]byte{2 << 3, 0x18, 1, 5, 'G', 'E', 'T', ' ', '/'})
	f.Fuzz(func(t *testing.T, data []byte) {
		cls := newTestClassifier(t, true)
		var ends uint64
		eng, err := engine.New(engine.DefaultConfig(), cls, func(e *engine.FlowEnd) {
			if !e.Class.Final {
				t.Fatalf("flow %v ended without a final result", e.Flow.Key)
			}
			ends++
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range fuzzFrames(data) {
			eng.Packet(p)
		}
		eng.Flush()
		if created := eng.Stats().Flow.Created; ends != created {
			t.Fatalf("%d flow ends for %d flows created", ends, created)
		}
		if n := cls.Dissecting(); n != 0 {
			t.Fatalf("%d flows still hold dissector state after every flow ended", n)
		}
	})
}
