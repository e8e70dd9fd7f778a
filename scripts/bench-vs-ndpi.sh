#!/usr/bin/env bash
# Side-by-side: weir inspect --summary vs ndpiReader -i on the same capture,
# alternating runs, whole process (wall time, CPU time, peak RSS).
#
#   scripts/bench-vs-ndpi.sh [CAPTURE] [ROUNDS]
#
# Without CAPTURE it builds the benchmark capture from ../shared/corpus/ndpi
# (internal/tools/benchcap: the corpus looped to ~300 MB, one VLAN per loop).
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-/tmp/weir-bench.pcap}
rounds=${2:-5}
command -v ndpiReader >/dev/null || { echo "ndpiReader not found (apt-get install libndpi-bin)" >&2; exit 1; }
[ -f "$cap" ] || go run ./internal/tools/benchcap -o "$cap" ../shared/corpus/ndpi/pcap
go build -o /tmp/weir-bench-bin ./cmd/weir
pkts=$(capinfos -c -M "$cap" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
out=$(mktemp)
rssf=$(mktemp)
# measure LABEL CMD...: one line "LABEL wall user sys peakKB". Bash's time
# gives milliseconds (GNU time's %e has 10 ms steps, too coarse for 0.1 s runs);
# GNU time gives the peak RSS.
measure() {
  local label=$1 t
  shift
  t=$( { TIMEFORMAT='%3R %3U %3S'; time /usr/bin/time -f '%M' -o "$rssf" "$@" >/dev/null 2>/dev/null; } 2>&1 )
  echo "$label $t $(cat "$rssf")" >>"$out"
}
for i in $(seq "$rounds"); do
  measure weir /tmp/weir-bench-bin inspect --summary "$cap"
  measure ndpi ndpiReader -q -i "$cap"
  measure weir-flows /tmp/weir-bench-bin inspect --summary --no-classify "$cap"
  # What huge pages for the heap buy (cmd/weir/hugepages_linux.go).
  measure weir-no-hugepages env WEIR_HUGEPAGES=off /tmp/weir-bench-bin inspect --summary "$cap"
  measure weir-flows-no-hugepages env WEIR_HUGEPAGES=off /tmp/weir-bench-bin inspect --summary --no-classify "$cap"
done
grep -E '^(weir|ndpi|weir-flows|weir-no-hugepages|weir-flows-no-hugepages) ' "$out" | awk -v pkts="$pkts" '
  { n[$1]++; wall[$1]=wall[$1]" "$2; cpu[$1]=cpu[$1]" "($3+$4); rss[$1]=($5>rss[$1]?$5:rss[$1]) }
  function median(s,   a, k, i, j, t) { k=split(s, a, " "); for(i=1;i<=k;i++) for(j=i+1;j<=k;j++) if(a[j]<a[i]){t=a[i];a[i]=a[j];a[j]=t}; return a[int((k+1)/2)] }
  END {
    printf "| tool | runs | median wall s | median CPU s | Mpps (wall) | peak RSS MB |\n|---|---:|---:|---:|---:|---:|\n"
    for (t in n) { w=median(wall[t]); c=median(cpu[t]); printf "| %s | %d | %.3f | %.3f | %.2f | %.0f |\n", t, n[t], w, c, pkts/w/1e6, rss[t]/1024; W[t]=w; C[t]=c; R[t]=rss[t] }
    printf "\nweir vs ndpiReader: %.2fx the packet rate (wall), %.2fx (CPU), %.2f of its peak memory\n", W["ndpi"]/W["weir"], C["ndpi"]/C["weir"], R["weir"]/R["ndpi"]
    printf "classification overhead (weir vs weir --no-classify): +%.0f%% wall, +%.0f%% CPU\n", 100*(W["weir"]/W["weir-flows"]-1), 100*(C["weir"]/C["weir-flows"]-1)
    printf "  without huge pages: +%.0f%% wall\n", 100*(W["weir-no-hugepages"]/W["weir-flows-no-hugepages"]-1)
  }'
rm -f "$out" "$rssf"
