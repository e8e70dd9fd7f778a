package dns

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"unicode/utf8"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

const (
	headerLen    = 12
	maxWireName  = 255  // RFC 1035 3.1: a name is at most 255 octets on the wire
	maxLabel     = 63   // RFC 1035 3.1
	maxHops      = 126  // compression pointers followed per name; a 255-octet name has at most 127 labels
	maxText      = 1024 // presentation bytes: each wire octet becomes at most 4 ("\DDD")
	maxQuestions = 4    // DNS messages carry one
	maxMDNSQs    = 64   // mDNS queries batch their questions
	maxAnswers   = 16   // answers kept in Meta per flow
	maxOptions   = 8    // EDNS options kept in Meta per flow
	maxEDEText   = 256  // EXTRA-TEXT bytes kept
)

// Reasons a message is rejected; Parse returns one of these.
var (
	ErrShort    = errors.New("dns: message truncated")
	ErrHeader   = errors.New("dns: implausible header")
	ErrLabel    = errors.New("dns: bad label")
	ErrNameLong = errors.New("dns: name longer than 255 octets")
	ErrPointer  = errors.New("dns: bad compression pointer")
	ErrLoop     = errors.New("dns: compression pointer loop")
	ErrQuestion = errors.New("dns: implausible question")
)

type header struct {
	id, flags      uint16
	qd, an, ns, ar uint16
}

func (h header) response() bool { return h.flags&0x8000 != 0 }
func (h header) opcode() uint8  { return uint8(h.flags>>11) & 0xf }
func (h header) rcode() uint8   { return uint8(h.flags & 0xf) }

func readHeader(msg []byte) (header, error) {
	if len(msg) < headerLen {
		return header{}, ErrShort
	}
	be := binary.BigEndian
	return header{
		id: be.Uint16(msg), flags: be.Uint16(msg[2:]),
		qd: be.Uint16(msg[4:]), an: be.Uint16(msg[6:]), ns: be.Uint16(msg[8:]), ar: be.Uint16(msg[10:]),
	}, nil
}

// checkHeader applies the plausibility rules that keep random payloads
// out. full says msgLen is the whole message (not a truncated prefix), so
// the record counts can be bounded by the bytes available.
func checkHeader(h header, mdns bool, msgLen int, full bool) error {
	switch h.opcode() {
	case 0, 2, 4, 5: // query, status, notify, update (1 IQUERY is obsolete)
	default:
		return ErrHeader
	}
	if h.flags&0x0040 != 0 { // Z must be zero
		return ErrHeader
	}
	if h.qd > maxQuestions && !(mdns && h.qd <= maxMDNSQs) {
		return ErrHeader
	}
	if h.qd == 0 && !(mdns && h.response() && h.an > 0) {
		// Only mDNS announcements carry no question.
		return ErrHeader
	}
	if h.response() {
		if h.rcode() > 10 { // 11..15 are unassigned
			return ErrHeader
		}
	} else {
		if h.rcode() != 0 || h.flags&0x0400 != 0 { // a query has no rcode and is not authoritative
			return ErrHeader
		}
		// A plain query carries no answers (mDNS adds known answers).
		if !mdns && h.opcode() == 0 && (h.an != 0 || h.ns != 0 || h.ar > 2) {
			return ErrHeader
		}
	}
	if full {
		// Every question needs >= 5 octets, every RR >= 11.
		need := int(h.qd)*5 + (int(h.an)+int(h.ns)+int(h.ar))*11
		if need > msgLen-headerLen {
			return ErrHeader
		}
	}
	return nil
}

// readName decodes the name at off into dst as lower-case presentation
// text without the trailing dot (the root name is empty). Octets outside
// '!'..'~' become "\DDD", and '.' and '\' inside a label are
// backslash-escaped, so the text is unambiguous and printable. It returns
// the text length and the offset just past the name's first encoding.
// With a nil dst it only validates (and n stays 0).
func readName(msg []byte, off int, dst *[maxText]byte) (n, next int, err error) {
	wire, hops := 0, 0
	next = -1
	for {
		if off >= len(msg) {
			return 0, 0, ErrShort
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = off + 1
				}
				return n, next, nil
			}
			if off+1+c > len(msg) {
				return 0, 0, ErrShort
			}
			wire += 1 + c
			if wire+1 > maxWireName {
				return 0, 0, ErrNameLong
			}
			if dst != nil {
				if n > 0 {
					dst[n] = '.'
					n++
				}
				for _, b := range msg[off+1 : off+1+c] {
					n = appendEscaped(dst, n, b)
				}
			}
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return 0, 0, ErrShort
			}
			ptr := (c&0x3f)<<8 | int(msg[off+1])
			if next < 0 {
				next = off + 2
			}
			// Pointers must point back to a prior name (RFC 1035 4.1.4):
			// that alone rules out self-loops, and the hop bound plus
			// the 255-octet bound stop longer cycles.
			if ptr < headerLen || ptr >= off {
				return 0, 0, ErrPointer
			}
			if hops++; hops > maxHops {
				return 0, 0, ErrLoop
			}
			off = ptr
		default: // 0x40 / 0x80: extended label types, never deployed
			return 0, 0, ErrLabel
		}
	}
}

