#!/usr/bin/env bash
# Runs the Python examples' tests against a built earshot binary:
#   1. a virtual environment in examples/python/.venv (created once; python3-venv installed with apt on
#      Debian/Ubuntu when `python3 -m venv` cannot work), with requirements.txt installed (again only when
#      requirements.txt changes);
#   2. stubs generated from proto/ into examples/python/gen/ with grpcio-tools;
#   3. pytest on test_examples.py (extra arguments go to pytest); the exit code is pytest's.
# The binary: $EARSHOT_BIN (relative paths are taken from the repository root), else
# ${CARGO_TARGET_DIR:-target}/debug/earshot.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "run.sh: need root to run: $*" >&2; return 1
  fi
}

if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    # Debian ships venv's ensurepip in a package of its own.
    rm -rf "$venv"
    echo "run.sh: '$python -m venv' failed; installing python3-venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
  fi
fi

stamp="$venv/.requirements.installed"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

# Regenerated every run (a second or two), so the stubs always match proto/. grpc_tools brings
# google/protobuf/*.proto (timestamp.proto) on its include path by itself.
rm -rf "$here/gen"
mkdir -p "$here/gen"
"$venv/bin/python" -m grpc_tools.protoc -I "$repo/proto" --python_out="$here/gen" --grpc_python_out="$here/gen" \
  "$repo"/proto/earshot/v1/*.proto

cd "$here"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider test_examples.py "$@" || status=$?
exit "$status"
