package tls

import (
	"github.com/weirnet/weir/internal/dissect"
)

const (
	dtlsRecordHeader = 13 // type, version, epoch, sequence(48), length
	dtlsHSHeader     = 12 // type, length, message_seq, fragment_offset, fragment_length
	hsHelloVerify    = 3
	maxFrags         = 32
)

// DTLSDissector recognises DTLS 1.0/1.2 (and the plaintext handshake of
// DTLS 1.3) over UDP. It walks every record of a datagram, reassembles the
// ClientHello, ServerHello and Certificate from handshake fragments (each
// bounded by maxDirBytes), and fills the same Meta.TLS fields as the TLS
// dissector, with 'd' as JA4's transport character.
type DTLSDissector struct {
	msg [2]dtlsMsg // message under reassembly, per direction

	identified bool
	notMine    bool
	done       bool
	sawCH      bool
	sawSH      bool
	sawCert    bool
	// encrypted counts datagrams made only of well-formed epoch>0 records:
	// evidence for a DTLS flow joined after its handshake.
	encrypted int
	stun      int // STUN datagrams skipped
}

const maxSTUNSkip = 16

// isSTUN: RFC 5389 header (type's top two bits zero, length multiple of 4
// matching the datagram, magic cookie 0x2112a442).
func isSTUN(b []byte) bool {
	return len(b) >= 20 && b[0] < 4 && b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xa4 && b[7] == 0x42 &&
		int(b[2])<<8|int(b[3]) == len(b)-20
}

// dtlsMsg reassembles one handshake message from fragments.
type dtlsMsg struct {
	active bool
	typ    uint8
	seq    uint16
	buf    []byte // 4-byte TLS handshake header + body
	frags  [maxFrags][2]int
	nfrag  int
}

// Reset returns d to its zero state.
func (d *DTLSDissector) Reset() { *d = DTLSDissector{} }

func dtlsVersion(v uint16) bool { return v == 0xfeff || v == 0xfefd }

// Feed implements dissect.Dissector.
func (d *DTLSDissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if d.notMine {
		return dissect.NotMine
	}
	if d.done {
		return dissect.Done
	}
	if p.L4 != 17 || p.Dir > 1 {
		return d.status()
	}
	b := p.Payload
	// RFC 7983 multiplexing: WebRTC sends STUN (first byte 0..3, magic
	// cookie) on the same 5-tuple before the DTLS handshake. Skip a few.
	if isSTUN(b) && !d.identified && d.stun < maxSTUNSkip {
		d.stun++
		return d.status()
	}
	// RFC 7983 also puts RTP and RTCP (first byte 128..191) on that 5-tuple,
	// between DTLS records once the handshake is done: on a flow that has
	// shown STUN or DTLS records already, skip them within the same budget.
	if len(b) > 0 && b[0] >= 128 && b[0] <= 191 && !d.identified &&
		(d.stun > 0 || d.encrypted > 0) && d.stun < maxSTUNSkip {
		d.stun++
		return d.status()
	}
	// Validate every record header first so random datagrams cost nothing.
	allEncrypted := true
	for off := 0; off < len(b); {
		if len(b)-off < dtlsRecordHeader {
			return d.reject()
		}
		typ := b[off]
		ver := uint16(b[off+1])<<8 | uint16(b[off+2])
		epoch := uint16(b[off+3])<<8 | uint16(b[off+4])
		n := int(b[off+11])<<8 | int(b[off+12])
		if typ < recChangeCipherSpec || typ > recApplicationData || !dtlsVersion(ver) ||
			n == 0 || n > maxRecordLen || off+dtlsRecordHeader+n > len(b) {
			return d.reject()
		}
		if epoch == 0 {
			allEncrypted = false
		}
		off += dtlsRecordHeader + n
	}
	if len(b) == 0 {
		return d.status()
	}
	for off := 0; off < len(b) && !d.notMine; {
		typ := b[off]
		epoch := uint16(b[off+3])<<8 | uint16(b[off+4])
		n := int(b[off+11])<<8 | int(b[off+12])
		body := b[off+dtlsRecordHeader : off+dtlsRecordHeader+n]
		off += dtlsRecordHeader + n
		switch {
		case typ == recHandshake && epoch == 0:
			d.handshake(p, m, body)
		case typ == recApplicationData && d.identified:
			d.finish()
		}
	}
	if allEncrypted && !d.identified && !d.notMine {
		d.encrypted++
		if d.encrypted >= 2 {
			d.identify(m, "DTLS records (mid-stream)")
			d.finish()
		}
	}
	return d.status()
}