func appendEscaped(dst *[maxText]byte, n int, b byte) int {
	switch {
	case b >= 'A' && b <= 'Z':
		dst[n] = b + 'a' - 'A'
		return n + 1
	case b == '.' || b == '\\':
		dst[n], dst[n+1] = '\\', b
		return n + 2
	case b > ' ' && b < 0x7f:
		dst[n] = b
		return n + 1
	}
	dst[n], dst[n+1], dst[n+2], dst[n+3] = '\\', '0'+b/100, '0'+b/10%10, '0'+b%10
	return n + 4
}

// question holds the first question of a message.
type question struct {
	nameLen       int
	qtype, qclass uint16
	end           int // offset after all questions
}

// readQuestions validates every question and returns the first one.
func readQuestions(msg []byte, h header, mdns bool, nb *[maxText]byte) (question, error) {
	var q question
	off := headerLen
	for i := 0; i < int(h.qd); i++ {
		dst := nb
		if i > 0 {
			dst = nil // later questions are only validated
		}
		n, next, err := readName(msg, off, dst)
		if err != nil {
			return q, err
		}
		if next+4 > len(msg) {
			return q, ErrShort
		}
		qt := binary.BigEndian.Uint16(msg[next:])
		qc := binary.BigEndian.Uint16(msg[next+2:])
		if !plausibleQuestion(qt, qc, mdns) {
			return q, ErrQuestion
		}
		if i == 0 {
			q.nameLen, q.qtype, q.qclass = n, qt, qc
		}
		off = next + 4
	}
	q.end = off
	return q, nil
}

func plausibleQuestion(qt, qc uint16, mdns bool) bool {
	if qt == 0 {
		return false
	}
	if mdns {
		qc &= 0x7fff // the top bit asks for a unicast response (RFC 6762 5.4)
	}
	switch qc {
	case 1, 3, 4, 254, 255: // IN, CH, HS, NONE, ANY
		return true
	}
	return false
}

// recordInfo walks the resource records from off and, when info is not
// nil, records answers and EDNS options into it. It stops at the first
// malformed record and returns its error; what was recorded stays.
func recordInfo(msg []byte, off int, h header, info *dissect.DNSInfo, nb *[maxText]byte) error {
	total := int(h.an) + int(h.ns) + int(h.ar)
	be := binary.BigEndian
	for i := 0; i < total; i++ {
		var dst *[maxText]byte
		if info != nil {
			dst = nb
		}
		n, next, err := readName(msg, off, dst)
		if err != nil {
			return err
		}
		if next+10 > len(msg) {
			return ErrShort
		}
		typ := be.Uint16(msg[next:])
		ttl := be.Uint32(msg[next+4:])
		rd := next + 10
		end := rd + int(be.Uint16(msg[next+8:]))
		if end > len(msg) {
			return ErrShort
		}
		off = end
		if info == nil {
			continue
		}
		switch {
		case i < int(h.an) && h.response():
			if len(info.Answers) < maxAnswers && keptType(typ) {
				owner := intern.Bytes(nb[:n]) // before answer() reuses nb
				if a, ok := answer(msg, rd, end, typ, nb); ok {
					a.Name, a.Type, a.TTL = owner, typ, ttl
					if info.Answers == nil {
						// One allocation for the answers to come, not
						// one per doubling.
						info.Answers = make([]dissect.DNSAnswer, 0, min(int(h.an)-i, maxAnswers))
					}
					info.Answers = append(info.Answers, a)
				}
			}
		case i >= int(h.an)+int(h.ns) && typ == 41: // OPT
			if h.response() {
				// RFC 6891 6.1.3: the TTL carries the upper 8 bits of
				// the extended RCODE.
				if ext := ttl >> 24; ext > 0 && ext < 16 {
					info.RCode = uint8(ext<<4) | h.rcode()
				}
				info.EDNS = info.EDNS[:0]
				options(msg[rd:end], info)
			}
		}
	}
	return nil
}

func keptType(t uint16) bool { return t == 1 || t == 28 || t == 5 || t == 64 || t == 65 }

