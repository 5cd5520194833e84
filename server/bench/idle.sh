#!/bin/bash
# Idle keep-alive connections and slowloris clients against http_hello: wrk -c64 latency
# unloaded, with IDLE idle connections, and with IDLE idle + SLOW slowloris clients; the server's
# RSS per idle connection. Server on CPU 0, wrk and the load program on CPU 1.
#
#   server/bench/idle.sh [IDLE] [SLOW] [SECS]      (defaults 10000 1000 5)
#
# Needs `wrk` and the release builds of http_hello and idle_load:
#   cargo build --release --example http_hello -p gevent
#   cargo build --release --example idle_load -p gevent-server
set -u
IDLE=${1:-10000}; SLOW=${2:-1000}; S=${3:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
T=${CARGO_TARGET_DIR:-$root/target}/release/examples
ulimit -n 65536 2>/dev/null || true
PORT=${PORT:-7040}
KEEPALIVE=${KEEPALIVE:-60}
taskset -c 0 env KEEPALIVE_SECS=$KEEPALIVE "$T/http_hello" 127.0.0.1:$PORT >/dev/null 2>&1 & pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$PORT/
wrkrun() { taskset -c 1 wrk -t1 -c64 -d"${S}s" --latency "$url" 2>&1 | awk '/Requests\/sec/ {r=$2} $1=="99%" {p=$2} $1=="50%" {m=$2} /Socket errors|Non-2xx/ {e=e $0} END {printf "req/s %s  p50 %s  p99 %s  %s\n", r, m, p, e}'; }
taskset -c 1 wrk -t1 -c64 -d1s "$url" >/dev/null 2>&1
echo "unloaded:            $(wrkrun)"
load() { # idle slow
  local f=$(mktemp)
  taskset -c 1 "$T/idle_load" $pid 127.0.0.1:$PORT "$1" "$2" $((S + 4)) > "$f" 2>&1 & local lp=$!
  for i in $(seq 600); do grep -q '^ready' "$f" && break; sleep 0.2; done
  grep -v '^ready' "$f" | sed 's/^/  /'
  echo "with $1 idle + $2 slowloris: $(wrkrun)"
  wait $lp; grep '^held' "$f" | sed 's/^/  /'; rm -f "$f"
}
load "$IDLE" 0
load "$IDLE" "$SLOW"
