#!/usr/bin/env bash
# Renders every kustomize overlay under k8s/overlays and checks the result:
#  1. against the Kubernetes OpenAPI schemas (PyPI's kubernetes-validate, --strict: unknown fields fail);
#  2. against earshot's own rules (scripts/k8s_policy.py: probes, limits, non-root, read-only root,
#     grace period, and every EARSHOT_* variable one that `earshot serve` actually reads).
# Installs what it needs: kubectl (Debian's kubernetes-client; its `kubectl kustomize` renders) and a
# small virtualenv under .earshot/k8s-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBE_VERSION=${KUBE_VERSION:-1.30.0}
if ! command -v kubectl >/dev/null; then
  echo "k8s-check: installing kubernetes-client (kubectl)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
venv=.earshot/k8s-venv
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'kubernetes-validate==1.37.0' 'PyYAML>=6'
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=${EARSHOT_BIN:-${CARGO_TARGET_DIR:-target}/debug/earshot}
for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" > "$out/$name.yaml" 2> "$out/$name.err" || { cat "$out/$name.err"; exit 1; }
  "$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBE_VERSION" "$out/$name.yaml"
  "$venv/bin/python" scripts/k8s_policy.py "$out/$name.yaml" "$bin"
  echo "k8s-check: overlay $name ok ($(grep -c '^kind:' "$out/$name.yaml") resources)"
done
