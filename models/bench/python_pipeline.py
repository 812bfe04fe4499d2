"""The Python side of the comparison: the fp32 fine-tuned model (models/weights/fp32, produced by the recipe) in
PyTorch through Hugging Face `transformers` (XLMRobertaModel + the recipe's mean-pooling head, the Hugging Face
fast tokenizer, padding per batch) — what a `transformers` text-classification pipeline does for this model
(the pipeline itself cannot load the custom mean-pooling head) — same texts and batch size as the Rust bench.
Prints one JSON line per thread count."""
import json, os, sys, time

texts_path, batch = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32
passes = max(1, int(os.environ.get("EARSHOT_BENCH_PASSES", "5")))  # median of these passes is reported
model_dir = os.environ.get("EARSHOT_FP32_DIR", os.path.join(os.path.dirname(__file__), "..", "weights", "fp32"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "recipe"))
from common import normalize  # noqa: E402  the same normalisation the service applies
from mlmodel import MeanPoolClassifier, load_tokenizer  # noqa: E402

import torch  # noqa: E402

texts = [normalize(json.loads(l)["text"]) for l in open(texts_path) if l.strip()]
model = MeanPoolClassifier.load(model_dir)
tok = load_tokenizer(model_dir)


def pipeline_like(batch_texts, batch_size):
    out = []
    with torch.no_grad():
        for i in range(0, len(batch_texts), batch_size):
            enc = tok(batch_texts[i:i + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt")
            probs = torch.softmax(model(enc["input_ids"], enc["attention_mask"]), -1)
            out += [{"label": int(k), "score": float(v)} for v, k in zip(*probs.max(-1))]
    return out


for threads in sorted({1, os.cpu_count() or 1}):
    torch.set_num_threads(threads)
    clf = pipeline_like
    clf(texts[:batch], batch_size=batch)  # warm-up
    rates = []
    for _ in range(passes):
        t = time.perf_counter()
        out = clf(texts, batch_size=batch)
        rates.append(len(out) / (time.perf_counter() - t))
    rates.sort()
    print(json.dumps({"stack": "python transformers fp32 (pipeline-equivalent)", "threads": threads, "batch": batch, "texts": len(texts),
                      "passes": passes, "texts_per_s": rates[len(rates) // 2], "min": rates[0], "max": rates[-1]}))