// answer decodes the RDATA of a kept answer type.
func answer(msg []byte, rd, end int, typ uint16, nb *[maxText]byte) (dissect.DNSAnswer, bool) {
	var a dissect.DNSAnswer
	switch typ {
	case 1:
		if end-rd != 4 {
			return a, false
		}
		a.Addr = netip.AddrFrom4([4]byte(msg[rd:end]))
	case 28:
		if end-rd != 16 {
			return a, false
		}
		a.Addr = netip.AddrFrom16([16]byte(msg[rd:end]))
	case 5:
		n, next, err := readName(msg[:end], rd, nb)
		if err != nil || next != end {
			return a, false
		}
		a.Target = targetString(nb, n)
	case 64, 65: // SVCB / HTTPS (RFC 9460)
		if end-rd < 3 {
			return a, false
		}
		n, next, err := readName(msg[:end], rd+2, nb)
		if err != nil {
			return a, false
		}
		a.Target = targetString(nb, n)
		var v6 netip.Addr
		for p := next; p < end; {
			if p+4 > end {
				return a, false
			}
			key := binary.BigEndian.Uint16(msg[p:])
			l := int(binary.BigEndian.Uint16(msg[p+2:]))
			v := p + 4
			if v+l > end {
				return a, false
			}
			switch {
			case key == 4 && l >= 4 && l%4 == 0 && !a.Addr.IsValid(): // ipv4hint
				a.Addr = netip.AddrFrom4([4]byte(msg[v : v+4]))
			case key == 6 && l >= 16 && l%16 == 0 && !v6.IsValid(): // ipv6hint
				v6 = netip.AddrFrom16([16]byte(msg[v : v+16]))
			}
			p = v + l
		}
		if !a.Addr.IsValid() {
			a.Addr = v6
		}
	}
	return a, true
}

// targetString returns a target name; the root (SVCB "same as owner") is ".".
func targetString(nb *[maxText]byte, n int) string {
	if n == 0 {
		return "."
	}
	return intern.Bytes(nb[:n])
}

// options records the options of an OPT RDATA.
func options(b []byte, info *dissect.DNSInfo) {
	be := binary.BigEndian
	for len(b) >= 4 && len(info.EDNS) < maxOptions {
		code, l := be.Uint16(b), int(be.Uint16(b[2:]))
		if 4+l > len(b) {
			return
		}
		o := dissect.EDNSOption{Code: code, Len: uint16(l)}
		if code == 15 && l >= 2 { // Extended DNS Error (RFC 8914)
			o.InfoCode = be.Uint16(b[4:])
			o.Text = safeText(b[6 : 4+l])
		}
		info.EDNS = append(info.EDNS, o)
		b = b[4+l:]
	}
}

// safeText copies EXTRA-TEXT, bounded, with control characters and
// invalid UTF-8 replaced so logs and UIs cannot be confused by it.
func safeText(b []byte) string {
	if len(b) > maxEDEText {
		b = b[:maxEDEText]
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f:
			out = append(out, '?')
		default:
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}

// Parse parses one DNS message (the UDP payload, or a TCP message without
// its length prefix) into info. It validates the header and every
// question; from the first question it sets QName, QType and QClass if
// info holds none yet, and returns that name as host (lower-case, no
// trailing dot, unusual octets escaped as in RFC 1035 presentation). For
// a response it sets Response and RCode and appends the A, AAAA, CNAME,
// SVCB and HTTPS answers and the OPT record's options (EDE text
// included). A malformed record after the questions ends the walk: what
// was parsed stays in info and err reports the reason.
//
// Parse applies the DNS rules (at least one question); mDNS
// announcements without a question are accepted by the Dissector only.
// It allocates the strings it stores.
func Parse(msg []byte, info *dissect.DNSInfo) (host string, err error) {
	h, err := readHeader(msg)
	if err != nil {
		return "", err
	}
	if err := checkHeader(h, false, len(msg), true); err != nil {
		return "", err
	}
	var nb [maxText]byte
	q, err := readQuestions(msg, h, false, &nb)
	if err != nil {
		return "", err
	}
	host = intern.Bytes(nb[:q.nameLen])
	if info.QType == 0 {
		info.QName, info.QType, info.QClass = host, q.qtype, q.qclass
	}
	if h.response() {
		info.Response = true
		info.RCode = h.rcode()
	}
	return host, recordInfo(msg, q.end, h, info, &nb)
}

// skipName validates the name at off and returns the offset after it.
func skipName(msg []byte, off int) (int, error) {
	_, next, err := readName(msg, off, nil)
	return next, err
}
