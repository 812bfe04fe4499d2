"""A third column for the comparison: the very int8 ONNX file the service ships, run by ONNX Runtime's own
Python binding with the Hugging Face fast tokenizer, same texts, same normalisation, same batches. It separates
what the runtime costs from what rust-bert's wrapper and our tokenisation add. Prints one JSON line per thread
count."""
import json, os, sys, time

import numpy as np

texts_path, batch = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32
passes = max(1, int(os.environ.get("EARSHOT_BENCH_PASSES", "5")))  # median of these passes is reported
here = os.path.dirname(os.path.abspath(__file__))
weights = os.environ.get("EARSHOT_WEIGHTS_DIR", os.path.join(here, "..", "weights"))
sys.path.insert(0, os.path.join(here, "..", "recipe"))
from common import normalize  # noqa: E402
from mlmodel import load_tokenizer  # noqa: E402

import onnxruntime as ort  # noqa: E402

tok = load_tokenizer(os.path.join(weights, "tokenizer.json"))
texts = [normalize(json.loads(l)["text"]) for l in open(texts_path) if l.strip()]
chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]


def run(session, chunk):
    enc = tok(chunk, padding=True, truncation=True, max_length=128, return_tensors="np")
    feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
    return session.run(["logits"], feeds)[0]


for threads in sorted({1, os.cpu_count() or 1}):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(os.path.join(weights, "model.onnx"), so, providers=["CPUExecutionProvider"])
    run(session, chunks[0])  # warm-up
    rates = []
    for _ in range(passes):
        t = time.perf_counter()
        n = sum(len(run(session, c)) for c in chunks)
        rates.append(n / (time.perf_counter() - t))
    rates.sort()
    print(json.dumps({"stack": "python onnxruntime int8", "threads": threads, "batch": batch, "texts": len(texts),
                      "passes": passes, "texts_per_s": rates[len(rates) // 2], "min": rates[0], "max": rates[-1]}))
