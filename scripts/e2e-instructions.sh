#!/usr/bin/env bash
# End to end, counted: the instructions a real server (the same hello-world servers as
# scripts/bench-e2e.sh) executes per request, all its threads together, under valgrind's
# callgrind. wrk drives it on loopback; the counters are zeroed after a warm-up and dumped after
# the measured run, so startup does not count. Nearly deterministic where wrk's requests per
# second on a shared machine move by ±20%.
#
#   scripts/e2e-instructions.sh [SECONDS per run, default 4]
#
# Needs valgrind and wrk (Debian packages; installed when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-4}"
port=18481
# shellcheck source=scripts/e2e-common.sh
. scripts/e2e-common.sh
e2e_require valgrind wrk

server=$PWD/target/release/e2e-server
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
e2e_prepare "$work"

# One measured run: prints instructions per request.
run() {
  local framework=$1 stack=$2 scenario=$3
  rm -f "$work"/cg.out*
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$server" "$framework" "$stack" "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  e2e_wait_port "$port"
  wrk -t1 -c4 -d2s -s "$work/$scenario.lua" "http://127.0.0.1:$port/hello" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  local requests
  requests=$(wrk -t1 -c4 -d"${seconds}s" -s "$work/$scenario.lua" "http://127.0.0.1:$port/hello" |
    awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  local dump total
  dump=$(ls "$work"/cg.out.* | head -1)
  total=$(awk '/^totals:/ {print $2; exit}' "$dump")
  echo $((total / requests))
}

printf '%-7s %-10s %-13s %12s %10s\n' framework scenario stack "instr/req" "added"
for framework in axum actix; do
  peer=tower-http
  [ "$framework" = actix ] && peer=actix-cors
  for scenario in get preflight; do
    bare=$(run "$framework" bare "$scenario")
    printf '%-7s %-10s %-13s %12s %10s\n' "$framework" "$scenario" bare "$bare" 0
    for stack in trusted-cors peer; do
      count=$(run "$framework" "$stack" "$scenario")
      name=$stack
      [ "$stack" = peer ] && name=$peer
      printf '%-7s %-10s %-13s %12s %10s\n' "$framework" "$scenario" "$name" "$count" $((count - bare))
    done
  done
done
