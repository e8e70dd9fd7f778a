package quic

import (
	"encoding/binary"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
	"github.com/weirnet/weir/internal/dissect/tls"
)

// maxKeys bounds the client DCIDs whose Initial keys are kept: the first
// DCID, the one chosen by the server, and room for a Retry or a restart
// after Version Negotiation.
const maxKeys = 4

// minClientInitial is the smallest UDP payload carrying a client Initial
// (RFC 9000 section 14.1); used only for reserved versions, where the
// version alone is weak evidence.
const minClientInitial = 1200

// Dissector identifies QUIC over UDP. The zero value is ready to use.
type Dissector struct {
	ident bool // Meta.Proto has been set
	weak  bool // ... on a reserved version only; a known one overrides it
	done  bool
	ver   version

	// The first client long header's connection IDs, to match a server's
	// Version Negotiation against.
	clientDCID, clientSCID       [maxCIDLen]byte
	clientDCIDLen, clientSCIDLen uint8
	sawClient                    bool

	keys      [maxKeys]keySet
	nkeys     int
	crypto    cryptoBuf
	cryptoVer uint32 // version whose CRYPTO stream crypto holds

	scratch []byte // decrypted packet; kept across Reset
	nonce   [12]byte
	mask    [16]byte
}

var _ dissect.Dissector = (*Dissector)(nil)

// Reset drops all state and buffers.
func (d *Dissector) Reset() {
	// Keep the CRYPTO buffer: the engine pools dissectors, and allocating
	// 16 KiB per QUIC flow was the dissector's main cost.
	buf, scratch := d.crypto.buf, d.scratch
	*d = Dissector{}
	d.crypto.buf, d.scratch = buf, scratch[:0]
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	if d.done {
		return dissect.Done
	}
	b := p.Payload
	if len(b) == 0 {
		return d.status()
	}
	if b[0]&0x80 != 0 {
		return d.feedLong(p, b, m)
	}
	return d.feedPublic(p, b, m)
}

func (d *Dissector) status() dissect.Status {
	switch {
	case d.done:
		return dissect.Done
	case d.ident:
		return dissect.Identified
	}
	return dissect.NotMine
}

// identify records the first positive evidence in m.
func (d *Dissector) identify(m *dissect.Meta, ver uint32, v version, why string) {
	if d.ident {
		return
	}
	d.ident, d.ver = true, v
	m.Proto = dissect.QUIC
	m.QUIC.Version = ver
	m.QUIC.Google = v.google
	m.Why = why
}

// feedLong walks the coalesced long-header packets of one datagram.
func (d *Dissector) feedLong(p *dissect.Packet, b []byte, m *dissect.Meta) dissect.Status {
	if len(b) >= 5 && binary.BigEndian.Uint32(b[1:]) == VersionQ046 {
		return d.feedQ046(p, b, m)
	}
	for off := 0; off+5 <= len(b) && b[off]&0x80 != 0; {
		ver := binary.BigEndian.Uint32(b[off+1:])
		v, known := lookupVersion(ver)
		h, ok := parseLong(b, off, v.v2)
		if !ok {
			break
		}
		if ver == 0 {
			if off == 0 && d.matchVN(p, b, &h) {
				d.identify(m, 0, version{}, "QUIC version negotiation")
			}
			break
		}
		if !known {
			if off == 0 && p.Dir == dissect.ToServer && isForcingVN(ver) &&
				len(b) >= minClientInitial && h.typ == typeInitial {
				d.noteClient(b, &h)
				if !d.ident {
					d.identify(m, ver, version{name: "forcing-vn"}, "QUIC Initial forcing version negotiation")
					d.weak = true
				}
			}
			break
		}
		if d.weak {
			// A real version after Version Negotiation is the better answer.
			d.ident, d.weak = false, false
		}
		d.identify(m, ver, v, v.why.header)
		if p.Dir == dissect.ToServer && h.typ == typeInitial {
			d.noteClient(b, &h)
			if v.salt != nil {
				d.decryptInitial(b, off, &h, ver, v, m)
				if d.done {
					return dissect.Done
				}
			}
		}
		if h.typ == typeRetry {
			break
		}
		off = h.end
	}
	return d.status()
}

// noteClient remembers the connection IDs of the client's first long header.
func (d *Dissector) noteClient(b []byte, h *longHeader) {
	if d.sawClient {
		return
	}
	d.sawClient = true
	d.clientDCIDLen = uint8(copy(d.clientDCID[:], h.dcid.of(b)))
	d.clientSCIDLen = uint8(copy(d.clientSCID[:], h.scid.of(b)))
}

