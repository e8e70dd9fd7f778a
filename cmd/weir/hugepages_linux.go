package main

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// adviseHugePages asks the kernel to back the first heapReserve bytes of
// Go's heap with transparent huge pages, where the kernel's THP mode is
// "madvise" (Debian's default). Weir's per-flow state is large and touched
// once per flow, so a run over a capture faults in tens of megabytes of
// fresh memory; a 4 KiB fault cost ~14 µs on the VMs this was measured on
// (docs/benchmarks.md), a 2 MiB one replaces 512 of them. It reserves the
// address range with one untouched allocation, advises it, and frees it:
// the heap then reuses that range first, and pages are still faulted in
// only when used, so RSS is unchanged in practice. WEIR_HUGEPAGES=off skips
// it (to measure the difference).
func adviseHugePages() {
	if os.Getenv("WEIR_HUGEPAGES") == "off" {
		return
	}
	const heapReserve = 256 << 20
	const huge = 2 << 20
	b := make([]byte, heapReserve)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	beg, end := (p+huge-1)&^(huge-1), (p+heapReserve)&^(huge-1)
	const madvHugepage = 14 // MADV_HUGEPAGE; errors (no THP) change nothing
	syscall.Syscall(syscall.SYS_MADVISE, beg, end-beg, madvHugepage)
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
}
