// Package catalog is Weir's application catalog: which named applications
// exist, which category each belongs to, and how to recognise them by host
// name (domain suffix), by server address (IP prefix) and by nDPI's label.
//
// The data is apps.yaml. The binary carries it compiled to Go
// (embedded_apps.go, written by `go generate` through
// internal/tools/catalogtable and checked against apps.yaml by a test), so
// [Load] builds the lookup tables once without parsing YAML (0.15 ms instead
// of 2 ms) and returns a shared, immutable [*Catalog]. [Parse] compiles any
// YAML of the same shape and reports bad entries with their line:col
// position. After editing apps.yaml, run go generate ./internal/classify/catalog.
//
// File shape:
//
//	apps:
//	  - id: facebook              # [a-z0-9][a-z0-9_-]*, unique, at most 32 bytes
//	    name: Facebook            # display name, required
//	    category: social          # one of the closed set below
//	    domains: [facebook.com]   # domainset patterns: "x", "=x", "*.x"
//	    ips: [157.240.0.0/16]     # IPv4/IPv6 CIDRs without host bits
//	    ndpi: [Facebook]          # nDPI application names that mean this app
//
// Every domain pattern, IP prefix and nDPI name belongs to exactly one app
// (duplicates are parse errors), so each lookup has one answer: [Catalog.ByHost]
// takes the most specific matching pattern, [Catalog.ByAddr] the longest
// matching prefix, [Catalog.ByNDPIName] the exact (case-sensitive) name.
//
// Categories are a closed set (see [Category]): social, messaging, video,
// streaming (live), search, news, mail, cloud, cdn, collaboration, voip, vpn,
// p2p, gaming, shopping, software-update, network, web, ads, adult,
// anonymizer, dev, music, finance, government, education, remote-access,
// unknown. Adding one is a code change, on purpose: policies name categories
// and a typo must be an error, not a silent no-match.
//
// Granularity: an app here may cover several nDPI names (youtube covers
// YouTube and YouTubeUpload; google covers Google, GoogleServices and
// DataSaver). Protocol names (TLS, QUIC, DNS, HTTP...) are not apps; a few
// protocols that policies treat as applications (BitTorrent, OpenVPN,
// WireGuard, IPSec, Tor) are.
//
// Identity: [AppID] is a small integer (1..Len, in file order; 0 means none)
// for flow records; [Catalog.AppByID] turns it back into the [App] record by
// indexing a slice.
//
// Allocation: ByHost, ByAddr, ByNDPIName and AppByID allocate nothing.
// App values share their slices with the Catalog; callers must not modify them.
//
// Concurrency: a Catalog is immutable and safe for concurrent use. A reload
// parses a new Catalog and swaps the pointer.
package catalog
