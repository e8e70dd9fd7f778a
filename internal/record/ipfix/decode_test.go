package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// A test-only IPFIX decoder, written from RFC 7011, used to check what the
// exporter writes (unit tests and the round-trip fuzz target).

type fkey struct {
	pen uint32
	id  uint16
}

type tfield struct {
	fkey
	length uint16
}

type decoder struct {
	templates map[uint16][]tfield
}

type decMsg struct {
	length     uint16
	exportTime uint32
	seq        uint32
	domain     uint32
	templates  []uint16
	records    []decRec
}

type decRec struct {
	tid    uint16
	fields map[fkey][]byte
}

var errShort = errors.New("short")

func newDecoder() *decoder { return &decoder{templates: map[uint16][]tfield{}} }

func (d *decoder) decode(b []byte) (decMsg, error) {
	var m decMsg
	if len(b) < 16 {
		return m, errShort
	}
	if v := binary.BigEndian.Uint16(b); v != 10 {
		return m, fmt.Errorf("version %d", v)
	}
	m.length = binary.BigEndian.Uint16(b[2:])
	if int(m.length) != len(b) {
		return m, fmt.Errorf("length %d, have %d", m.length, len(b))
	}
	m.exportTime = binary.BigEndian.Uint32(b[4:])
	m.seq = binary.BigEndian.Uint32(b[8:])
	m.domain = binary.BigEndian.Uint32(b[12:])
	for p := b[16:]; len(p) > 0; {
		if len(p) < 4 {
			return m, errShort
		}
		sid, sl := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		if sl < 4 || sl > len(p) {
			return m, fmt.Errorf("set length %d", sl)
		}
		body := p[4:sl]
		p = p[sl:]
		switch {
		case sid == 2:
			for len(body) >= 4 {
				tid, n := binary.BigEndian.Uint16(body), int(binary.BigEndian.Uint16(body[2:]))
				body = body[4:]
				var fs []tfield
				for range n {
					if len(body) < 4 {
						return m, errShort
					}
					f := tfield{fkey{0, binary.BigEndian.Uint16(body) &^ 0x8000}, binary.BigEndian.Uint16(body[2:])}
					ent := body[0]&0x80 != 0
					body = body[4:]
					if ent {
						if len(body) < 4 {
							return m, errShort
						}
						f.pen = binary.BigEndian.Uint32(body)
						body = body[4:]
					}
					fs = append(fs, f)
				}
				d.templates[tid] = fs
				m.templates = append(m.templates, tid)
			}
		case sid >= 256:
			fs, ok := d.templates[sid]
			if !ok {
				return m, fmt.Errorf("no template %d", sid)
			}
			for len(body) > 0 {
				before := len(body)
				r := decRec{tid: sid, fields: map[fkey][]byte{}}
				for _, f := range fs {
					l := int(f.length)
					if f.length == 0xffff {
						if len(body) < 1 {
							return m, errShort
						}
						l, body = int(body[0]), body[1:]
						if l == 255 {
							if len(body) < 2 {
								return m, errShort
							}
							l, body = int(binary.BigEndian.Uint16(body)), body[2:]
						}
					}
					if len(body) < l {
						return m, errShort
					}
					r.fields[f.fkey], body = body[:l], body[l:]
				}
				if len(body) == before {
					return m, errors.New("empty template")
				}
				m.records = append(m.records, r)
			}
		default:
			return m, fmt.Errorf("set id %d", sid)
		}
	}
	return m, nil
}

// exported is a decoded data record in Go terms.
type exported struct {
	Src, Dst         netip.Addr
	SPort, DPort     uint16
	Proto            uint8
	Bytes, Packets   uint64
	StartMs, EndMs   uint64
	EndReason, Fwd   uint8
	VLAN             uint16
	AppID            []byte
	AppName          string
	Host, Rule       string
	ProtoName, Categ string
	Dir              uint8
}

func (r decRec) exported() exported {
	u := func(id uint16) uint64 {
		var v uint64
		for _, c := range r.fields[fkey{0, id}] {
			v = v<<8 | uint64(c)
		}
		return v
	}
	e := func(id uint16) []byte { return r.fields[fkey{PEN, id}] }
	addr := func(id uint16) netip.Addr {
		b := r.fields[fkey{0, id}]
		switch len(b) {
		case 4:
			return netip.AddrFrom4([4]byte(b))
		case 16:
			return netip.AddrFrom16([16]byte(b))
		}
		return netip.Addr{}
	}
	x := exported{
		SPort: uint16(u(7)), DPort: uint16(u(11)), Proto: uint8(u(4)),
		Bytes: u(1), Packets: u(2), StartMs: u(152), EndMs: u(153),
		EndReason: uint8(u(136)), Fwd: uint8(u(89)), VLAN: uint16(u(58)),
		AppID: r.fields[fkey{0, 95}], AppName: string(r.fields[fkey{0, 96}]),
		Host: string(e(IEHost)), Rule: string(e(IERule)),
		ProtoName: string(e(IEProtocol)), Categ: string(e(IECategory)),
	}
	if d := e(IEDirection); len(d) == 1 {
		x.Dir = d[0]
	}
	if r.tid == TemplateIPv4 {
		x.Src, x.Dst = addr(8), addr(12)
	} else {
		x.Src, x.Dst = addr(27), addr(28)
	}
	return x
}
