#!/usr/bin/env bash
# Side by side, in one command: earshot against raw Tantivy (tantivy-py), SQLite FTS5 and DuckDB on the
# same generated corpus, the same queries with the same meaning, answers checked against each other, one
# table of load time, peak RSS, p50/p99 and ratios (issue 17). A benchmark, not a test: CI does not run it.
#
#   bench/compare.sh                         # BENCH_N=1000000 mentions (minutes; see BENCHMARKS.md)
#   BENCH_N=200000 bench/compare.sh
#   BENCH_N=2000 bench/compare.sh --quick    # smoke run: few repetitions, seconds
#   bench/compare.sh --with-classifier       # also models/bench/compare.sh (Rust vs Python classifier)
#
# Environment: BENCH_N (mentions, default 1,000,000; 10,000 with --quick), BENCH_SEED (17), BENCH_REPEAT
# (measured calls per query, 50; 5 with --quick), BENCH_WARM (3; 1), BENCH_BUDGET_S (seconds per query
# before fewer repetitions are taken, 20), BENCH_SYSTEMS (earshot,tantivy,sqlite,duckdb), BENCH_WORK
# (corpus cache and data folders, bench/.work), BENCH_OUT (results: compare.md, compare.json, the server's
# log; bench/out), BENCH_KEEP_DATA=1 (keep earshot's data folder, BENCH_WORK/earshot, to profile a
# restart by hand), EARSHOT_BIN (default ${CARGO_TARGET_DIR:-target}/release/earshot, built with
# `cargo build --release -p earshot-cli` when missing; relative paths are from the repository root).
#
# Needs python3 (3.10+) with venv; installs bench/requirements.txt into bench/.venv (again only when the
# file changes). Exit status: 0 when every answer agreed, 1 when any did not (the table says which).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

quick=0 classifier=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --with-classifier) classifier=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $arg (--quick, --with-classifier)" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  export BENCH_N="${BENCH_N:-10000}" BENCH_REPEAT="${BENCH_REPEAT:-5}" BENCH_WARM="${BENCH_WARM:-1}"
fi
export BENCH_N="${BENCH_N:-1000000}" BENCH_SEED="${BENCH_SEED:-17}"
export BENCH_REPEAT="${BENCH_REPEAT:-50}" BENCH_WARM="${BENCH_WARM:-3}" BENCH_BUDGET_S="${BENCH_BUDGET_S:-20}"
work="$(mkdir -p "${BENCH_WORK:-$here/.work}" && cd "${BENCH_WORK:-$here/.work}" && pwd)"
out="$(mkdir -p "${BENCH_OUT:-$here/out}" && cd "${BENCH_OUT:-$here/out}" && pwd)"

# 1. The Python side.
venv="$here/.venv"
if ! "$venv/bin/python" -c 'import sys; assert sys.version_info >= (3, 10)' >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then  # Debian ships ensurepip in a package of its own
    rm -rf "$venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi
stamp="$venv/.requirements.installed"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi
py="$venv/bin/python"
# Stubs from proto/, every run (a second), so they always match the contract.
export BENCH_GEN="$work/gen"
rm -rf "$BENCH_GEN" && mkdir -p "$BENCH_GEN"
"$py" -m grpc_tools.protoc -I "$repo/proto" --python_out="$BENCH_GEN" --grpc_python_out="$BENCH_GEN" \
  "$repo"/proto/earshot/v1/*.proto

# 2. The binary.
bin="${EARSHOT_BIN:-${CARGO_TARGET_DIR:-target}/release/earshot}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
if [ ! -x "$bin" ]; then
  echo "compare.sh: $bin missing; cargo build --release -p earshot-cli" >&2
  cargo build --release -p earshot-cli
fi

# 3. The corpus (cached by generator version, N and seed).
version="$("$py" -c 'import sys; sys.path.insert(0, "'"$here"'"); import corpus; print(corpus.VERSION)')"
corpus="$work/corpus-v$version-n$BENCH_N-s$BENCH_SEED.jsonl"
if [ ! -s "$corpus" ]; then
  echo "compare.sh: generating $BENCH_N mentions (seed $BENCH_SEED) into $corpus" >&2
  "$py" "$here/corpus.py" "$corpus.tmp" "$BENCH_N" "$BENCH_SEED"
  mv "$corpus.tmp" "$corpus"
fi

# 4. Optionally the classifier comparison, first (it builds, which must not overlap the timings).
classifier_md="" status=0
if [ "$classifier" = 1 ]; then
  classifier_md="$out/classifier.md"
  if models/bench/compare.sh | tee "$out/classifier.log"; then
    sed -n '/^| threads/,$p' "$out/classifier.log" >"$classifier_md"
  else
    status=1
    echo "**models/bench/compare.sh failed** (see $out/classifier.log; it needs models/recipe's venv and fp32 export)" \
      | tee "$classifier_md" >&2
  fi
fi

# 5. The run: every system, the check, the table.
cd "$here"
"$py" run.py --binary "$bin" --corpus "$corpus" --n "$BENCH_N" --work "$work" --out "$out" \
  --systems "${BENCH_SYSTEMS:-earshot,tantivy,sqlite,duckdb}" ${classifier_md:+--classifier-md "$classifier_md"} \
  || status=$?
echo "compare.sh: table in $out/compare.md (exit $status)" >&2
exit "$status"
