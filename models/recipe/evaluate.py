#!/usr/bin/env python3
"""Evaluates, on every held-out test set (data/test_<domain>.jsonl) and on all of them together:
  (a) the fp32 PyTorch model (models/weights/fp32/),
  (b) the shipped int8 ONNX model (models/weights/model.onnx) through onnxruntime,
  (c) VADER (vaderSentiment 3.3.2): compound >= 0.05 positive, <= -0.05 negative, else neutral;
printing accuracy, macro-F1, per-class recall and the confusion matrix, and writing eval_results.json.

Also writes reference_scores.jsonl: for fixed texts, the normalised text, the token ids, the int8 model's raw
logits and calibrated probabilities softmax(logits / T) (snapshot fixtures for the Rust path).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from common import (DATA_DIR, HERE, LABELS, MAX_LEN, TEST_SETS, WEIGHTS_DIR, ece, format_report, metrics, nll,
                    read_jsonl, softmax)
from prepare_data import normalize

REFERENCE_TEXTS = [
    "I love this phone, the battery lasts all day!",
    "Worst customer service ever. Waited 2 hours and nobody answered.",
    "My order arrived broken and @AcmeSupport still hasn't replied to my emails.",
    "The company will publish its quarterly results on Thursday.",
    "The new store opens at 9am on Main Street.",
    "Apple announced a software update for the iPhone today.",
    "This is not bad at all.",
    "I don't like the new design.",
    "Not happy with the update, it keeps crashing.",
    "Thanks @AcmeAir for the upgrade, best flight ever 😍",
    "Flight delayed again 😡😡 #neveragain",
    "Great, another outage 🙄",
    "meh",
    "Check out our new blog post https://example.com/post?id=42",
    "Can't wait for the weekend :)",
    "My package is late :(",
    "Is the app down for anyone else?",
    "Absolutely fantastic support team, they fixed it in minutes. Thank you!",
    "The refund never came. I want my money back.",
    "It works.",
    "I'm cancelling my subscription, this is unacceptable.",
    "Quarterly revenue was flat compared with last year.",
    "Third cancelled flight this month 😭",
    "the new update 👎",
    "😍😍😍",
]


def load_sets():
    sets = {}
    for d in TEST_SETS:
        p = os.path.join(DATA_DIR, f"test_{d}.jsonl")
        if os.path.exists(p):
            sets[d] = read_jsonl(p)
    return sets


class OnnxModel:
    def __init__(self, path, tok, threads):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.tok = tok

    def logits(self, texts, bs=64):
        out = []
        for i in range(0, len(texts), bs):
            enc = self.tok(texts[i:i + bs], padding=True, truncation=True, max_length=MAX_LEN, return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out.append(self.sess.run(["logits"], feeds)[0])
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


class TorchModel:
    def __init__(self, path, tok):
        import torch
        from transformers import BertForSequenceClassification

        self.torch = torch
        self.model = BertForSequenceClassification.from_pretrained(path).eval()
        self.tok = tok

    def logits(self, texts, bs=64):
        out = []
        with self.torch.no_grad():
            for i in range(0, len(texts), bs):
                enc = self.tok(texts[i:i + bs], padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt")
                out.append(self.model(**enc).logits.numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


def vader_labels(texts):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    out = []
    for t in texts:
        c = sia.polarity_scores(t)["compound"]
        out.append(2 if c >= 0.05 else (0 if c <= -0.05 else 1))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=WEIGHTS_DIR)
    ap.add_argument("--results", default=os.path.join(HERE, "eval_results.json"))
    ap.add_argument("--reference", default=os.path.join(HERE, "reference_scores.jsonl"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-fp32", action="store_true")
    args = ap.parse_args()

    from transformers import BertTokenizerFast

    tok = BertTokenizerFast(tokenizer_file=os.path.join(args.weights, "tokenizer.json"))
    calib = json.load(open(os.path.join(args.weights, "calibration.json")))
    T = float(calib["temperature"])
    models = {}
    if not args.skip_fp32 and not os.path.exists(os.path.join(args.weights, "fp32", "model.safetensors")):
        print("note: no fp32 weights (weights/fp32/ is git-ignored: run train.py + export.py); evaluating int8 only")
        args.skip_fp32 = True
    if not args.skip_fp32:
        models["fp32_torch"] = TorchModel(os.path.join(args.weights, "fp32"), tok)
    models["int8_onnx"] = OnnxModel(os.path.join(args.weights, "model.onnx"), tok, args.threads)

    sets = load_sets()
    sets["all"] = [e for d in TEST_SETS for e in sets.get(d, [])]
    results = {"temperature": T, "weights": os.path.relpath(args.weights, HERE), "sets": {}}
    for name, exs in sets.items():
        texts = [e["text"] for e in exs]
        y = np.array([LABELS.index(e["label"]) for e in exs])
        res = {}
        for mname, m in models.items():
            t0 = time.time()
            lg = m.logits(texts)
            r = metrics(y, lg.argmax(1))
            r.update({"nll_calibrated": nll(lg, y, T), "ece_raw": ece(lg, y), "ece_calibrated": ece(lg, y, T),
                      "seconds": round(time.time() - t0, 2)})
            res[mname] = r
        res["vader"] = metrics(y, vader_labels(texts))
        results["sets"][name] = res
        print(f"== held-out {name} (n={len(exs)})")
        for mname, r in res.items():
            print(format_report(mname, r))
    with open(args.results, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    names = list(next(iter(results["sets"].values())).keys())
    print("\n| held-out set | n | " + " | ".join(f"{m} acc / macro-F1" for m in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for sname, res in results["sets"].items():
        print(f"| {sname} | {res[names[0]]['n']} | "
              + " | ".join(f"{res[m]['accuracy']:.3f} / {res[m]['macro_f1']:.3f}" for m in names) + " |")

    # reference scores for the Rust snapshot tests (int8 ONNX, calibrated)
    onnx_model = models["int8_onnx"]
    with open(args.reference, "w", encoding="utf-8") as f:
        for i, raw in enumerate(REFERENCE_TEXTS):
            text = normalize(raw)
            enc = tok(text, truncation=True, max_length=MAX_LEN)
            lg = onnx_model.logits([text])[0]
            p = softmax(lg.astype(np.float64) / T)
            f.write(json.dumps({
                "id": f"ref-{i + 1:02d}", "text": raw, "normalized": text, "input_ids": enc["input_ids"],
                "logits": [round(float(v), 6) for v in lg],
                "scores": {LABELS[k]: round(float(p[k]), 6) for k in range(len(LABELS))},
                "label": LABELS[int(p.argmax())], "score": round(float(p.max()), 6),
            }, ensure_ascii=False) + "\n")
    print(f"wrote {args.results} and {args.reference} (temperature {T})")


if __name__ == "__main__":
    sys.exit(main())
