#!/usr/bin/env bash
# End-to-end throughput on loopback: a hello-world server on axum and on actix-web, each bare,
# with trusted-cors (guard + route declaration) and with the framework's usual CORS layer
# (tower-http's CorsLayer, actix-cors), driven by wrk with allowed CORS GETs and with preflights.
# Prints requests per second (the median of the rounds) and the ratio to bare.
#
#   scripts/bench-e2e.sh [SECONDS per run, default 5] [ROUNDS, default 3]
#
# With two cores or more, the server runs on core 0 and wrk on core 1 (taskset), so that the
# load generator does not take the server's core; the stacks of a scenario are run in turn,
# round after round, so that a slow spell of a shared machine falls on all of them alike.
#
# Installs wrk (Debian) when it is missing and may (root). Servers listen on 127.0.0.1 only and
# every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-5}"
rounds="${2:-3}"
connections="${E2E_CONNECTIONS:-32}"
port=18480

# shellcheck source=scripts/e2e-common.sh
. scripts/e2e-common.sh
e2e_require wrk

server_cpu=()
client_cpu=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
fi

server=target/release/e2e-server
lua_dir=$(mktemp -d)
trap 'rm -rf "$lua_dir"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
e2e_prepare "$lua_dir"

# One measured run: prints requests per second.
run() {
  local framework=$1 stack=$2 scenario=$3
  "${server_cpu[@]}" "$server" "$framework" "$stack" "127.0.0.1:$port" &
  pid=$!
  e2e_wait_port "$port"
  # A warm-up, then the measured run.
  "${client_cpu[@]}" wrk -t1 -c"$connections" -d1s -s "$lua_dir/$scenario.lua" \
    "http://127.0.0.1:$port/hello" >/dev/null
  local rps
  rps=$("${client_cpu[@]}" wrk -t1 -c"$connections" -d"${seconds}s" -s "$lua_dir/$scenario.lua" \
    "http://127.0.0.1:$port/hello" | awk '/Requests\/sec/ {print $2}')
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  echo "$rps"
}

# The median of numbers given one per line.
median() {
  sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "server on: ${server_cpu[*]:-any core}; wrk on: ${client_cpu[*]:-any core}; $rounds rounds of ${seconds}s"
printf '%-7s %-10s %-13s %12s %8s  %s\n' framework scenario stack "req/s" "÷ bare" "rounds"
for framework in axum actix; do
  peer=tower-http
  [ "$framework" = actix ] && peer=actix-cors
  for scenario in get preflight; do
    declare -A all=()
    for _ in $(seq 1 "$rounds"); do
      for stack in bare trusted-cors peer; do
        all[$stack]+="$(run "$framework" "$stack" "$scenario") "
      done
    done
    bare=$(tr ' ' '\n' <<<"${all[bare]}" | grep . | median)
    for stack in bare trusted-cors peer; do
      rps=$(tr ' ' '\n' <<<"${all[$stack]}" | grep . | median)
      ratio=$(awk -v a="$rps" -v b="$bare" 'BEGIN { printf "%.3f", a / b }')
      name=$stack
      [ "$stack" = peer ] && name=$peer
      printf '%-7s %-10s %-13s %12.0f %8s  %s\n' "$framework" "$scenario" "$name" "$rps" "$ratio" "${all[$stack]}"
    done
    unset all
  done
done
