package tls

import (
	"sync"

	"github.com/weirnet/weir/internal/dissect"
)

// TLS record content types (RFC 8446 §5.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
)

const (
	// maxDirBytes bounds what one direction may hold at once: partial
	// record + partial handshake message + out-of-order segments. A
	// ClientHello larger than this is reported as TLS without SNI.
	maxDirBytes = 64 << 10
	// maxRecordLen is the largest legal TLSCiphertext fragment (2^14+2048).
	maxRecordLen = 1<<14 + 2048
	// maxPending bounds the number of out-of-order segments kept.
	maxPending = 16
	// maxOrphans: segments that arrive before any record start in their
	// direction (out-of-order delivery of a ClientHello's first segment).
	maxOrphans = 2
	// gapGiveUp: packets after a ClientHello hole before we stop waiting and
	// report TLS without the hello's fields (a segment was never captured).
	gapGiveUp = 4
)

// Dissector recognises TLS over TCP. It reassembles each direction by
// Packet.Seq (in-order, out-of-order and retransmitted segments) within
// maxDirBytes, walks records, and parses the ClientHello, ServerHello and
// (TLS <= 1.2) Certificate handshake messages. See doc.go for the rules.
type Dissector struct {
	dir [2]stream

	identified bool
	notMine    bool
	done       bool
	sawCH      bool
	sawSH      bool
	sawCert    bool
	appData    bool // an application_data record was seen
	// Mid-stream evidence: record headers validated at their chained
	// position and record bodies completed exactly.
	headers   int
	completed int
	loneAlert bool // the first record is an Alert exactly filling its segment
	hsSeen    bool // a ClientHello/ServerHello header was seen: not mid-stream
}

type stream struct {
	anchored bool   // a record boundary is known
	broken   bool   // bytes that are not TLS records: stop parsing
	ccs      bool   // ChangeCipherSpec seen: later handshake records are encrypted
	hole     bool   // waiting for a missing segment
	next     uint32 // sequence number of the next in-order byte
	skip     int    // body bytes of the current non-handshake record still to skip
	buf      []byte // partial record (header included)
	hs       []byte // partial handshake message(s) spanning records
	hsLost   bool   // a handshake message overflowed maxDirBytes: resync impossible
	pend     []segment
	pendLen  int
	keep     []byte // stashed segments' bytes, back to back
	// The pool's boxes for buf, hs and keep: handing a buffer back then
	// allocates nothing.
	bufBox, hsBox, keepBox *[]byte
	orphans                int
	gapPkts                int
	chHead                 bool // a ClientHello header was seen (it may never complete)
}

type segment struct {
	seq  uint32
	data []byte
}

// Reset returns d to its zero state. Its buffers go back to a shared pool
// rather than staying with d (the engine pools dissectors; a buffer kept
// per pooled value would add up).
func (d *Dissector) Reset() {
	d.dir[0].release()
	d.dir[1].release()
	// The stash indexes keep their arrays, emptied: the engine pools
	// dissectors, and growing them anew was the allocation a reordered
	// flow made most often.
	p0, p1 := d.dir[0].pend, d.dir[1].pend
	clear(p0)
	clear(p1)
	*d = Dissector{}
	d.dir[0].pend, d.dir[1].pend = p0[:0], p1[:0]
}

// bufPool recycles the buffers that assemble records and handshake
// messages. A flow assembles a few records of up to 16 KiB; growing a
// fresh slice for each (doubling, zeroing) was the dissector's main cost.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 5+maxRecordLen); return &b }}

// getBuf returns an empty pooled buffer and its box.
func getBuf() ([]byte, *[]byte) {
	box := bufPool.Get().(*[]byte)
	return (*box)[:0], box
}

// putBuf hands b (grown from the buffer in box) back to the pool.
func putBuf(b []byte, box *[]byte) {
	if box != nil && cap(b) >= 5+maxRecordLen && cap(b) <= maxDirBytes+maxRecordLen {
		*box = b[:0]
		bufPool.Put(box)
	}
}

