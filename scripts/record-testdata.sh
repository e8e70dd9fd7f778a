#!/usr/bin/env bash
# Records a demo capture of real clients talking to real servers through a
# router namespace (the topology of internal/testnet), for testdata/demo.pcap.
#
#   sudo scripts/record-testdata.sh OUT.pcap
#
# Client 10.200.1.2 / fd00:200:1::2  <->  router  <->  server 10.200.2.2 / fd00:200:2::2
# tcpdump runs on the router's client-facing veth. Traffic recorded:
# DNS (dig A/AAAA/TCP and the lookups curl makes), HTTP, HTTPS with the SNIs
# allowed.test, blocked.test, www.blocked.test, casino-royal.test (IPv4 and
# IPv6, HTTP/2 and HTTP/1.1), openssl s_client with and without SNI, HTTP/3
# (headless chromium, when /usr/bin/chromium exists), SSH (a refused login
# to a local sshd, when openssh-server is installed).
#
# Servers: internal/testnet/cmd/testnetd (Go HTTP/HTTPS/HTTP3/DNS, the same
# code the Go tests use), built here with `go build`.
# Needs root, iproute2, ethtool, tcpdump, curl, dig, openssl; optional
# chromium, openssh-server/openssh-client. Everything lives inside the
# namespaces; the host's interfaces and firewall are not touched.
set -euo pipefail

out=${1:-}
if [[ -z "$out" ]]; then
	echo "usage: $0 OUT.pcap" >&2
	exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "record-testdata: needs root (network namespaces)" >&2
	exit 1
