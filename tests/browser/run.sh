#!/usr/bin/env bash
# Runs the browser tests: Debian's chromium + chromium-driver (installed when missing), Selenium and
# pytest pinned in requirements.txt (in tests/browser/.venv), the dashboard built, the earshot binary
# built, then pytest. Screenshots go to ${CARGO_TARGET_DIR:-target}/browser-screenshots/.
# Extra arguments go to pytest (e.g. `tests/browser/run.sh -k tenant`).
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
if ((${#need_apt[@]})); then
  echo "browser: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The venv is rebuilt only when the pins change.
want="$(sha256sum requirements.txt | cut -c1-64)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.stamp 2>/dev/null)" != "$want" ]; then
  echo "browser: creating tests/browser/.venv"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > .venv/.stamp
fi

"$root/services/web/build.sh"
# The app's own unit tests (time zones, URL scopes, byte spans, CSV) under Node's test runner.
(cd "$root/services/web/app" && npm test --silent)
if [ -z "${EARSHOT_BIN:-}" ]; then
  (cd "$root" && cargo build -q -p earshot-cli --bins)
fi

# A target dir outside the checkout misses the binary's rpath to libtorch (.cargo/config.toml).
export LD_LIBRARY_PATH="$root/.earshot/libtorch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.earshot/onnxruntime/libonnxruntime.so}"
# Selenium must never fetch a browser or driver of its own: both are Debian's.
export SE_OFFLINE=true
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