// release hands s's buffers back to bufPool.
func (s *stream) release() {
	if s.buf != nil {
		putBuf(s.buf, s.bufBox)
		s.buf, s.bufBox = nil, nil
	}
	if s.hs != nil {
		putBuf(s.hs, s.hsBox)
		s.hs, s.hsBox = nil, nil
	}
	if s.keep != nil {
		putBuf(s.keep, s.keepBox)
		s.keep, s.keepBox = nil, nil
	}
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if d.notMine {
		return dissect.NotMine
	}
	if d.done {
		return dissect.Done
	}
	if p.L4 != 6 || len(p.Payload) == 0 || p.Dir > 1 {
		return d.status()
	}
	s := &d.dir[p.Dir]
	if s.broken {
		return d.status()
	}
	data, seq := p.Payload, p.Seq
	if !s.anchored {
		if !recordStart(data) {
			// Possibly a later segment delivered before the first one.
			// Text and repeated orphans are not TLS: answer early.
			if d.identified {
				return d.status()
			}
			if s.orphans >= maxOrphans || printablePrefix(data) || p.Index > 4 {
				return d.reject()
			}
			s.orphans++
			s.stash(seq, data)
			return d.status()
		}
		s.anchored = true
		s.next = seq
		s.dropBefore(seq)
	}
	d.push(s, p, m, seq, data)
	if d.identified && !d.done && s.chHead && !d.sawCH && s.hole {
		s.gapPkts++
	}
	if !d.identified && !d.notMine {
		d.checkIncomplete(p, m)
	}
	return d.status()
}

func (d *Dissector) status() dissect.Status {
	switch {
	case d.notMine:
		return dissect.NotMine
	case d.done:
		return dissect.Done
	case d.identified:
		return dissect.Identified
	}
	return dissect.Continue
}

// reject answers NotMine unless the flow was already identified, in which
// case a broken direction only stops parsing.
func (d *Dissector) reject() dissect.Status {
	if d.identified {
		return d.status()
	}
	d.notMine = true
	d.dir[0].release()
	d.dir[1].release()
	d.dir = [2]stream{}
	return dissect.NotMine
}

// push delivers one segment to s in sequence order.
func (d *Dissector) push(s *stream, p *dissect.Packet, m *dissect.Meta, seq uint32, data []byte) {
	rel := int32(seq - s.next)
	if rel < 0 { // retransmission or overlap
		if int(-rel) >= len(data) {
			return
		}
		data = data[-rel:]
		rel = 0
	}
	if rel > 0 {
		s.hole = true
		s.stash(seq, data)
		if len(s.pend) > 0 && s.pendLen > maxDirBytes {
			s.broken = true // cannot bridge the hole within the bound
		}
		return
	}
	d.consume(s, p, m, data)
	s.next += uint32(len(data))
	// Drain segments that are now in order.
	for progress := true; progress && !s.broken && !d.notMine; {
		progress = false
		for i := 0; i < len(s.pend); i++ {
			g := s.pend[i]
			r := int32(g.seq - s.next)
			if r > 0 {
				continue
			}
			s.pend = append(s.pend[:i], s.pend[i+1:]...)
			s.pendLen -= len(g.data)
			if int(-r) < len(g.data) {
				g.data = g.data[-r:]
				d.consume(s, p, m, g.data)
				s.next += uint32(len(g.data))
			}
			progress = true
			break
		}
	}
	s.hole = len(s.pend) > 0
}

// stash keeps a copy of an out-of-order segment, within the bounds.
func (s *stream) stash(seq uint32, data []byte) {
	if len(s.pend) >= maxPending || s.pendLen+len(data) > maxDirBytes {
		s.pendLen += len(data) // signals the overflow to the caller
		return
	}
	for _, g := range s.pend {
		if g.seq == seq && len(g.data) >= len(data) {
			return // retransmitted out-of-order segment
		}
	}
	if s.keep == nil {
		s.keep, s.keepBox = getBuf()
	}
	start := len(s.keep)
	s.keep = append(s.keep, data...)
	s.pend = append(s.pend, segment{seq, s.keep[start:len(s.keep):len(s.keep)]})
	s.pendLen += len(data)
}

// dropBefore discards stashed segments that lie wholly before seq.
func (s *stream) dropBefore(seq uint32) {
	keep := s.pend[:0]
	s.pendLen = 0
	for _, g := range s.pend {
		if int32(g.seq+uint32(len(g.data))-seq) > 0 {
			keep = append(keep, g)
			s.pendLen += len(g.data)
		}
	}
	s.pend = keep
}

// recordStart reports whether b begins with a plausible TLS record header.
func recordStart(b []byte) bool {
	return len(b) >= 3 && b[0] >= recChangeCipherSpec && b[0] <= recApplicationData &&
		b[1] == 3 && b[2] <= 4
}

// printablePrefix: the first bytes are printable ASCII, as in every
// text protocol; a ClientHello segment boundary practically never lands in
// eight printable bytes.
func printablePrefix(b []byte) bool {
	n := min(len(b), 8)
	for _, c := range b[:n] {
		if c < 0x20 || c > 0x7e {
			if c != '\r' && c != '\n' {
				return false
			}
		}
	}
	return true
}

