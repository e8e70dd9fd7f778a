// Package aesblock encrypts single AES blocks (FIPS-197) under a key used
// once, without allocating: what dissectors need to unmask a QUIC packet
// number (AES-128, RFC 9001 section 5.4.3) or to test a Telegram
// obfuscated init (AES-256-CTR, one keystream block). crypto/aes allocates
// a cipher per key, and these keys are new for every flow.
//
// Contract: Encrypt128 and Encrypt256 encrypt blk in place; they allocate
// nothing and keep no state. Not constant-time (table lookups): use it only
// to classify traffic, never to protect anything. Bulk encryption belongs to
// crypto/aes, whose hardware path is an order of magnitude faster per block.
package aesblock
