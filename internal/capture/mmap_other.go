//go:build !linux

package capture

import (
	"errors"
	"os"
)

// mmapFile is not implemented off Linux; Open falls back to streaming.
func mmapFile(f *os.File, size int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("capture: mmap not supported on this platform")
}
