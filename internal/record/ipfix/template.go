package ipfix

import "encoding/binary"

// Template IDs (data set IDs) for the two address families.
const (
	TemplateIPv4 uint16 = 256
	TemplateIPv6 uint16 = 257
)

// PEN is the private enterprise number Weir's own Information Elements are
// registered under. 32473 is IANA's documentation PEN (RFC 5612): a
// placeholder until Weir has its own number; collectors show these fields
// as unknown enterprise fields.
const PEN uint32 = 32473

// AppEngineID is the RFC 6759 classification engine of applicationId (IE
// 95): 20 = PANA-L7-PEN, "proprietary layer 7 definition" qualified by a
// PEN. applicationId is engine (1 byte) ‖ PEN (4 bytes) ‖ selector (2
// bytes), the selector being the dissect.Proto number.
const AppEngineID = 20

// Enterprise-specific Information Elements under PEN.
const (
	IEHost      uint16 = 1 // string: server name (SNI, HTTP Host, DNS name)
	IERule      uint16 = 2 // string: policy rule that decided the flow
	IEProtocol  uint16 = 3 // string: Weir master protocol name
	IECategory  uint16 = 4 // string: application category
	IEDirection uint16 = 5 // unsigned8: 1 client→server, 2 server→client
)

const (
	dirC2S uint8 = 1
	dirS2C uint8 = 2
)

const (
	msgHeaderLen = 16
	setHeaderLen = 4
	varLen       = 0xffff
	enterprise   = 0x8000
)

// field is one template field specifier.
type field struct {
	id     uint16
	length uint16
	pen    bool // enterprise-specific under PEN
}

// fields lists the template in wire order; addrV4/addrV6 substitute the
// first two entries. appendTo and the docs follow this order.
var fields = [...]field{
	{8, 4, false},       // sourceIPv4Address / sourceIPv6Address (27, 16)
	{12, 4, false},      // destinationIPv4Address / destinationIPv6Address (28, 16)
	{7, 2, false},       // sourceTransportPort
	{11, 2, false},      // destinationTransportPort
	{4, 1, false},       // protocolIdentifier
	{1, 8, false},       // octetDeltaCount
	{2, 8, false},       // packetDeltaCount
	{152, 8, false},     // flowStartMilliseconds
	{153, 8, false},     // flowEndMilliseconds
	{136, 1, false},     // flowEndReason
	{89, 1, false},      // forwardingStatus (reduced-size unsigned32, RFC 7270)
	{58, 2, false},      // vlanId
	{95, 7, false},      // applicationId
	{96, varLen, false}, // applicationName
	{IEHost, varLen, true},
	{IERule, varLen, true},
	{IEProtocol, varLen, true},
	{IECategory, varLen, true},
	{IEDirection, 1, true},
}

// Fixed bytes of a data record: everything but the five strings and their
// one-byte length prefixes.
const (
	fixedLenV4 = 4 + 4 + 2 + 2 + 1 + 8 + 8 + 8 + 8 + 1 + 1 + 2 + 7 + 1
	fixedLenV6 = fixedLenV4 + 24
	numStrings = 5
)

// templateSetLen is the size of the template set holding both templates.
var templateSetLen = setHeaderLen + 2*templateLen()

func templateLen() int {
	n := 4
	for _, f := range fields {
		n += 4
		if f.pen {
			n += 4
		}
	}
	return n
}

// appendTemplateSet appends one template set (ID 2) with both templates.
func appendTemplateSet(b []byte) []byte {
	start := len(b)
	b = append(b, 0, 2, 0, 0)
	for _, tid := range [...]uint16{TemplateIPv4, TemplateIPv6} {
		b = binary.BigEndian.AppendUint16(b, tid)
		b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
		for i, f := range fields {
			id, l := f.id, f.length
			if tid == TemplateIPv6 && i < 2 {
				id, l = [2]uint16{27, 28}[i], 16
			}
			if f.pen {
				id |= enterprise
			}
			b = binary.BigEndian.AppendUint16(b, id)
			b = binary.BigEndian.AppendUint16(b, l)
			if f.pen {
				b = binary.BigEndian.AppendUint32(b, PEN)
			}
		}
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// minMTU leaves room for the header, the template set, one set header and
// one IPv6 record with short strings.
const minMTU = 512

// stringCap is the largest string body that still lets a worst-case IPv6
// record (all five strings at the cap) share a message with the header and
// the template set. It stays below 255 so lengths take one byte.
func stringCap(mtu int) int {
	room := mtu - msgHeaderLen - templateSetLen - setHeaderLen - fixedLenV6 - numStrings
	return max(0, min(254, room/numStrings))
}
