package lan

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
)

func hasPort(p *dissect.Packet, port uint16) bool {
	return p.ServerPort == port || p.ClientPort == port
}

// ---- SSDP ----------------------------------------------------------------

// SSDP recognises the Simple Service Discovery Protocol (UPnP discovery,
// HTTP-over-UDP on 1900): an M-SEARCH or NOTIFY request or a 200 search
// response, with its ST or NT header. One datagram decides. Host stays
// empty: the HOST header names the multicast group, not a server.
type SSDP struct{}

// Reset implements dissect.Dissector.
func (d *SSDP) Reset() {}

// Feed implements dissect.Dissector.
func (d *SSDP) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if p.L4 != 17 || len(b) < 17 {
		return dissect.NotMine
	}
	var need, why string
	switch {
	case bytes.HasPrefix(b, []byte("M-SEARCH * HTTP/1.1\r\n")):
		need, why = "st", "SSDP M-SEARCH"
	case bytes.HasPrefix(b, []byte("NOTIFY * HTTP/1.1\r\n")):
		need, why = "nt", "SSDP NOTIFY"
	case bytes.HasPrefix(b, []byte("HTTP/1.1 200 OK\r\n")):
		need, why = "st", "SSDP search response"
	default:
		return dissect.NotMine
	}
	if !hasHeader(b, need) {
		return dissect.NotMine
	}
	m.Proto, m.Why = dissect.SSDP, why
	m.HTTP.Method = intern.Bytes(b[:bytes.IndexByte(b, ' ')])
	if h := headerValue(b, "host"); printable(h) {
		m.HTTP.HostHeader = intern.Bytes(h)
	}
	return dissect.Done
}

// headerValue returns the trimmed value of the first header line named
// name (lower-case), or nil.
func headerValue(b []byte, name string) []byte {
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		colon := bytes.IndexByte(line, ':')
		if colon == len(name) && bytes.EqualFold(line[:colon], []byte(name)) {
			return bytes.TrimSpace(line[colon+1:])
		}
	}
	return nil
}

// printable: non-empty, at most 255 bytes of printable ASCII.
func printable(v []byte) bool {
	if len(v) == 0 || len(v) > 255 {
		return false
	}
	for _, c := range v {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// hasHeader reports whether a header line named name (lower-case) with a
// non-empty value follows the start line.
func hasHeader(b []byte, name string) bool {
	i := bytes.IndexByte(b, '\n')
	for i >= 0 && i+1 < len(b) {
		b = b[i+1:]
		i = bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line = b[:i]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon == len(name) && bytes.EqualFold(line[:colon], []byte(name)) &&
			len(bytes.TrimSpace(line[colon+1:])) > 0 {
			return true
		}
	}
	return false
}

// ---- DHCP ----------------------------------------------------------------

const dhcpCookie = 0x63825363

// DHCP recognises DHCP and BOOTP with the DHCP magic cookie (RFC 2131):
// op 1 or 2, a sane hardware address, the cookie, and well-formed options
// ending in END. One datagram decides. Host stays empty: option 12 names
// the client, not a server, so it goes to Meta.ClientName.
type DHCP struct{}

// Reset implements dissect.Dissector.
func (d *DHCP) Reset() {}

// Feed implements dissect.Dissector.
func (d *DHCP) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if p.L4 != 17 || len(b) < 241 {
		return dissect.NotMine
	}
	op, htype, hlen, hops := b[0], b[1], b[2], b[3]
	if op < 1 || op > 2 || htype == 0 || htype > 40 || hlen > 16 || (htype == 1 && hlen != 6) || hops > 16 {
		return dissect.NotMine
	}
	if binary.BigEndian.Uint32(b[236:]) != dhcpCookie {
		return dissect.NotMine
	}
	msgType, name, ok := dhcpOptions(b[240:])
	if !ok || (msgType == 0 && !hasPort(p, 67) && !hasPort(p, 68)) {
		return dissect.NotMine
	}
	m.Proto, m.Why = dissect.DHCP, "DHCP magic cookie"
	if printable(name) {
		m.ClientName = strings.ToLower(string(name))
	}
	return dissect.Done
}

// dhcpOptions walks the options up to END and returns option 53's value
// and option 12 (the client's host name).
func dhcpOptions(b []byte) (msgType byte, hostName []byte, ok bool) {
	for i := 0; i < len(b); {
		switch code := b[i]; code {
		case 0: // pad
			i++
		case 255: // end
			return msgType, hostName, true
		default:
			if i+2 > len(b) || i+2+int(b[i+1]) > len(b) {
				return 0, nil, false
			}
			l := int(b[i+1])
			switch code {
			case 53:
				if l != 1 || b[i+2] == 0 || b[i+2] > 18 {
					return 0, nil, false
				}
				msgType = b[i+2]
			case 12:
				hostName = b[i+2 : i+2+l]
			}
			i += 2 + l
		}
	}
	return 0, nil, false // no END
}

// DHCPv6 recognises DHCPv6 (RFC 8415) on UDP 546/547: a message type
// 1..13 and options that exactly fill the datagram.
type DHCPv6 struct{}

// Reset implements dissect.Dissector.
func (d *DHCPv6) Reset() {}

// Feed implements dissect.Dissector.
func (d *DHCPv6) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if p.L4 != 17 || len(b) < 8 || !(hasPort(p, 546) || hasPort(p, 547)) {
		return dissect.NotMine
	}
	off := 4
	switch t := b[0]; {
	case t == 12 || t == 13: // RELAY-FORW / RELAY-REPL
		if len(b) < 38 || b[1] > 32 { // HOP_COUNT_LIMIT
			return dissect.NotMine
		}
		off = 34
	case t < 1 || t > 13:
		return dissect.NotMine
	}
	if !dhcp6Options(b[off:]) {
		return dissect.NotMine
	}
	m.Proto, m.Why = dissect.DHCPv6, "DHCPv6 message"
	return dissect.Done
}

