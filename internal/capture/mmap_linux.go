//go:build linux

package capture

import (
	"errors"
	"os"
	"syscall"
)

// mmapFile maps f read-only. The kernel is told access is sequential so it
// reads ahead aggressively and drops pages behind us.
func mmapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, errors.New("capture: file size not mappable")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL) // advisory only
	return data, func() error { return syscall.Munmap(data) }, nil
}
