package probe

import (
	"errors"
	"sync"
	"syscall"
)

// sniffer reads every packet of the host (network namespace) through an
// AF_PACKET socket in cooked mode (no link header). It needs CAP_NET_RAW.
type sniffer struct {
	sniffTable
	fd   int
	stop chan struct{}
	wg   sync.WaitGroup
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startSniffer opens the socket; the error says why there is no sniffer.
func startSniffer() (*sniffer, error) {
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_ALL)))
	if err != nil {
		return nil, err
	}
	// A read timeout lets close() stop the loop without closing the fd
	// under a blocked read.
	tv := syscall.Timeval{Usec: 100000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	s := &sniffer{fd: fd, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

func (s *sniffer) loop() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, from, err := syscall.Recvfrom(s.fd, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		s.parseL3(buf[:n])
	}
}

func (s *sniffer) close() {
	if s == nil {
		return
	}
	close(s.stop)
	s.wg.Wait()
	syscall.Close(s.fd)
}
