#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (cargo fuzz, libFuzzer, nightly toolchain) one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Each target runs for SECONDS (default 30) in one process, starting from its seed corpus
# (fuzz/seeds/<target>, kept in the repo) plus whatever earlier runs grew in fuzz/corpus/<target>
# (ignored by git). Prints one line per target and fails when any target finds a crash; the
# input that crashed is kept under fuzz/artifacts/<target>/ and the log's tail is printed.
#
# Needs `cargo install cargo-fuzz --locked` and `rustup toolchain install nightly`.
# Environment: FUZZ_BUILD_LOCK=<file> builds under `flock <file>` (machines shared by several
# builders); CARGO_TARGET_DIR is honoured; FUZZ_ARGS adds libFuzzer flags; FUZZ_LOG_DIR keeps
# each target's libFuzzer log there.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
all_targets=(origin decide tower config api)
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
  if [ ! -f "fuzz/fuzz_targets/$target.rs" ]; then
    echo "unknown fuzz target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

build=(cargo +nightly fuzz build -O)
if [ -n "${FUZZ_BUILD_LOCK:-}" ]; then
  build=(flock "$FUZZ_BUILD_LOCK" "${build[@]}")
fi
echo "== fuzz: building ${targets[*]}"
build_start=$(date +%s)
if [ "${#targets[@]}" -eq "${#all_targets[@]}" ]; then
  "${build[@]}"
else
  for target in "${targets[@]}"; do
    "${build[@]}" "$target"
  done
fi
echo "fuzz build: $(($(date +%s) - build_start))s"

if [ -n "${FUZZ_LOG_DIR:-}" ]; then
  logs="$FUZZ_LOG_DIR"
  mkdir -p "$logs"
else
  logs="$(mktemp -d)"
  trap 'rm -rf "$logs"' EXIT
fi
failed=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  log="$logs/$target.log"
  start=$(date +%s)
  # One process (-jobs would fork workers); -timeout: one input may take at most 10 s.
  # shellcheck disable=SC2086
  if cargo +nightly fuzz run -O "$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
  fi
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n 1 | cut -d' ' -f2)
  files=$(find "$corpus" -type f | wc -l)
  echo "fuzz $target: $status in ${elapsed}s, ${runs:-?} executions, coverage ${cov:-?}, corpus $files inputs"
  if [ "$status" = FAILED ]; then
    # The panic message (or, without one, the end of the log), then the inputs kept.
    grep -A 6 -m 1 'panicked at' "$log" || tail -n 40 "$log"
    grep -m 1 '^SUMMARY' "$log" || true
    ls -1 "fuzz/artifacts/$target" | sed "s|^|  artifact: fuzz/artifacts/$target/|"
    echo "  reproduce: cargo +nightly fuzz run -O $target fuzz/artifacts/$target/<file>"
  fi
done
exit "$failed"
