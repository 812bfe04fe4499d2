#!/usr/bin/env bash
# The test command: set-up, then every test of the workspace (unit, integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked --workspace --all-targets
cargo test --locked --workspace
