package testnet

import "syscall"

// Kill sends SIGKILL to the process group and waits for it: the process
// gets no chance to clean up (tests of what a crash leaves behind).
func (p *Proc) Kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}
