#!/bin/bash
# threads(1) against threads(2) for http_hello on this machine: neither the server nor wrk is
# pinned (they share the cores). Prints wrk's requests/s, p99 and the server's CPU per request.
#
#   server/bench/threads.sh [CONNS] [SECS] [ROUNDS]     (defaults 64 5 3)
set -u
C=${1:-64}; S=${2:-5}; R=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
T=${CARGO_TARGET_DIR:-$root/target}/release/examples
TCK=$(getconf CLK_TCK)
for r in $(seq "$R"); do
  for n in 1 2; do
    port=$((7050 + n))
    THREADS=$n "$T/http_hello" 127.0.0.1:$port >/dev/null 2>&1 & pid=$!
    for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    wrk -t2 -c"$C" -d1s http://127.0.0.1:$port/ >/dev/null 2>&1
    t0=$(awk '{print $14+$15}' /proc/$pid/stat)
    out=$(wrk -t2 -c"$C" -d"${S}s" --latency http://127.0.0.1:$port/ 2>&1)
    t1=$(awk '{print $14+$15}' /proc/$pid/stat)
    kill $pid; wait $pid 2>/dev/null
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$out" | awk -v r=$r -v n=$n -v t=$((t1 - t0)) -v tck=$TCK -v q=$reqs '/Requests\/sec/ {rps=$2} $1=="99%" {p=$2} /Socket errors|Non-2xx/ {e=e $0} END {printf "round %s threads(%s): req/s %s  p99 %s  server CPU %.0f ns/req %s\n", r, n, rps, p, t*1e9/tck/q, e}'
  done
done
