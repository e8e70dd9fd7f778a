package enforce

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// elemDumper lists the elements of one nftables set over its own netlink
// socket, parsing the kernel's messages in place in one reused buffer: the
// counter reader dumps every decided flow every few seconds, and
// github.com/google/nftables allocated ~20 objects per element doing it.
type elemDumper struct {
	fd  int
	seq uint32
	req []byte
	buf []byte
}

// dumpedElem is one element as the kernel reported it; its slices alias the
// dumper's buffer and are valid only during the callback.
type dumpedElem struct {
	key, val       []byte
	expires        time.Duration // 0: no timeout
	packets, bytes uint64
	counted        bool // a counter expression was present
}

// Netlink and nf_tables message constants (linux/netlink.h,
// linux/netfilter/nf_tables.h).
const (
	nlmsgHdrLen           = 16
	nlmsgError            = 2
	nlmsgDone             = 3
	nlmFRequest           = 0x1
	nlmFDump              = 0x300
	nfgenHdrLen           = 4
	nfprotoInet           = 1
	nfnlSubsysNftables    = 10
	nftMsgGetSetElem      = 13
	nftaSetElemListTable  = 1
	nftaSetElemListSet    = 2
	nftaSetElemListElems  = 3
	nftaListElem          = 1
	nftaSetElemKey        = 1
	nftaSetElemData       = 2
	nftaSetElemExpiration = 5
	nftaSetElemExpr       = 7
	nftaSetElemExprs      = 0x11
	nftaDataValue         = 1
	nftaExprName          = 1
	nftaExprData          = 2
	nftaCounterBytes      = 1
	nftaCounterPackets    = 2
	nlaTypeMask           = 0x3fff // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
)

func newElemDumper() (*elemDumper, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &elemDumper{fd: fd, buf: make([]byte, 1<<20)}, nil
}

func (d *elemDumper) close() { syscall.Close(d.fd) }

// dump calls fn for every element of the set table/set (family inet).
func (d *elemDumper) dump(table, set string, fn func(*dumpedElem)) error {
	d.seq++
	r := d.req[:0]
	r = append(r, make([]byte, nlmsgHdrLen)...)
	r = append(r, nfprotoInet, 0, 0, 0) // nfgenmsg: family, version 0, res_id 0
	r = appendAttrString(r, nftaSetElemListTable, table)
	r = appendAttrString(r, nftaSetElemListSet, set)
	binary.NativeEndian.PutUint32(r[0:], uint32(len(r)))
	binary.NativeEndian.PutUint16(r[4:], nfnlSubsysNftables<<8|nftMsgGetSetElem)
	binary.NativeEndian.PutUint16(r[6:], nlmFRequest|nlmFDump)
	binary.NativeEndian.PutUint32(r[8:], d.seq)
	binary.NativeEndian.PutUint32(r[12:], 0)
	d.req = r
	if err := syscall.Sendto(d.fd, r, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	for {
		n, _, err := syscall.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return fmt.Errorf("netlink receive: %w", err)
		}
		if done, err := parseDumpReply(d.buf[:n], d.seq, set, fn); done || err != nil {
			return err
		}
	}
}

// parseDumpReply parses one read of a dump's replies, calling fn per
// element, and reports whether the dump is over.
func parseDumpReply(b []byte, seq uint32, set string, fn func(*dumpedElem)) (done bool, err error) {
	var e dumpedElem
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return true, errors.New("netlink: truncated message")
		}
		typ := binary.NativeEndian.Uint16(b[4:])
		msgSeq := binary.NativeEndian.Uint32(b[8:])
		msg := b[nlmsgHdrLen:l]
		b = b[min(align4(l), len(b)):]
		if msgSeq != seq {
			continue // a stale reply to an earlier request
		}
		switch typ {
		case nlmsgDone:
			return true, nil
		case nlmsgError:
			if len(msg) >= 4 {
				if code := int32(binary.NativeEndian.Uint32(msg)); code != 0 {
					return true, fmt.Errorf("netlink: list elements of %s: %w", set, syscall.Errno(-code))
				}
			}
			return true, nil
		}
		if len(msg) < nfgenHdrLen {
			continue
		}
		forAttrs(msg[nfgenHdrLen:], func(t uint16, v []byte) {
			if t != nftaSetElemListElems {
				return
			}
			forAttrs(v, func(t uint16, v []byte) {
				if t == nftaListElem {
					e = dumpedElem{}
					parseElem(v, &e)
					fn(&e)
				}
			})
		})
	}
	return false, nil
}

func parseElem(b []byte, e *dumpedElem) {
	forAttrs(b, func(t uint16, v []byte) {
		switch t {
		case nftaSetElemKey:
			e.key = dataValue(v)
		case nftaSetElemData:
			e.val = dataValue(v)
		case nftaSetElemExpiration:
			if len(v) == 8 {
				e.expires = time.Duration(binary.BigEndian.Uint64(v)) * time.Millisecond
			}
		case nftaSetElemExpr:
			parseCounter(v, e)
		case nftaSetElemExprs:
			forAttrs(v, func(t uint16, v []byte) {
				if t == nftaListElem {
					parseCounter(v, e)
				}
			})
		}
	})
}

// parseCounter reads a "counter" expression (name, then its data).
func parseCounter(b []byte, e *dumpedElem) {
	var counter bool
	forAttrs(b, func(t uint16, v []byte) {
		switch t {
		case nftaExprName:
			counter = string(trimNUL(v)) == "counter"
		case nftaExprData:
			if !counter {
				return
			}
			e.counted = true
			forAttrs(v, func(t uint16, v []byte) {
				if len(v) != 8 {
					return
				}
				switch t {
				case nftaCounterBytes:
					e.bytes = binary.BigEndian.Uint64(v)
				case nftaCounterPackets:
					e.packets = binary.BigEndian.Uint64(v)
				}
			})
		}
	})
}

func dataValue(b []byte) (v []byte) {
	forAttrs(b, func(t uint16, a []byte) {
		if t == nftaDataValue {
			v = a
		}
	})
	return v
}

// forAttrs calls fn for each netlink attribute in b; a malformed tail ends
// the walk.
func forAttrs(b []byte, fn func(typ uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&nlaTypeMask, b[4:l])
		b = b[min(align4(l), len(b)):]
	}
}

func appendAttrString(b []byte, typ uint16, s string) []byte {
	l := 4 + len(s) + 1
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, s...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func align4(n int) int { return (n + 3) &^ 3 }
