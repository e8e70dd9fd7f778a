package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/anon"
	"github.com/weirnet/weir/internal/record/ipfix"
	"github.com/weirnet/weir/internal/store"
)

// outputFlags are the record outputs weir inspect and weir run share.
type outputFlags struct {
	storePath      string
	ipfixAddr      string
	ipfixTransport string
	anonMode       string
	anonKey        string
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.storePath, "store", "", "write per-minute aggregates, top hosts and events to this SQLite store (created if absent; read by weir report and weir serve)")
	fs.StringVar(&o.ipfixAddr, "ipfix", "", "export flow records over IPFIX (RFC 7011) to this collector HOST:PORT (docs/ipfix.md)")
	fs.StringVar(&o.ipfixTransport, "ipfix-transport", "udp", "IPFIX transport: udp or tcp")
	fs.StringVar(&o.anonMode, "anon", "none", "anonymise client addresses in exported records: none, truncate (/24, /48) or cryptopan (prefix-preserving, needs --anon-key)")
	fs.StringVar(&o.anonKey, "anon-key", "", "file holding the 32-byte secret for --anon cryptopan")
}

// anonymizer builds the configured address anonymiser (nil for none).
func (o *outputFlags) anonymizer() (anon.Anonymizer, error) {
	cfg := anon.Config{Mode: anon.Mode(o.anonMode)}
	if cfg.Mode == anon.ModeNone {
		return nil, nil
	}
	if cfg.Mode == anon.ModeCryptoPAn {
		if o.anonKey == "" {
			return nil, fmt.Errorf("--anon cryptopan needs --anon-key FILE (32 bytes)")
		}
		key, err := os.ReadFile(o.anonKey)
		if err != nil {
			return nil, err
		}
		if len(key) > anon.SecretSize {
			key = key[:anon.SecretSize]
		}
		cfg.Secret = key
	}
	return anon.New(cfg)
}

// openStore opens the --store file, or returns nil. lossless makes the
// store's sink wait rather than drop when its queue is full: a capture is
// replayed faster than real time, and every record must count.
func (o *outputFlags) openStore(lossless bool) (*store.Store, error) {
	if o.storePath == "" {
		return nil, nil
	}
	cfg := store.DefaultConfig()
	cfg.Lossless = lossless
	st, err := store.Open(o.storePath, cfg)
	if err != nil {
		return nil, fmt.Errorf("unable to initialize store component: %w", err)
	}
	return st, nil
}

// sinks opens the configured record outputs (the store's sink included
// when st is not nil). The caller closes them.
func (o *outputFlags) sinks(st *store.Store, logf func(string, ...any)) ([]record.Sink, error) {
	an, err := o.anonymizer()
	if err != nil {
		return nil, err
	}
	var out []record.Sink
	if st != nil {
		out = append(out, st.Sink())
	}
	if o.ipfixAddr != "" {
		x, err := ipfix.New(ipfix.Config{Addr: o.ipfixAddr, Transport: o.ipfixTransport, Anon: an, Logf: logf})
		if err != nil {
			return nil, fmt.Errorf("unable to initialize ipfix component: %w", err)
		}
		out = append(out, x)
	}
	return out, nil
}
