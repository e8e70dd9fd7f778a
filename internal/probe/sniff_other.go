//go:build !linux

package probe

import "errors"

type sniffer struct{ sniffTable }

func startSniffer() (*sniffer, error) { return nil, errors.New("no AF_PACKET on this system") }

func (s *sniffer) close() {}
