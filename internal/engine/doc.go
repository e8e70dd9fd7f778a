// Package engine wires Weir's datapath: a capture.Packet is decoded
// (internal/decode), accounted to its flow (internal/flow) and classified
// (internal/classify); when a flow ends the engine hands it to the caller's
// OnFlowEnd.
//
// By default everything runs on the caller's goroutine. With
// Config.Pipeline the classifier and OnFlowEnd run on a second goroutine fed
// in batches (pipe.go), with exactly the results of the one-goroutine engine
// (TestPipeline_sameAsSequential); Process then reports no classification,
// so inline use (weir run) keeps the default.
//
// The engine owns every buffer on the packet path and reuses them: Packet
// allocates nothing in steady state (TestEngine_noAllocs). It is not safe
// for concurrent use; run one engine per shard.
package engine
