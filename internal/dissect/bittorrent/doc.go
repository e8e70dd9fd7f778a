// Package bittorrent recognises BitTorrent traffic:
//
//   - TCP peer wire: the handshake "\x13BitTorrent protocol" + 8 reserved
//     bytes + 20-byte info-hash + 20-byte peer id (BEP 3), sent by either
//     side among the first packets (clients using message stream encryption
//     may send it after the encrypted negotiation, or not at all);
//   - uTP over UDP (BEP 29): version 1, type 0-4, a well-formed extension
//     chain, and a SYN answered by an ST_STATE with the same connection id
//     that acknowledges the SYN's sequence number, or both directions using
//     connection ids one apart;
//   - the DHT (BEP 5): one UDP datagram that is exactly one bencoded dict
//     with a "t" transaction id and "y" of q, r or e with the matching "q"/
//     "a", "r" or "e" key (parsed strictly, nothing after it);
//   - the UDP tracker connect request (BEP 15: magic 0x41727101980) and
//     local service discovery ("BT-SEARCH * HTTP/1.1", BEP 14).
//
// Ownership: Feed never keeps Payload; uTP state is a few integers.
// Allocation: none (Why strings are constants). Concurrency: one value per
// flow, one goroutine.
package bittorrent
