#!/usr/bin/env bash
# The test command: set-up, formatting and lints, then every test of the workspace (unit, integration,
# end-to-end), the Python client examples and the dashboard in a real headless Chromium against the real
# binary, the Kubernetes manifests rendered and validated, and a bounded fuzzing run of the query pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Binaries find libtorch through an rpath relative to target/ inside the checkout; a target folder kept
# elsewhere (a CI cache) needs the path spelled out.
export LD_LIBRARY_PATH="$PWD/.earshot/libtorch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo build --locked --workspace --all-targets
# Needs the binary just built: the policy checks every flag and variable the manifests pass to it.
scripts/k8s-check.sh
# As root (CI) the disk-full test mounts a real tmpfs and must not skip itself.
if [ "$(id -u)" = 0 ]; then export EARSHOT_REQUIRE_TMPFS=1; fi
cargo test --locked --workspace
# Clients other than our own: Python over generated stubs and over reflection only; the dashboard in Chromium.
# The runners change directory, so the binary's path must be absolute.
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
EARSHOT_BIN="$target_dir/debug/earshot" examples/python/run.sh
EARSHOT_BIN="$target_dir/debug/earshot" tests/browser/run.sh
scripts/fuzz.sh
