// Package dissecttest is test support for the dissector packages: it
// replays the nDPI corpus through the project's own datapath and holds the
// unit-test checks every dissector repeats.
//
// Corpus: [Load] reads <repo root>/../shared/corpus/ndpi/pcap/<file> with
// capture.Open, decodes each frame with decode (VLAN/QinQ, SLL/SLL2, BSD
// null, PPPoE, GRE, VXLAN, GTP-U, IP-in-IP, fragment reassembly), groups
// the TCP and UDP packets into bidirectional flows with flow.Table (client
// = initiator, as the engine decides it) and matches the flow lines of
// result/<file>.out, read with peer/ndpi, on L4 + unordered endpoint pair
// + VLAN. Using the real decoder and flow table means a corpus test sees
// exactly the packets the engine would hand the dissector. The table is
// never expired, so a 5-tuple is one flow for the whole capture. When the
// corpus is absent the test is skipped with
// "nDPI corpus not found at ../shared/corpus/ndpi".
//
// [Demo] reads the repository's own testdata/demo.pcap the same way (no
// nDPI lines), for tests that must run without the corpus.
//
// [Feed] drives one dissector over a flow the way classify does (at most
// [MaxPayloadPackets] payload packets, stop at Done or NotMine, an
// identification sticks).
//
// Unit checks: [RandomPayloads] (false-positive rate on seeded random
// bytes), [NoAllocsReject] and [NoAllocs] (allocation-free paths),
// [Run] with [Step] for table tests that feed a short packet sequence, and
// [SelfSigned] for a throwaway certificate.
//
// Ownership: every Packet.Payload in a [Flow] is a private copy, so tests
// may keep and feed it any number of times. Nothing here is safe for
// concurrent use except through separate calls. It allocates freely: it is
// test code. It sits at the dissect stage of the import rule (deptest):
// capture, decode, flow, dissect and peer/ndpi only.
package dissecttest
