package lan_test

import (
	"fmt"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/lan"
)

func ExampleSSDP() {
	p := dissect.Packet{L4: 17, ClientPort: 52127, ServerPort: 1900,
		Payload: []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")}
	var d lan.SSDP
	var m dissect.Meta
	fmt.Println(d.Feed(&p, &m) == dissect.Done, m.Proto, m.Why)
	// Output: true SSDP SSDP M-SEARCH
}