// consume walks in-order stream bytes as TLS records.
func (d *Dissector) consume(s *stream, p *dissect.Packet, m *dissect.Meta, data []byte) {
	for len(data) > 0 && !s.broken && !d.notMine && !d.done {
		if s.skip > 0 {
			n := min(s.skip, len(data))
			s.skip -= n
			data = data[n:]
			if s.skip == 0 {
				d.completed++
			}
			continue
		}
		// Fast path: a whole record at the start of data, nothing buffered.
		if len(s.buf) == 0 && len(data) >= 5 {
			typ, n, ok := recordHeader(data)
			if !ok {
				d.badStream(s)
				return
			}
			d.headers++
			if typ == recAlert && len(data) == 5+n && d.headers == 1 {
				d.loneAlert = true
			}
			if typ != recHandshake {
				d.record(s, p, m, typ, nil)
				data = data[5:]
				s.skip = n
				if n == 0 {
					d.completed++
				}
				continue
			}
			if len(data) >= 5+n {
				d.completed++
				d.record(s, p, m, typ, data[5:5+n])
				data = data[5+n:]
				continue
			}
			// A partial handshake record: buffer it.
		}
		// Slow path: assemble header and handshake body in s.buf.
		need := 5
		if len(s.buf) >= 5 {
			_, n, _ := recordHeader(s.buf)
			need = 5 + n
		}
		take := min(need-len(s.buf), len(data))
		if len(s.buf)+take > maxDirBytes {
			s.broken = true
			return
		}
		if s.buf == nil {
			s.buf, s.bufBox = getBuf()
		}
		s.buf = append(s.buf, data[:take]...)
		data = data[take:]
		if len(s.buf) >= 9 && s.buf[0] == recHandshake && len(s.hs) == 0 && !s.ccs {
			d.peek(s, s.buf[5:])
		}
		if len(s.buf) < need {
			return
		}
		if need == 5 {
			typ, n, ok := recordHeader(s.buf)
			if !ok {
				d.badStream(s)
				return
			}
			d.headers++
			if typ != recHandshake {
				d.record(s, p, m, typ, nil)
				s.buf = s.buf[:0]
				s.skip = n
				if n == 0 {
					d.completed++
				}
			}
			continue
		}
		d.completed++
		typ := s.buf[0]
		d.record(s, p, m, typ, s.buf[5:])
		s.buf = s.buf[:0]
	}
}

// recordHeader validates a 5-byte record header.
func recordHeader(b []byte) (typ uint8, n int, ok bool) {
	if !recordStart(b) || len(b) < 5 {
		return 0, 0, false
	}
	n = int(b[3])<<8 | int(b[4])
	return b[0], n, n <= maxRecordLen && (n > 0 || b[0] == recApplicationData)
}

// badStream handles bytes that are not a record where one must start.
func (d *Dissector) badStream(s *stream) {
	s.broken = true
	if !d.identified {
		d.notMine = true
	}
}

// record handles one record: body is the full body for handshake records
// and nil for others (their bodies are skipped).
func (d *Dissector) record(s *stream, p *dissect.Packet, m *dissect.Meta, typ uint8, body []byte) {
	switch typ {
	case recChangeCipherSpec:
		s.ccs = true
		if d.sawSH && p.Dir == dissect.ToClient {
			d.finish() // resumed TLS <= 1.2: no Certificate will follow
		}
	case recApplicationData:
		d.appData = true
		if d.identified {
			d.finish()
		}
	case recHandshake:
		if s.ccs || s.hsLost {
			return // encrypted Finished (TLS <= 1.2) or lost sync
		}
		d.handshake(s, p, m, body)
	}
	if !d.identified && !d.notMine && !d.hsSeen && d.midStream() {
		d.identify(p, m, "TLS records (mid-stream)")
		d.finish()
	}
}

// midStream: two record headers found exactly where the previous record
// ended, at least one body completed. Random data passes a header check
// with p ~ 1.2e-6, so two chained headers are solid evidence. A lone Alert
// record that exactly fills its segment also counts (a peer closing a
// session we joined late sends just that; tls_alert.pcap): header and
// exact length together are ~1e-8 for random bytes.
func (d *Dissector) midStream() bool {
	return d.headers >= 2 && d.completed >= 1 || d.loneAlert
}

