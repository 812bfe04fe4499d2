#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the query pipeline (indexer/fuzz, target `parse_lower`): libFuzzer
# through cargo-fuzz, on the machine's stable toolchain. RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass the
# unstable flags it needs; there is no sanitizer (-s none): what catches bugs is Rust's own checks with
# debug assertions on (-a: overflow, bounds, Tantivy's and our invariants) plus the target's oracles.
# Exits non-zero on a crash and leaves the input under indexer/fuzz/artifacts/parse_lower/.
#   EARSHOT_FUZZ_SECONDS   how long to fuzz (default 60)
set -euo pipefail
cd "$(dirname "$0")/../indexer"
seconds=${EARSHOT_FUZZ_SECONDS:-60}
if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz"
  cargo install --locked --quiet cargo-fuzz@0.13.2
fi
export RUSTC_BOOTSTRAP=1
corpus=fuzz/corpus/parse_lower
mkdir -p "$corpus"
cargo fuzz build -s none -a parse_lower
cargo fuzz run -s none -a parse_lower "$corpus" fuzz/seeds -- \
  -max_total_time="$seconds" -max_len=512 -timeout=10 -print_final_stats=1 2>&1 | tail -25
exit "${PIPESTATUS[0]}"
