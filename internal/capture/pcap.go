package capture

import "fmt"

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// readPcapHeader parses the 24-byte classic pcap file header; r.be and
// r.nano were set from the magic.
func (r *Reader) readPcapHeader() error {
	if have := r.fill(pcapFileHeaderLen); have < pcapFileHeaderLen {
		return r.short(0, "truncated file header", pcapFileHeaderLen, int64(have))
	}
	h := r.data[r.pos : r.pos+pcapFileHeaderLen]
	if major := r.u16(h[4:]); major != 2 {
		return r.fail(0, ErrUnsupported, "unsupported pcap version", fmt.Sprintf("%d.%d", major, r.u16(h[6:])))
	}
	// thiszone (h[8:12]) is always 0 in practice and ignored, as by
	// libpcap. Snaplen (h[16:20]) is advisory: writers put 0, 65535, 262144 or
	// larger there. Records are checked against MaxCapLen instead, which
	// is what actually bounds memory.
	//
	// The link-type field carries FCS information in its upper bits
	// (bits 28-31) and reserved bits in 16-27; only the low 16 bits name
	// the link type.
	r.link = LinkType(r.u32(h[20:]) & 0xffff)
	r.pos += pcapFileHeaderLen
	return nil
}

func (r *Reader) nextPcap(p *Packet) error {
	off := r.off()
	have := r.fill(pcapRecordHeaderLen)
	if have < pcapRecordHeaderLen {
		if have == 0 {
			return r.eof()
		}
		return r.short(off, "truncated record header", pcapRecordHeaderLen, int64(have))
	}
	h := r.data[r.pos : r.pos+pcapRecordHeaderLen]
	sec := r.u32(h[0:])
	frac := r.u32(h[4:])
	capLen := r.u32(h[8:])
	origLen := r.u32(h[12:])
	if capLen > MaxCapLen {
		return r.fail(off, ErrCorrupt, "record length too large", fmt.Sprintf("caplen %d, limit %d", capLen, MaxCapLen))
	}
	need := pcapRecordHeaderLen + int(capLen)
	if have = r.fill(need); have < need {
		return r.short(off, "truncated record", int64(capLen), int64(have-pcapRecordHeaderLen))
	}
	// Some writers pad frames past their wire length; bytes beyond the
	// wire length never existed on the wire, so they are not exposed.
	n := r.pos + pcapRecordHeaderLen + int(min(capLen, origLen))
	// Capacity is cut too, so an append by the caller reallocates instead
	// of overwriting the next record (or faulting on a read-only mapping).
	data := r.data[r.pos+pcapRecordHeaderLen : n : n]
	r.pos += need
	ts := int64(sec) * 1e9
	if r.nano {
		ts += int64(frac)
	} else {
		ts += int64(frac) * 1e3
	}
	p.Data = data
	p.WireLen = int(origLen)
	p.TS = ts
	p.LinkType = r.link
	p.Offset = off
	return nil
}