func dhcp6Options(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		code, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if code == 0 || code > 255 || 4+l > len(b) {
			return false
		}
		b = b[4+l:]
	}
	return true
}

// ---- NTP -----------------------------------------------------------------

// NTP recognises NTP (RFC 5905) on UDP port 123: versions 1..4 with the
// standard 48-byte header (modes 1..5, optional extension fields and
// MAC), mode 6 control messages and mode 7 private (ntpdc) messages, each
// checked for consistent lengths. NTP's header is mostly opaque numbers,
// so the port is required as well.
type NTP struct{}

// Reset implements dissect.Dissector.
func (d *NTP) Reset() {}

// Feed implements dissect.Dissector.
func (d *NTP) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	b := p.Payload
	if p.L4 != 17 || len(b) < 8 || !hasPort(p, 123) || !validNTP(b) {
		return dissect.NotMine
	}
	m.Proto, m.Why = dissect.NTP, "NTP header"
	return dissect.Done
}

func validNTP(b []byte) bool {
	vn, mode := b[0]>>3&7, b[0]&7
	if vn < 1 || vn > 4 {
		return false
	}
	switch mode {
	case 6: // control: LI 0, 12-byte header, count bytes of data
		if b[0]>>6 != 0 || len(b) < 12 {
			return false
		}
		op := b[1] & 0x1f
		count := int(binary.BigEndian.Uint16(b[10:]))
		return op >= 1 && op <= 31 && 12+count <= len(b)
	case 7: // private: implementation 0, 2 or 3; nitems * itemsize of data
		impl := b[2]
		if impl != 0 && impl != 2 && impl != 3 {
			return false
		}
		n := int(binary.BigEndian.Uint16(b[4:]) & 0x0fff)
		size := int(binary.BigEndian.Uint16(b[6:]) & 0x0fff)
		return b[6]>>4 == 0 && 8+n*size <= len(b) && (n == 0 || size > 0)
	case 0:
		return false
	}
	if len(b) < 48 {
		return false
	}
	stratum, poll, precision := b[1], int8(b[2]), int8(b[3])
	if stratum > 16 || poll < -8 || poll > 17 || precision > 0 || precision < -32 {
		return false
	}
	// After the header: extension fields (v4, each >= 16 bytes, a
	// multiple of 4) and/or a MAC (key id + 16-byte MD5 or 20-byte SHA-1).
	rest := b[48:]
	for {
		switch len(rest) {
		case 0, 4, 20, 24: // none, crypto-NAK, MD5 MAC, SHA-1 MAC
			return true
		}
		if vn != 4 || len(rest) < 16 {
			return false
		}
		l := int(binary.BigEndian.Uint16(rest[2:]))
		if l < 16 || l%4 != 0 || l > len(rest) {
			return false
		}
		rest = rest[l:]
	}
}
