#!/usr/bin/env bash
# Installs what earshot needs on a fresh Debian machine with a Rust toolchain and Python 3. Idempotent.
#  - a C/C++ toolchain (tch's bindings are C++), pkg-config, redis-server (for the tests of --redis-url)
#  - libtorch (CPU) and ONNX Runtime from PyPI wheels, into .earshot/ (scripts/runtime.sh)
#  - checks the shipped sentiment weights against their recorded checksums
#  - Node.js + npm, and builds the web dashboard (services/web/build.sh; skipped when up to date)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v c++ >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
# The tests of the Redis mode start a real redis-server of their own.
command -v redis-server >/dev/null || need_apt+=(redis-server)
# The dashboard is bundled from its npm lockfile at build time (services/web/build.sh).
command -v npm >/dev/null || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo is required (https://rustup.rs)"; exit 1; }

scripts/runtime.sh
services/web/build.sh

if [ -f models/weights/SHA256SUMS ]; then
  (cd models/weights && sha256sum --quiet -c SHA256SUMS) || { echo "setup: models/weights do not match SHA256SUMS"; exit 1; }
  echo "setup: sentiment weights verified ($(cut -c1-12 models/weights/SHA256SUMS | head -1)…)"
else
  echo "setup: no sentiment weights in models/weights (the service runs, mentions stay unlabelled)"
fi
echo "setup: ok"
