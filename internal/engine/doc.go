// Package engine wires Weir's datapath for one goroutine: a capture.Packet
// is decoded (internal/decode), accounted to its flow (internal/flow) and
// classified (internal/classify); when a flow ends the engine hands it to the
// caller's OnFlowEnd.
//
// Packets of a flow the classifier has settled (flow.Flow.Settled) skip it.
// FuzzEngine feeds hostile packet sequences through all of it.
//
// Expiry runs every Config.ExpireEvery of packet time, and at once when
// packet time jumps back further than the flow table's ClockJump.
//
// The engine owns every buffer on the packet path and reuses them: Packet
// allocates nothing in steady state (TestEngine_noAllocs). It is not safe for
// concurrent use; run one engine per shard.
package engine