// matchVN accepts a server's Version Negotiation packet only as a reply to
// a client long header seen earlier in this flow: its connection IDs echo
// the client's (RFC 9000 section 17.2.1) and it lists whole versions.
func (d *Dissector) matchVN(p *dissect.Packet, b []byte, h *longHeader) bool {
	if p.Dir != dissect.ToClient || !d.sawClient {
		return false
	}
	list := len(b) - (h.scid.off + h.scid.n)
	return list >= 4 && list%4 == 0 &&
		string(h.dcid.of(b)) == string(d.clientSCID[:d.clientSCIDLen]) &&
		string(h.scid.of(b)) == string(d.clientDCID[:d.clientDCIDLen])
}

// decryptInitial opens a client Initial with the keys of its own DCID, or
// failing that with those of any DCID the client used before (after the
// server's first Initial the client switches DCID but keeps the keys
// derived from its first one).
func (d *Dissector) decryptInitial(b []byte, off int, h *longHeader, ver uint32, v version, m *dissect.Meta) {
	dcid := h.dcid.of(b)
	own := -1
	for i := range d.nkeys {
		if d.keys[i].matches(ver, dcid) {
			own = i
			break
		}
	}
	if own < 0 && d.nkeys < maxKeys && deriveClientKeys(&d.keys[d.nkeys], ver, v, dcid) {
		own = d.nkeys
		d.nkeys++
	}
	if own >= 0 {
		if pt := d.open(b, off, h, &d.keys[own]); pt != nil {
			d.plaintext(pt, ver, v, m)
			return
		}
	}
	for i := range d.nkeys {
		if i == own || d.keys[i].version != ver {
			continue
		}
		if pt := d.open(b, off, h, &d.keys[i]); pt != nil {
			d.plaintext(pt, ver, v, m)
			return
		}
	}
}

// plaintext feeds the CRYPTO frames of one decrypted Initial into the
// reassembly buffer and parses the hello once it is complete.
func (d *Dissector) plaintext(pt []byte, ver uint32, v version, m *dissect.Meta) {
	if d.cryptoVer != ver {
		// A restart in another version (after Version Negotiation) begins
		// a new CRYPTO stream.
		d.crypto.reset()
		d.cryptoVer = ver
	}
	walkFrames(pt, v.google, d.crypto.insert)
	hs := d.crypto.prefix()
	switch v.kind {
	case carriesTLS:
		if len(hs) < 4 {
			return
		}
		n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		if hs[0] != 1 || n > cryptoMax {
			d.finish(m, v, false)
			return
		}
		if len(hs) < n {
			return
		}
		d.finish(m, v, tls.ParseClientHello(hs[:n], 'q', m) == nil)
	case carriesCHLO:
		switch parseCHLO(hs, nil) {
		case chloBad:
			if len(hs) >= 8 {
				d.finish(m, v, false)
			}
		case chloComplete:
			parseCHLO(hs, m)
			d.finish(m, v, true)
		}
	}
}

// finish ends the dissection once the hello has been read (or found not
// to be one).
func (d *Dissector) finish(m *dissect.Meta, v version, ok bool) {
	d.done = true
	d.crypto.reset()
	switch {
	case !ok:
		m.Why = v.why.noHello
	case m.Host != "":
		m.Why = v.why.sni
	default:
		m.Why = v.why.decrypted
	}
}

// feedPublic handles Google QUIC's public header (Q024-Q043).
func (d *Dissector) feedPublic(p *dissect.Packet, b []byte, m *dissect.Meta) dissect.Status {
	if p.Dir != dissect.ToServer {
		return d.status()
	}
	ver, off, ok := parsePublicHeader(b)
	if !ok {
		return d.status()
	}
	return d.googleCHLO(b, off, ver, m)
}

// feedQ046 handles Q046, which has an IETF-like long header but an
// unencrypted CHLO.
func (d *Dissector) feedQ046(p *dissect.Packet, b []byte, m *dissect.Meta) dissect.Status {
	if p.Dir != dissect.ToServer {
		return d.status()
	}
	off, ok := parseQ046Header(b)
	if !ok {
		return d.status()
	}
	return d.googleCHLO(b, off, VersionQ046, m)
}

// googleCHLO identifies a Google QUIC client packet and reads its CHLO.
func (d *Dissector) googleCHLO(b []byte, off int, ver uint32, m *dissect.Meta) dissect.Status {
	if !d.ident {
		tag := [4]byte{byte(ver >> 24), byte(ver >> 16), byte(ver >> 8), byte(ver)}
		v := version{google: true, name: intern.Bytes(tag[:])}
		d.identify(m, ver, v, intern.Concat("Google QUIC ", v.name, " header"))
	}
	i := findCHLO(b, off)
	if i < 0 || parseCHLO(b[i:], m) == chloBad {
		return d.status()
	}
	d.done = true
	if m.Host != "" {
		m.Why = intern.Concat("Google QUIC ", d.ver.name, " CHLO, SNI")
	} else {
		m.Why = intern.Concat("Google QUIC ", d.ver.name, " CHLO")
	}
	return dissect.Done
}
