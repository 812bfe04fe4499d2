#!/usr/bin/env bash
# The test command: set-up, then every test of the workspace (unit, integration, end-to-end), the
# Kubernetes manifests rendered and validated, and a bounded fuzzing run of the query pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --workspace --all-targets
# Needs the binary just built: the policy checks every flag and variable the manifests pass to it.
scripts/k8s-check.sh
# As root (CI) the disk-full test mounts a real tmpfs and must not skip itself.
if [ "$(id -u)" = 0 ]; then export EARSHOT_REQUIRE_TMPFS=1; fi
cargo test --locked --workspace
scripts/fuzz.sh
