#!/usr/bin/env bash
# Side-by-side, in one run: the Rust classifier (int8 ONNX through rust-bert) vs the Python
# `transformers` pipeline (fp32 PyTorch) on the same texts and batch size, 1 thread and all cores.
# Needs the recipe's venv (models/recipe/setup.sh) and its fp32 export (models/weights/fp32).
set -euo pipefail
cd "$(dirname "$0")/../.."
TEXTS=$(realpath "${1:-models/recipe/data/test_tweets.jsonl}")
BATCH=${2:-32}
echo "texts: $TEXTS, batch $BATCH, $(nproc) cores"
cargo bench -q -p earshot-models --bench throughput -- "$TEXTS" "$BATCH" | tee /tmp/earshot-rust.jsonl
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 models/recipe/.venv/bin/python models/bench/python_pipeline.py "$TEXTS" "$BATCH" 2>/dev/null | tee /tmp/earshot-python.jsonl
python3 - <<'PY'
import json
rust = {r["threads"]: r for r in map(json.loads, open("/tmp/earshot-rust.jsonl"))}
py = {r["threads"]: r for r in map(json.loads, open("/tmp/earshot-python.jsonl"))}
print("\n| threads | Rust int8 texts/s | Python pipeline texts/s | ratio |\n|---|---|---|---|")
for t in sorted(rust):
    if t in py:
        print(f"| {t} | {rust[t]['texts_per_s']:.1f} | {py[t]['texts_per_s']:.1f} | {rust[t]['texts_per_s'] / py[t]['texts_per_s']:.2f}× |")
PY