fi
for cmd in ip ethtool tcpdump curl dig openssl go; do
	command -v "$cmd" >/dev/null || { echo "record-testdata: missing $cmd" >&2; exit 1; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$out")
tmp=$(mktemp -d /tmp/weir-record.XXXXXX)
base="wrec$$"
C="$base-c" R="$base-r" S="$base-s"

log() { printf 'record-testdata: %s\n' "$*" >&2; }

cleanup() {
	set +e
	for ns in "$C" "$R" "$S"; do
		if [[ -e /run/netns/$ns ]]; then
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[[ -n "$pids" ]] && kill -TERM $pids 2>/dev/null
		fi
	done
	sleep 0.3
	for ns in "$C" "$R" "$S"; do
		if [[ -e /run/netns/$ns ]]; then
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
			ip netns del "$ns"
		fi
	done
	rm -rf "/etc/netns/$C" "$tmp"
}
trap cleanup EXIT

nsx() { local ns=$1; shift; timeout 60 ip netns exec "$ns" "$@"; }

log "building testnetd"
(cd "$root" && go build -o "$tmp/testnetd" ./internal/testnet/cmd/testnetd)

log "topology $base"
for ns in "$C" "$R" "$S"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# No IPv6 DAD: a tentative link-local address costs the first v6 SYN.
	nsx "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$R" link add to-client type veth peer name eth0 netns "$C"
ip -n "$R" link add to-server type veth peer name eth0 netns "$S"
ip -n "$C" addr add 10.200.1.2/24 dev eth0
ip -n "$C" addr add fd00:200:1::2/64 dev eth0 nodad
ip -n "$R" addr add 10.200.1.1/24 dev to-client
ip -n "$R" addr add fd00:200:1::1/64 dev to-client nodad
ip -n "$R" addr add 10.200.2.1/24 dev to-server
ip -n "$R" addr add fd00:200:2::1/64 dev to-server nodad
ip -n "$S" addr add 10.200.2.2/24 dev eth0
ip -n "$S" addr add fd00:200:2::2/64 dev eth0 nodad
ip -n "$C" link set eth0 up
ip -n "$R" link set to-client up
ip -n "$R" link set to-server up
ip -n "$S" link set eth0 up
ip -n "$C" route add default via 10.200.1.1
ip -n "$C" -6 route add default via fd00:200:1::1
ip -n "$S" route add default via 10.200.2.1
ip -n "$S" -6 route add default via fd00:200:2::1
nsx "$R" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for pair in "$C eth0" "$R to-client" "$R to-server" "$S eth0"; do
	set -- $pair
	nsx "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null
done
mkdir -p "/etc/netns/$C"
printf 'nameserver 10.200.2.2\noptions timeout:1 attempts:1\n' >"/etc/netns/$C/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"/etc/netns/$C/hosts"

wait_for() { # file pattern seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	log "timeout waiting for '$2' in $1:"; cat "$1" >&2
	return 1
}

log "servers"
ip netns exec "$S" "$tmp/testnetd" -dir "$tmp" >"$tmp/testnetd.log" 2>&1 &
wait_for "$tmp/testnetd.log" "testnetd ready" 15

have_sshd=0
if [[ -x /usr/sbin/sshd ]] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh_host_ed25519_key"
	mkdir -p /run/sshd
	ip netns exec "$S" /usr/sbin/sshd -D -e -f /dev/null -p 22 \
		-o HostKey="$tmp/ssh_host_ed25519_key" -o PidFile="$tmp/sshd.pid" \
		-o PasswordAuthentication=no >"$tmp/sshd.log" 2>&1 &
	wait_for "$tmp/sshd.log" "Server listening" 10 && have_sshd=1
fi

log "capture -> $out"
mkdir -p "$(dirname "$out")"
ip netns exec "$R" tcpdump -U -n -Z root -i to-client -s 0 -w "$tmp/demo.pcap" 2>"$tmp/tcpdump.log" &
wait_for "$tmp/tcpdump.log" "listening on" 10

log "dig"
nsx "$C" dig +tries=1 +time=2 @10.200.2.2 allowed.test A >/dev/null
nsx "$C" dig +tries=1 +time=2 @10.200.2.2 blocked.test AAAA >/dev/null
nsx "$C" dig +tries=1 +time=2 @10.200.2.2 casino-royal.test A +tcp >/dev/null
nsx "$C" dig +tries=1 +time=2 @fd00:200:2::2 www.blocked.test A >/dev/null
nsx "$C" dig +tries=1 +time=2 @10.200.2.2 example.com A >/dev/null || true # REFUSED

log "curl"
curl_q() { nsx "$C" curl -sS --max-time 10 --cacert "$tmp/ca.pem" -o /dev/null -w "  %{http_version} %{http_code} %{remote_ip} $*\n" "$@" >&2; }
curl_q -4 http://allowed.test/
curl_q -6 http://blocked.test/
for name in allowed.test blocked.test www.blocked.test casino-royal.test; do
	curl_q -4 "https://$name/"
done
curl_q -6 https://casino-royal.test/
curl_q -4 --http1.1 https://www.blocked.test/host
curl_q -4 "http://allowed.test/big?bytes=100000"

log "openssl"
nsx "$C" openssl s_client -brief -connect 10.200.2.2:443 -servername blocked.test </dev/null >/dev/null 2>&1 || true
nsx "$C" openssl s_client -brief -connect 10.200.2.2:443 -noservername -tls1_2 </dev/null >/dev/null 2>&1 || true

if [[ -x /usr/bin/chromium ]]; then
	log "chromium (HTTP/3)"
	prof="$tmp/chromium"
	mkdir -p "$prof"
	nsx "$C" env HOME="$prof" /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --no-first-run --disable-extensions \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --enable-quic --origin-to-force-quic-on=quic.test:443 \
		--host-resolver-rules="MAP quic.test 10.200.2.2" \
		--ignore-certificate-errors-spki-list="$(cat "$tmp/spki")" \
		--dump-dom https://quic.test/host 2>/dev/null | grep -o 'proto=HTTP/[0-9.]*' >&2 ||
		log "chromium failed (no HTTP/3 in the capture)"
else
	log "no /usr/bin/chromium: no HTTP/3 in the capture"
fi

if [[ $have_sshd == 1 ]]; then
	log "ssh (login refused on purpose)"
	nsx "$C" ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 nobody@10.200.2.2 true >/dev/null 2>&1 || true
else
	log "no sshd: no SSH in the capture"
fi

sleep 0.3
tcpdump_pid=$(ip netns pids "$R")
kill -INT $tcpdump_pid
wait_for "$tmp/tcpdump.log" "packets captured" 10
cp "$tmp/demo.pcap" "$out"
log "$(grep 'packets captured' "$tmp/tcpdump.log") -> $out ($(stat -c %s "$out") bytes)"
