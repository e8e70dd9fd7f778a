package inject

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
)

// ipv6HdrIncl is IPV6_HDRINCL (linux/in6.h); IPPROTO_RAW implies it on
// current kernels, setting it also covers older ones.
const ipv6HdrIncl = 36

// Sender writes built packets to raw sockets (AF_INET and AF_INET6,
// SOCK_RAW, IPPROTO_RAW: the packet brings its own IP header). The sockets
// belong to the network namespace of the thread that called NewSender;
// to inject into another namespace, call NewSender from an OS thread
// locked into it. Needs CAP_NET_RAW (and CAP_NET_ADMIN for a mark).
//
// The kernel routes each packet by its destination and sends it through
// the OUTPUT hooks: a nonzero mark (SO_MARK) lets the ruleset keep Weir's
// own packets out of its NFQUEUE. Send is safe for concurrent use.
type Sender struct {
	fd4, fd6 int // -1 when that family is unavailable
	closed   atomic.Bool
}

var errClosed = errors.New("inject: sender closed")

// NewSender opens the raw sockets. IPv6 being disabled on the host is not
// an error: Send then refuses IPv6 packets.
func NewSender(mark uint32) (*Sender, error) {
	fd4, err := rawSocket(syscall.AF_INET, mark)
	if err != nil {
		return nil, err
	}
	fd6, err := rawSocket(syscall.AF_INET6, mark)
	if errors.Is(err, syscall.EAFNOSUPPORT) {
		fd6 = -1
	} else if err != nil {
		syscall.Close(fd4)
		return nil, err
	}
	if fd6 >= 0 {
		_ = syscall.SetsockoptInt(fd6, syscall.IPPROTO_IPV6, ipv6HdrIncl, 1)
	}
	return &Sender{fd4: fd4, fd6: fd6}, nil
}

func rawSocket(family int, mark uint32) (int, error) {
	fd, err := syscall.Socket(family, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_RAW)
	if err != nil {
		return -1, fmt.Errorf("inject: raw socket: %w", err)
	}
	if mark != 0 {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_MARK, int(mark)); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("inject: SO_MARK: %w", err)
		}
	}
	return fd, nil
}

// Send sends one packet built by this package (or any complete IPv4/IPv6
// packet) to the destination in its header.
func (s *Sender) Send(pkt []byte) error {
	if s.closed.Load() {
		return errClosed
	}
	switch {
	case len(pkt) >= ipv4Len && pkt[0]>>4 == 4:
		return sendErr(syscall.Sendto(s.fd4, pkt, 0, &syscall.SockaddrInet4{Addr: [4]byte(pkt[16:20])}))
	case len(pkt) >= ipv6Len && pkt[0]>>4 == 6:
		if s.fd6 < 0 {
			return fmt.Errorf("inject: send: %w", syscall.EAFNOSUPPORT)
		}
		// Port must be 0 on a raw IPv6 socket (Linux uses it as the protocol).
		return sendErr(syscall.Sendto(s.fd6, pkt, 0, &syscall.SockaddrInet6{Addr: [16]byte(pkt[24:40])}))
	}
	return fmt.Errorf("inject: send: %w", ErrNotApplicable)
}

func sendErr(err error) error {
	if err != nil {
		return fmt.Errorf("inject: send: %w", err)
	}
	return nil
}

// Close closes the sockets; later Sends fail.
func (s *Sender) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := syscall.Close(s.fd4)
	if s.fd6 >= 0 {
		err = errors.Join(err, syscall.Close(s.fd6))
	}
	return err
}
