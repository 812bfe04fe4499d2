#!/usr/bin/env bash
# Peak RSS of the server with the sentiment model over a 1M-mention index (issue 17, BENCHMARKS.md): the
# corpus imported without the model, the server restarted with it on the same data, then NEW mentions (the
# first N of the corpus under other ids) imported and labelled while the re-labelling job works beside them.
#
#   bench/rss-with-model.sh [CORPUS] [N]     # defaults: bench/.work/corpus-v1-n1000000-s17.jsonl, 50000
#
# Environment: EARSHOT_BIN (default ${CARGO_TARGET_DIR:-target}/release/earshot), EARSHOT_MODEL_DIR and
# ORT_DYLIB_PATH as for `earshot serve`. A benchmark, not a test: it prints, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${EARSHOT_BIN:-${CARGO_TARGET_DIR:-target}/release/earshot}
CORPUS=${1:-bench/.work/corpus-v1-n1000000-s17.jsonl}
N=${2:-50000}
export EARSHOT_MODEL_DIR=${EARSHOT_MODEL_DIR:-$PWD/models/weights}
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$PWD/.earshot/onnxruntime/libonnxruntime.so}
D=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$D"' EXIT
start() {
  : > "$D/out"
  "$BIN" serve "$@" --listen 127.0.0.1:0 --http-listen off --metrics-listen off --data-dir "$D/data" --log warn \
    > "$D/out" 2> "$D/err" &
  PID=$!
  until grep -q "listening on" "$D/out" 2>/dev/null; do kill -0 "$PID"; sleep 0.05; done
  ADDR=http://$(sed -n 's/earshot listening on //p' "$D/out")
}
hwm() { awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$PID/status"; }
start --no-classifier
"$BIN" import "$CORPUS" --server "$ADDR" --wait --no-progress > /dev/null
echo "import of $(wc -l < "$CORPUS") without the model: peak $(hwm)"
kill -TERM "$PID"; wait "$PID" || true
start
# Mentions that arrive before the model has loaded are stored unlabelled: send probes until one is labelled.
i=0
until
  i=$((i + 1))
  echo "{\"id\":\"probe-$i\",\"text\":\"probe$i great service, thank you\",\"created_at\":\"2026-10-01T00:00:00Z\"}" \
    > "$D/probe.jsonl"
  "$BIN" import "$D/probe.jsonl" --server "$ADDR" --wait --no-progress > /dev/null
  [ "$("$BIN" search "probe$i AND NOT sentiment:unclassified" --server "$ADDR" --count | tr -dc 0-9)" = 1 ]
do kill -0 "$PID"; [ "$i" -lt 300 ] || { echo "the model never labelled a probe" >&2; exit 1; }; sleep 0.2; done
echo "restarted with the model: RSS $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$PID/status")"
head -n "$N" "$CORPUS" | sed 's/"id":"/"id":"new-/' > "$D/new.jsonl"
t0=$(date +%s.%N)
"$BIN" import "$D/new.jsonl" --server "$ADDR" --wait --no-progress > /dev/null
t1=$(date +%s.%N)
echo "$N new mentions labelled and searchable in $(echo "$t1 - $t0" | bc) s; peak $(hwm) with the model"
