package policy

import (
	"github.com/weirnet/weir/internal/classify"
	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/flow"
)

// FlowInput fills in from a tracked flow and what the classifier found. It
// does not allocate: strings are shared with r.
func FlowInput(in *Input, f *flow.Flow, r *classify.Result) {
	*in = Input{
		Client:     f.Key.Addr(f.ClientIsLo),
		Server:     f.Key.Addr(!f.ClientIsLo),
		ServerPort: f.ServerPort(),
		L4:         f.Key.Proto,
		Time:       in.Time,
	}
	if r == nil {
		return
	}
	m := &r.Meta
	in.App, in.Category, in.Protocol, in.Host = r.App, r.Category, m.Proto, r.Host
	switch m.Proto {
	case dissect.TLS, dissect.QUIC, dissect.DTLS, dissect.DoT, dissect.DoH,
		dissect.SMTPS, dissect.IMAPS, dissect.POP3S:
		in.SNI = m.Host
	}
	in.DNSQName = m.DNS.QName
}
