package dns_test

import (
	"fmt"

	mdns "github.com/miekg/dns"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dns"
)

func ExampleParse() {
	q := new(mdns.Msg)
	q.SetQuestion("WWW.Example.org.", mdns.TypeA)
	r := new(mdns.Msg)
	r.SetReply(q)
	a, _ := mdns.NewRR("www.example.org. 300 IN A 192.0.2.1")
	r.Answer = append(r.Answer, a)
	msg, _ := r.Pack()

	var info dissect.DNSInfo
	host, err := dns.Parse(msg, &info)
	fmt.Println(host, err, info.Response, info.Answers[0].Addr)
	// Output: www.example.org <nil> true 192.0.2.1
}
