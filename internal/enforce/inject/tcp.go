package inject

import (
	"github.com/weirnet/weir/internal/decode"
	"github.com/weirnet/weir/internal/marker"
)

// MaxSegment is the most TCP payload HTTPBlock puts in one segment, so an
// injected packet stays at or below 1460 bytes (IPv6) on any path that
// carries a 1500-byte MTU.
const MaxSegment = 1400

// rstMax bounds marker.RSTPayload: prefix and separators plus two texts
// of at most 200 bytes each (marker cuts them).
const rstMax = 512

// TCPReset answers the TCP segment p (the raw packet pkt is not needed:
// every field comes from p) with two resets, both carrying
// marker.RSTPayload(rule, notice) as data (RFC 9293 3.5.3 allows it).
//
// Directions follow the offending segment: "client" is its sender and
// "server" its receiver, whichever side opened the connection.
//   - toClient goes to the sender and appears to come from the receiver:
//     RST|ACK with seq = p.TCPAck (the sender's RCV.NXT, so Linux and
//     others accept it without a challenge ACK, RFC 5961 3.2) and
//     ack = p.TCPSeq + segment length. A segment without ACK (a SYN) gets
//     seq 0, as RFC 9293 3.10.7.1 prescribes.
//   - toServer goes to the receiver and appears to come from the sender:
//     RST with seq = p.TCPSeq + segment length (its RCV.NXT once the
//     segment was delivered).
//
// It returns nil, nil when p is not a plain TCP segment (see usable) or is
// itself a reset: resets are never answered. Both packets share one
// allocation.
func TCPReset(pkt []byte, p *decode.Parsed, rule, notice string) (toClient, toServer []byte) {
	if !usable(p, protoTCP) || p.TCPFlags&flagRST != 0 {
		return nil, nil
	}
	var scratch [rstMax]byte
	pl := marker.AppendRSTPayload(scratch[:0], rule, notice)
	fam, hl := p.Family, ipHeaderLen(p.Family)
	n := hl + tcpLen + len(pl)
	buf := make([]byte, 2*n)
	toClient, toServer = buf[:n:n], buf[n:]
	end := p.TCPSeq + segLen(p)
	seq := p.TCPAck
	if p.TCPFlags&flagACK == 0 {
		seq = 0
	}
	copy(toClient[hl+tcpLen:], pl)
	putIP(toClient, fam, &p.Dst, &p.Src, protoTCP)
	putTCP(toClient, fam, hl, p.DstPort, p.SrcPort, seq, end, flagRST|flagACK, 0)
	copy(toServer[hl+tcpLen:], pl)
	putIP(toServer, fam, &p.Src, &p.Dst, protoTCP)
	putTCP(toServer, fam, hl, p.SrcPort, p.DstPort, end, 0, flagRST, 0)
	return toClient, toServer
}

// HTTPBlock answers the client's HTTP request segment p with Weir's 451
// notice, marker.HTTP451(rule, notice, host), as if the server had sent
// it: PSH|ACK data segments of at most MaxSegment bytes starting at
// seq = p.TCPAck and acknowledging the whole request, then a FIN|ACK. The
// client's stack takes them in order (their seq is its RCV.NXT) and the
// HTTP client reads a complete response followed by end of stream.
// toServer is a RST (with the reset marker) that tears the server's side
// down, as in TCPReset.
//
// It returns nil, nil when p is not a plain TCP segment, is a reset, or
// has no ACK (then the server's sequence number is unknown).
func HTTPBlock(pkt []byte, p *decode.Parsed, rule, notice, host string) (toClient [][]byte, toServer []byte) {
	if !usable(p, protoTCP) || p.TCPFlags&(flagRST|flagSYN) != 0 || p.TCPFlags&flagACK == 0 {
		return nil, nil
	}
	resp := marker.HTTP451(rule, notice, host)
	var scratch [rstMax]byte
	pl := marker.AppendRSTPayload(scratch[:0], rule, notice)
	fam, hl := p.Family, ipHeaderLen(p.Family)
	nseg := (len(resp) + MaxSegment - 1) / MaxSegment
	h := hl + tcpLen
	buf := make([]byte, nseg*h+len(resp)+h+h+len(pl))
	toClient = make([][]byte, 0, nseg+1)
	end := p.TCPSeq + segLen(p)
	seq := p.TCPAck
	for off := 0; off < len(resp); off += MaxSegment {
		chunk := resp[off:min(off+MaxSegment, len(resp))]
		n := h + len(chunk)
		seg := buf[:n:n]
		buf = buf[n:]
		copy(seg[h:], chunk)
		putIP(seg, fam, &p.Dst, &p.Src, protoTCP)
		putTCP(seg, fam, hl, p.DstPort, p.SrcPort, seq, end, flagPSH|flagACK, dataWindow)
		seq += uint32(len(chunk))
		toClient = append(toClient, seg)
	}
	fin := buf[:h:h]
	buf = buf[h:]
	putIP(fin, fam, &p.Dst, &p.Src, protoTCP)
	putTCP(fin, fam, hl, p.DstPort, p.SrcPort, seq, end, flagFIN|flagACK, dataWindow)
	toClient = append(toClient, fin)
	toServer = buf
	copy(toServer[h:], pl)
	putIP(toServer, fam, &p.Src, &p.Dst, protoTCP)
	putTCP(toServer, fam, hl, p.SrcPort, p.DstPort, end, 0, flagRST, 0)
	return toClient, toServer
}