func (d *DTLSDissector) status() dissect.Status {
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

func (d *DTLSDissector) reject() dissect.Status {
	if d.identified {
		return d.status() // stray datagram in an identified flow (RTP/STUN mux)
	}
	d.notMine = true
	d.msg = [2]dtlsMsg{}
	return dissect.NotMine
}

// handshake handles the (possibly several) handshake fragments of one
// epoch-0 record.
func (d *DTLSDissector) handshake(p *dissect.Packet, m *dissect.Meta, b []byte) {
	for len(b) > 0 && !d.notMine && !d.done {
		if len(b) < dtlsHSHeader {
			d.bad()
			return
		}
		typ := b[0]
		total := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		mseq := uint16(b[4])<<8 | uint16(b[5])
		foff := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
		flen := int(b[9])<<16 | int(b[10])<<8 | int(b[11])
		if dtlsHSHeader+flen > len(b) || foff+flen > total {
			d.bad()
			return
		}
		frag := b[dtlsHSHeader : dtlsHSHeader+flen]
		b = b[dtlsHSHeader+flen:]
		if typ != hsClientHello && typ != hsServerHello && typ != hsCertificate {
			continue
		}
		if total > maxDirBytes {
			if typ == hsClientHello && !d.identified {
				d.identify(m, "DTLS ClientHello too large to reassemble")
			}
			continue
		}
		if foff == 0 && flen == total {
			// Unfragmented: parse in place through a 4-byte header view.
			d.message(p, m, typ, b4(typ, total, frag))
			continue
		}
		d.fragment(p, m, typ, mseq, total, foff, frag)
	}
}

// b4 returns a TLS-style handshake message (4-byte header) for frag. It
// copies into a fresh slice: DTLS fragments carry a 12-byte header, so the
// message cannot be viewed in place.
func b4(typ uint8, total int, body []byte) []byte {
	out := make([]byte, 4+len(body))
	out[0], out[1], out[2], out[3] = typ, byte(total>>16), byte(total>>8), byte(total)
	copy(out[4:], body)
	return out
}

func (d *DTLSDissector) fragment(p *dissect.Packet, m *dissect.Meta, typ uint8, mseq uint16, total, foff int, frag []byte) {
	r := &d.msg[p.Dir]
	if !r.active || r.typ != typ || r.seq != mseq || len(r.buf) != 4+total {
		*r = dtlsMsg{active: true, typ: typ, seq: mseq}
		r.buf = make([]byte, 4+total)
		r.buf[0], r.buf[1], r.buf[2], r.buf[3] = typ, byte(total>>16), byte(total>>8), byte(total)
	}
	if r.nfrag >= maxFrags {
		return
	}
	copy(r.buf[4+foff:], frag)
	r.frags[r.nfrag] = [2]int{foff, foff + len(frag)}
	r.nfrag++
	if covered(r.frags[:r.nfrag], total) {
		msg := r.buf
		*r = dtlsMsg{}
		d.message(p, m, typ, msg)
	}
}

// covered reports whether the fragment ranges cover [0,total).
func covered(fr [][2]int, total int) bool {
	end := 0
	for progress := true; progress; {
		progress = false
		for _, f := range fr {
			if f[0] <= end && f[1] > end {
				end = f[1]
				progress = true
			}
		}
	}
	return end >= total
}

func (d *DTLSDissector) bad() {
	if !d.identified {
		d.notMine = true
	}
}

func (d *DTLSDissector) message(p *dissect.Packet, m *dissect.Meta, typ uint8, msg []byte) {
	switch typ {
	case hsClientHello:
		if d.sawCH {
			return
		}
		var ch clientHello
		if err := parseClientHello(msg, true, &ch); err != nil {
			d.bad()
			return
		}
		d.sawCH = true
		ch.fill('d', m)
		why := "DTLS ClientHello"
		if len(ch.sni) > 0 {
			why = "DTLS ClientHello SNI"
		}
		d.identify(m, why)
	case hsServerHello:
		if d.sawSH {
			return
		}
		if err := ParseServerHello(msg, m); err != nil {
			d.bad()
			return
		}
		d.sawSH = true
		if !d.identified {
			d.identify(m, "DTLS ServerHello")
		}
		if m.TLS.Version == 0xfefc {
			d.finish() // DTLS 1.3: the certificate is encrypted
		}
	case hsCertificate:
		if d.sawCert || !d.sawSH {
			return
		}
		d.sawCert = true
		_ = ParseCertificate(msg, m) // no certificate metadata on failure
		d.finish()
	}
}

func (d *DTLSDissector) identify(m *dissect.Meta, why string) {
	d.identified = true
	m.Proto = dissect.DTLS
	m.Why = why
}

func (d *DTLSDissector) finish() {
	if d.identified {
		d.done = true
		d.msg = [2]dtlsMsg{}
	}
}
