package probe

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/weirnet/weir/internal/marker"
)

// The sniffer keeps, per connection of this process (keyed by the remote
// address and the local port), the server's SYN-ACK and any RST or ICMP
// error that came back, so a failed step can say who sent what.

type sniffKey struct {
	remote netip.AddrPort
	local  uint16
	proto  uint8 // 6 TCP, 17 UDP
}

type pktMeta struct {
	ttl     int
	ipid    int
	hasID   bool // IPv4 only: IPv6 has no identification outside fragments
	payload []byte
	icmp    string // "type/code" for ICMP errors
	dscp    int    // IPv4 TOS / IPv6 traffic class >> 2
}

type sniffEntry struct {
	synack *pktMeta
	errs   []pktMeta // RSTs and ICMP errors, first few only
	last   time.Time
	dscp   dscpCount // incoming TCP data packets
}

// dscpCount tallies the DSCP of a connection's incoming data packets.
type dscpCount struct {
	packets, lowEffort int
	values             []int
}

// maxDSCPValues bounds the distinct values kept per connection.
const maxDSCPValues = 8

// maxSniffEntries bounds the table: a busy host cannot grow it without limit.
const maxSniffEntries = 8192

type sniffTable struct {
	mu      sync.Mutex
	entries map[sniffKey]*sniffEntry
}

func (t *sniffTable) record(k sniffKey, m pktMeta, isSynAck bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil || len(t.entries) >= maxSniffEntries {
		t.entries = make(map[sniffKey]*sniffEntry)
	}
	e := t.entries[k]
	if e == nil {
		e = &sniffEntry{}
		t.entries[k] = e
	}
	e.last = time.Now()
	if isSynAck {
		if e.synack == nil {
			e.synack = &m
		}
		return
	}
	if len(e.errs) < 4 {
		e.errs = append(e.errs, m)
	}
}

// data counts one incoming TCP data packet of k. It runs for every such
// packet of the host, so it stays cheap: no allocation once a connection's
// values are known.
func (t *sniffTable) data(k sniffKey, dscp int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		if t.entries == nil || len(t.entries) >= maxSniffEntries {
			t.entries = make(map[sniffKey]*sniffEntry)
		}
		e = &sniffEntry{}
		t.entries[k] = e
	}
	e.last = time.Now()
	c := &e.dscp
	c.packets++
	if dscp == marker.ThrottleDSCP {
		c.lowEffort++
	}
	if len(c.values) < maxDSCPValues && !slices.Contains(c.values, dscp) {
		c.values = append(c.values, dscp)
	}
}

