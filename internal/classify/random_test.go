package classify_test

import (
	"math/rand/v2"
	"testing"

	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/classify/catalog"
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
	"github.com/weirnet/weir/internal/flow"
)

// demoPayloads returns the TCP/UDP payloads of the repository's demo capture.
func demoPayloads(t *testing.T) [][]byte {
	var out [][]byte
	for _, f := range dissecttest.Demo(t) {
		for _, p := range f.Packets {
			out = append(out, p.Payload)
		}
	}
	return out
}

// TestClassifier_randomPayloads: flows of random bytes, and of real
// payloads scrambled beyond recognition, on random and on well-known
// ports, must practically never get a protocol by DPI. The bar is 0.5%.
func TestClassifier_randomPayloads(t *testing.T) {
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	real := demoPayloads(t)
	if len(real) < 50 {
		t.Fatalf("only %d payloads in the demo capture", len(real))
	}
	ports := []uint16{53, 80, 443, 22, 25, 123, 1194, 3478, 5060, 51820, 6881, 5353, 1900, 853, 8080}
	for _, mode := range []string{"random", "mutated"} {
		t.Run(mode, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(mode))))
			cls := classify.New(classify.DefaultConfig(), classify.CatalogApps(cat))
			tb := flow.New(flow.Config{MaxFlows: 1 << 16})
			const flows, perFlow = 20000, 3
			dpi := 0
			for i := range flows {
				p := decode.Parsed{Family: 4, Proto: 6, Frames: 1}
				if r.IntN(2) == 0 {
					p.Proto = 17
				}
				p.Src = [16]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
				p.Dst = [16]byte{192, 0, 2, byte(r.IntN(256))}
				p.SrcPort = uint16(1024 + r.IntN(60000))
				p.DstPort = uint16(1 + r.IntN(65535))
				if r.IntN(2) == 0 {
					p.DstPort = ports[r.IntN(len(ports))]
				}
				var id flow.ID
				for k := range perFlow {
					var pl []byte
					if mode == "random" {
						pl = make([]byte, 1+r.IntN(1400))
						for j := range pl {
							pl[j] = byte(r.Uint32())
						}
					} else {
						pl = append([]byte(nil), real[r.IntN(len(real))]...)
						for j := range pl {
							if r.IntN(2) == 0 {
								pl[j] ^= byte(1 + r.IntN(255))
							}
						}
					}
					p.Payload = pl
					p.WireLen = 54 + len(pl)
					p.TCPFlags = 0x18
					var dir flow.Dir
					var created bool
					id, dir, created = tb.Update(&p, int64(i*10+k))
					cls.Packet(id, tb.Flow(id), created, dir, &p, int64(i*10+k))
				}
				if res := cls.End(id, tb.Flow(id)); res.Confidence == classify.ConfDPI {
					dpi++
					if dpi <= 5 {
						t.Logf("labelled %s by DPI: %s (port %d)", res.Meta.Proto, res.Why(), p.DstPort)
					}
				}
				cls.Release(id)
			}
			share := 100 * float64(dpi) / flows
			t.Logf("%s: %d of %d flows labelled by DPI (%.3f%%)", mode, dpi, flows, share)
			if share >= 0.5 {
				t.Errorf("%.3f%% of %s flows labelled by DPI, bar is < 0.5%%", share, mode)
			}
		})
	}
}
