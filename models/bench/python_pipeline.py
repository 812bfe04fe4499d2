"""The Python side of the comparison: Hugging Face `transformers` text-classification pipeline on the
fp32 fine-tuned model (models/weights/fp32, produced by the recipe), same texts and batch size as the Rust
bench. Prints one JSON line per thread count."""
import json, os, sys, time

texts_path, batch = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32
passes = max(1, int(os.environ.get("EARSHOT_BENCH_PASSES", "5")))  # median of these passes is reported
model_dir = os.environ.get("EARSHOT_FP32_DIR", os.path.join(os.path.dirname(__file__), "..", "weights", "fp32"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "recipe"))
from prepare_data import normalize  # noqa: E402  the same normalisation the service applies

import torch  # noqa: E402
from transformers import pipeline  # noqa: E402

texts = [normalize(json.loads(l)["text"]) for l in open(texts_path) if l.strip()]
for threads in sorted({1, os.cpu_count() or 1}):
    torch.set_num_threads(threads)
    clf = pipeline("text-classification", model=model_dir, tokenizer=model_dir, device=-1, truncation=True, max_length=128)
    clf(texts[:batch], batch_size=batch)  # warm-up
    rates = []
    for _ in range(passes):
        t = time.perf_counter()
        out = clf(texts, batch_size=batch)
        rates.append(len(out) / (time.perf_counter() - t))
    rates.sort()
    print(json.dumps({"stack": "python transformers pipeline fp32", "threads": threads, "batch": batch, "texts": len(texts),
                      "passes": passes, "texts_per_s": rates[len(rates) // 2], "min": rates[0], "max": rates[-1]}))