// dscpEvidence returns what was counted for k, waiting up to wait for the
// first data packet (the sniffer may lag the socket); nil when none.
func (t *sniffTable) dscpEvidence(k sniffKey, wait time.Duration) *DSCPEvidence {
	deadline := time.Now().Add(wait)
	for {
		t.mu.Lock()
		var c dscpCount
		if e := t.entries[k]; e != nil {
			c = e.dscp
			c.values = slices.Clone(c.values)
		}
		t.mu.Unlock()
		if c.packets > 0 {
			return &DSCPEvidence{Packets: c.packets, LowerEffort: c.lowEffort, Values: c.values,
				// A majority, not all: packets before Weir classified the
				// flow (the first response segment may race the verdict)
				// carry no mark.
				Weir: c.lowEffort > 0 && 2*c.lowEffort >= c.packets}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (t *sniffTable) get(k sniffKey) (synack *pktMeta, errs []pktMeta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		return nil, nil
	}
	return e.synack, append([]pktMeta(nil), e.errs...)
}

// evidence waits up to wait for a RST/ICMP of k and turns what was seen
// into ResetEvidence; nil when the sniffer saw nothing.
func (t *sniffTable) evidence(k sniffKey, wait time.Duration) *ResetEvidence {
	deadline := time.Now().Add(wait)
	var synack *pktMeta
	var errs []pktMeta
	for {
		synack, errs = t.get(k)
		if len(errs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(errs) == 0 {
		return nil
	}
	// A Weir-marked packet anywhere wins; else the first one.
	pick := errs[0]
	for _, e := range errs {
		if isWeirPkt(e) {
			pick = e
			break
		}
	}
	ev := &ResetEvidence{Kind: "rst", TTL: pick.ttl}
	if pick.icmp != "" {
		ev.Kind = "icmp " + pick.icmp
	}
	if pick.hasID {
		id := pick.ipid
		ev.IPID = &id
	}
	if len(pick.payload) > 0 {
		ev.Payload = printable(pick.payload, 200)
	}
	if rule, notice, ok := marker.ParseRST(pick.payload); ok {
		ev.Weir, ev.WeirRule, ev.WeirNotice = true, rule, notice
	}
	if pick.hasID && pick.ipid == marker.IPID {
		ev.Weir = true
	}
	if synack != nil {
		ev.SynAckTTL = synack.ttl
		if synack.hasID {
			id := synack.ipid
			ev.SynAckIPID = &id
		}
		// The same sender's packets on the same path arrive with the same
		// TTL; a different one was sent by a box at another distance.
		if synack.ttl != pick.ttl {
			ev.Injected = true
			ev.Why = fmt.Sprintf("ttl %d differs from the server's SYN-ACK ttl %d", pick.ttl, synack.ttl)
		} else {
			ev.Why = fmt.Sprintf("ttl %d matches the server's SYN-ACK", pick.ttl)
		}
	} else if pick.icmp == "" {
		ev.Why = "no SYN-ACK seen to compare with"
	}
	if ev.Weir {
		ev.Injected = true
		ev.Why = "Weir marker (" + markerWhy(pick) + ")"
	}
	return ev
}

func isWeirPkt(p pktMeta) bool {
	_, _, ok := marker.ParseRST(p.payload)
	return ok || (p.hasID && p.ipid == marker.IPID)
}

func markerWhy(p pktMeta) string {
	if _, _, ok := marker.ParseRST(p.payload); ok {
		return "reset payload"
	}
	return fmt.Sprintf("ip.id 0x%04x", p.ipid)
}

func printable(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

// parseL3 decodes one IP packet (no link header) and records what the
// table wants: incoming TCP SYN-ACK/RST, the DSCP of incoming TCP data, and
// ICMP errors quoting one of our packets. Anything malformed is ignored.
func (t *sniffTable) parseL3(b []byte) {
	if len(b) < 1 {
		return
	}
	var m pktMeta
	var src netip.Addr
	var proto uint8
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if ihl < 20 || total < ihl || total > len(b) {
			return
		}
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return // non-first fragment
		}
		m.ipid, m.hasID, m.ttl = int(binary.BigEndian.Uint16(b[4:6])), true, int(b[8])
		m.dscp = int(b[1] >> 2)
		proto = b[9]
		src = netip.AddrFrom4([4]byte(b[12:16]))
		l4 = b[ihl:total]
	case 6:
		if len(b) < 40 {
			return
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if 40+plen > len(b) {
			return
		}
		m.ttl = int(b[7])
		// Traffic class: low nibble of byte 0, high nibble of byte 1.
		m.dscp = int((b[0]&0x0f)<<2 | b[1]>>6)
		proto = b[6] // extension headers are not followed: RSTs carry none
		src = netip.AddrFrom16([16]byte(b[8:24]))
		l4 = b[40 : 40+plen]
	default:
		return
	}
	switch proto {
	case 6:
		if len(l4) < 20 {
			return
		}
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) {
			return
		}
		flags := l4[13]
		const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
		k := sniffKey{remote: netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2])), local: binary.BigEndian.Uint16(l4[2:4]), proto: 6}
		switch {
		case flags&rst != 0:
			m.payload = append([]byte(nil), l4[off:]...)
			t.record(k, m, false)
		case flags&(syn|ack) == syn|ack:
			t.record(k, m, true)
		case off < len(l4):
			t.data(k, m.dscp)
		}
		_ = fin
	case 1, 58:
		// ICMP dest-unreachable (v4 type 3, v6 type 1) quoting our packet.
		if len(l4) < 8 {
			return
		}
		if (proto == 1 && l4[0] != 3) || (proto == 58 && l4[0] != 1) {
			return
		}
		m.icmp = fmt.Sprintf("%d/%d", l4[0], l4[1])
		q := l4[8:]
		var dst netip.Addr
		var qproto uint8
		var ql4 []byte
		switch {
		case len(q) >= 20 && q[0]>>4 == 4:
			ihl := int(q[0]&0x0f) * 4
			if ihl < 20 || len(q) < ihl+4 {
				return
			}
			qproto, dst, ql4 = q[9], netip.AddrFrom4([4]byte(q[16:20])), q[ihl:]
		case len(q) >= 44 && q[0]>>4 == 6:
			qproto, dst, ql4 = q[6], netip.AddrFrom16([16]byte(q[24:40])), q[40:]
		default:
			return
		}
		if qproto != 6 && qproto != 17 {
			return
		}
		k := sniffKey{remote: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(ql4[2:4])), local: binary.BigEndian.Uint16(ql4[0:2]), proto: qproto}
		t.record(k, m, false)
	}
}
