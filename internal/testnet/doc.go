// Package testnet builds a real three-namespace network for tests that need
// real clients, real servers and a real router between them: Weir's inline
// enforcement (NFQUEUE in the router) and its probes.
//
//	client ns               router ns                         server ns
//	eth0 10.200.1.2/24 --- to-client 10.200.1.1   to-server 10.200.2.1 --- eth0 10.200.2.2/24
//	     fd00:200:1::2/64        fd00:200:1::1          fd00:200:2::1           fd00:200:2::2/64
//	                                                                     (+10.200.2.3, fd00:200:2::3
//	                                                                      WithSecondServer)
//
// New creates the namespaces (named wt<pid>-<n>-<test>-{c,r,s}), the two veth
// pairs (created inside the namespaces, so nothing appears on the host),
// addresses, default routes via the router, IPv4+IPv6 forwarding in the
// router, IPv6 duplicate address detection off (a tentative link-local
// address loses the first IPv6 SYN) and offloads off on every veth (tx, tso,
// gso, gro: otherwise the router sees 64 KiB super-packets with partial
// checksums; WithOffloads keeps them on, as on a router whose NICs
// aggregate segments). Setup takes 0.1-0.3 s. The client's
// /etc/resolv.conf (bind-mounted by `ip netns exec` from
// /etc/netns/<client>/) points at the server, so curl resolves *.test
// through the router once StartDNS runs. t.Cleanup stops every process
// started in the namespaces (and whatever else still runs there), then
// deletes them, pass or fail. Namespaces left by a killed test binary are
// reaped by the next New.
//
// New skips the test when it is not root or `ip netns` fails, except with
// CI=true, where it fails: CI must not go green by skipping.
//
// Servers (server namespace, ready when the Start call returns):
// StartWeb (Go net/http, 80 + 443, HTTP/2), StartNginx, StartDNS
// (miekg/dns, authoritative for *.test, UDP+TCP 53), StartHTTP3 (caddy or
// quic-go on UDP 443). All serve Body at "/", and /big?bytes=N (nginx: a
// fixed 64 MiB file) for throughput. The certificate covers Names and the
// server addresses and is signed by a CA generated per Net (Certs).
//
// Clients (client namespace, the real binaries): Curl, Throughput, Dig,
// OpenSSLConnect, Iperf3, Chromium (HTTP/3 in a browser), plus HTTP3Get
// (quic-go). StartCapture runs tcpdump anywhere. Run/Start/Go execute
// arbitrary commands or Go code inside a namespace; every command has a
// deadline (WithTimeout, default 30 s) so nothing hangs a test run.
//
// Concurrency: a Net's methods may be called from several goroutines, and
// tests using separate Nets may run in parallel (t.Parallel) and in
// parallel test binaries: only names differ, addresses live inside the
// namespaces. Go switches one locked OS thread, never the process.
//
// Packages the helpers use (Debian): iproute2, ethtool, iptables (for the
// callers' rules), tcpdump, curl, bind9-dnsutils (dig), openssl, iperf3,
// nginx-light, caddy, chromium; scripts/record-testdata.sh also uses
// openssh-server/openssh-client. Missing optional ones (nginx, caddy,
// chromium, iperf3) make their helper skip with a message.
package testnet
