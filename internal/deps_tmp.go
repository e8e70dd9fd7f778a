package internal
import (
 _ "github.com/miekg/dns"
 _ "gopkg.in/yaml.v3"
 _ "github.com/gaissmai/bart"
 _ "github.com/quic-go/quic-go"
 _ "golang.org/x/crypto/cryptobyte"
 _ "github.com/florianl/go-nfqueue/v2"
 _ "github.com/vishvananda/netns"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "modernc.org/sqlite"
 _ "github.com/vmware/go-ipfix/pkg/exporter"
)

