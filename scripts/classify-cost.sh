#!/usr/bin/env bash
# Where classification's time goes on a capture: CPU profiles of ROUNDS
# classified and ROUNDS flows-only runs of `weir inspect --summary`, merged,
# then the per-run milliseconds of the classifier's parts.
#
#   scripts/classify-cost.sh [CAPTURE] [ROUNDS]
#
# A single 0.2 s run holds ~20 samples (Go profiles at 100 Hz), so the parts
# only mean something over many rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-/tmp/weir-bench.pcap}
rounds=${2:-40}
[ -f "$cap" ] || go run ./internal/tools/benchcap -o "$cap" ../shared/corpus/ndpi/pcap
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/weir" ./cmd/weir
for i in $(seq "$rounds"); do
  "$dir/weir" inspect --summary --cpuprofile "$dir/c$i.prof" "$cap" >/dev/null
  "$dir/weir" inspect --summary --no-classify --cpuprofile "$dir/f$i.prof" "$cap" >/dev/null
done
# total prints a merged profile's samples in ms ("Total samples = 5.27s" or "= 830ms").
total() {
  go tool pprof -top -nodecount 1 "$dir/weir" "$@" 2>/dev/null |
    sed -n 's/.*Total samples = \([0-9.]*\)\(m*s\).*/\1 \2/p' | awk '{print ($2 == "s") ? $1 * 1000 : $1}'
}
c=$(total "$dir"/c*.prof)
f=$(total "$dir"/f*.prof)
echo "samples per run: classified $(awk -v v="$c" -v n="$rounds" 'BEGIN {printf "%.1f", v/n}') ms, flows-only $(awk -v v="$f" -v n="$rounds" 'BEGIN {printf "%.1f", v/n}') ms"
echo
echo "| part | ms per run (cumulative) |"
echo "|---|---:|"
go tool pprof -top -cum -nodecount 2000 "$dir/weir" "$dir"/c*.prof 2>/dev/null | awk -v n="$rounds" '
  function ms(v) { if (v ~ /ms$/) { sub(/ms$/, "", v); return v } sub(/s$/, "", v); return v * 1000 }
  {
    name = $NF
    if (name ~ /classify\.\(\*Classifier\)\.Packet$/)            part = "classifier, per packet (all dissectors)"
    else if (name ~ /quic\.\(\*Dissector\)\.Feed$/)             part = "QUIC"
    else if (name ~ /quic\.deriveClientKeys$/)                   part = "  QUIC Initial key derivation"
    else if (name ~ /tls\.\(\*Dissector\)\.Feed$/)              part = "TLS"
    else if (name ~ /tls\.ParseCertificate$/)                    part = "  TLS certificates"
    else if (name ~ /http\.\(\*Dissector\)\.Feed$/)             part = "HTTP"
    else if (name ~ /dns\.\(\*Dissector\)\.Feed$/)              part = "DNS"
    else if (name ~ /classify\.\(\*Classifier\)\.decideApp$/)    part = "deciding the application"
    else if (name ~ /classify\.\(\*Classifier\)\.Sweep$/)        part = "dissection-timeout sweep"
    else if (name ~ /^runtime\.mallocgc$/)                      part = "allocation (all callers)"
    else next
    printf "| %s | %.1f |\n", part, ms($4) / n
  }'
