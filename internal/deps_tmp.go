package internal

import (
	_ "github.com/florianl/go-nfqueue/v2"
	_ "github.com/gaissmai/bart"
	_ "github.com/miekg/dns"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/quic-go/quic-go"
	_ "github.com/vishvananda/netns"
	_ "github.com/vmware/go-ipfix/pkg/exporter"
	_ "golang.org/x/crypto/cryptobyte"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
