package ssh_test

import (
	"fmt"

	"github.com/weirnet/weir/internal/dissect/ssh"
)

func ExampleBanner() {
	line, ok := ssh.Banner([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00\x04\x54"))
	fmt.Printf("%q %v\n", line, ok)
	_, ok = ssh.Banner([]byte("\x16\x03\x01"))
	fmt.Println(ok)
	// Output:
	// "SSH-2.0-OpenSSH_9.2p1 Debian-2" true
	// false
}