// handshake splits a handshake record body into messages, buffering a
// message that continues in the next record.
func (d *Dissector) handshake(s *stream, p *dissect.Packet, m *dissect.Meta, body []byte) {
	if len(s.hs) == 0 {
		body = d.messages(s, p, m, body)
		if len(body) == 0 || d.notMine {
			return
		}
	}
	if len(s.hs)+len(body) > maxDirBytes {
		d.hsOverflow(s, p, m)
		return
	}
	if s.hs == nil {
		s.hs, s.hsBox = getBuf()
	}
	s.hs = append(s.hs, body...)
	rest := d.messages(s, p, m, s.hs)
	s.hs = append(s.hs[:0], rest...)
}

// messages handles complete messages in b and returns the incomplete tail.
func (d *Dissector) messages(s *stream, p *dissect.Packet, m *dissect.Meta, b []byte) []byte {
	for len(b) >= 4 && !d.notMine {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		d.peek(s, b)
		if 4+n > maxDirBytes {
			d.hsOverflow(s, p, m)
			return nil
		}
		if len(b) < 4+n {
			return b
		}
		d.message(p, m, b[:4+n])
		b = b[4+n:]
	}
	return b
}

// peek notes the type of a handshake message whose header is visible
// even if its body is not complete yet.
func (d *Dissector) peek(s *stream, b []byte) {
	switch b[0] {
	case hsClientHello:
		d.hsSeen = true
		if !d.sawCH {
			s.chHead = true
		}
	case hsServerHello:
		d.hsSeen = true
	}
}

// hsOverflow: a handshake message larger than maxDirBytes. If it is the
// ClientHello (header already checked), report TLS without its fields.
func (d *Dissector) hsOverflow(s *stream, p *dissect.Packet, m *dissect.Meta) {
	s.hsLost = true
	if s.hs != nil {
		putBuf(s.hs, s.hsBox)
		s.hs, s.hsBox = nil, nil
	}
	if !d.identified && s.chHead {
		d.identify(p, m, "TLS ClientHello too large to reassemble")
	}
}

// message handles one complete handshake message.
func (d *Dissector) message(p *dissect.Packet, m *dissect.Meta, msg []byte) {
	switch msg[0] {
	case hsClientHello:
		if d.sawCH {
			return
		}
		var ch clientHello
		if err := parseClientHello(msg, false, &ch); err != nil {
			if !d.identified {
				d.notMine = true
			}
			return
		}
		d.sawCH = true
		ch.fill('t', m)
		why := "TLS ClientHello"
		switch {
		case ch.ech && len(ch.sni) > 0:
			why = "TLS ClientHello SNI, ECH extension (the SNI is the outer name unless the ECH is GREASE)"
		case len(ch.sni) > 0:
			why = "TLS ClientHello SNI"
		}
		d.identify(p, m, why)
	case hsServerHello:
		if d.sawSH {
			return
		}
		if err := ParseServerHello(msg, m); err != nil {
			if !d.identified {
				d.notMine = true
			}
			return
		}
		d.sawSH = true
		if !d.identified {
			d.identify(p, m, "TLS ServerHello")
		}
		if m.TLS.Version >= 0x0304 && m.TLS.Version>>8 == 3 {
			d.finish() // the certificate is encrypted in TLS 1.3
		}
	case hsCertificate:
		if d.sawCert || !d.sawSH {
			return
		}
		d.sawCert = true
		if ParseCertificate(msg, m) == nil && isTorLink(m) {
			m.AppHint = "tor"
			m.Why += "; Tor link certificate"
		}
		d.finish()
	}
}

// checkIncomplete reports a ClientHello whose rest never arrives (a segment
// missing from the capture) as TLS without SNI after gapGiveUp packets.
func (d *Dissector) checkIncomplete(p *dissect.Packet, m *dissect.Meta) {
	for i := range d.dir {
		s := &d.dir[i]
		if s.chHead && !d.sawCH && (s.hole || s.broken) {
			s.gapPkts++
			if s.gapPkts >= gapGiveUp {
				d.identify(p, m, "TLS ClientHello incomplete (segment missing)")
			}
		}
	}
}

func (d *Dissector) identify(p *dissect.Packet, m *dissect.Meta, why string) {
	d.identified = true
	m.Proto = protoForPort(p.ServerPort)
	m.Why = why
}

func (d *Dissector) finish() {
	if d.identified {
		d.done = true
		d.dir[0].release()
		d.dir[1].release()
		d.dir = [2]stream{}
	}
}

// protoForPort names implicit-TLS services by their IANA port, as nDPI does.
func protoForPort(port uint16) dissect.Proto {
	switch port {
	case 853:
		return dissect.DoT
	case 465:
		return dissect.SMTPS
	case 993:
		return dissect.IMAPS
	case 995:
		return dissect.POP3S
	}
	return dissect.TLS
}
