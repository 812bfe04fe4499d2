#!/usr/bin/env bash
# Side-by-side, in one run: the Rust classifier (int8 ONNX through rust-bert) vs the Python
# `transformers` pipeline (fp32 PyTorch, the model the int8 one was quantised from) on the same texts and
# batch size, 1 thread and all cores; plus the same int8 file under ONNX Runtime's own Python binding, which
# shows what rust-bert's wrapper and our tokenisation cost on top of the runtime.
# Needs the recipe's venv (models/recipe/setup.sh) and its fp32 export (models/weights/fp32, git-ignored:
# models/recipe/run_all.sh makes it). EARSHOT_BENCH_PASSES (default 5): passes per stack, median reported.
set -euo pipefail
cd "$(dirname "$0")/../.."
TEXTS=$(realpath "${1:-models/recipe/data/test_tweets.jsonl}")
BATCH=${2:-32}
OUT=$(mktemp -d)
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$PWD/.earshot/onnxruntime/libonnxruntime.so}
# The bench runs from its package folder and its binary from the target folder: name the weights.
export EARSHOT_MODEL_DIR=${EARSHOT_MODEL_DIR:-$PWD/models/weights}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=models/recipe/.venv/bin/python
echo "texts: $TEXTS, batch $BATCH, $(nproc) cores, ${EARSHOT_BENCH_PASSES:-5} passes per stack"
cargo bench -q -p earshot-onnx --bench throughput -- "$TEXTS" "$BATCH" | tee "$OUT/rust.jsonl"
"$PY" models/bench/python_pipeline.py "$TEXTS" "$BATCH" 2>/dev/null | tee "$OUT/python.jsonl"
"$PY" models/bench/python_ort.py "$TEXTS" "$BATCH" 2>/dev/null | tee "$OUT/ort.jsonl"
python3 - "$OUT" <<'PY'
import json, sys
load = lambda n: {r["threads"]: r for r in map(json.loads, open(f"{sys.argv[1]}/{n}.jsonl"))}
rust, py, ort = load("rust"), load("python"), load("ort")
print("\n| threads | Rust int8 texts/s | Python pipeline fp32 texts/s | Rust / pipeline | Python ORT int8 texts/s | Rust / Python ORT |")
print("|---|---|---|---|---|---|")
for t in sorted(rust):
    if t in py and t in ort:
        r, p, o = rust[t]["texts_per_s"], py[t]["texts_per_s"], ort[t]["texts_per_s"]
        print(f"| {t} | {r:.1f} | {p:.1f} | **{r / p:.2f}×** | {o:.1f} | {r / o:.2f}× |")
PY
