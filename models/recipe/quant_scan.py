#!/usr/bin/env python3
"""Quantisation sensitivity scan on VALIDATION data only: quantises the fp32 ONNX graph (export.py's
weights/fp32/model_fp32.onnx) with different sets of MatMuls left in fp32 and reports, against the fp32 graph,
the largest |logit difference|, label agreement and validation accuracy / macro-F1 (English validation tweets
+ every language's seed validation). Used to choose export.py's --keep-fp32 (model card, "Export")."""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from common import DATA_DIR, LABELS, LANGS, WEIGHTS_DIR, metrics, normalize, read_jsonl, seed_split

VARIANTS = {
    "all int8": [],
    "word embedding fp32": ["/model/encoder/embeddings/word_embeddings/Gather"],
    "every FFN output fp32": [f"/model/encoder/encoder/layer.{l}/output/dense/MatMul" for l in range(12)],
    "FFN outputs 0-5 fp32": [f"/model/encoder/encoder/layer.{l}/output/dense/MatMul" for l in range(6)],
    "FFN outputs 6-11 fp32": [f"/model/encoder/encoder/layer.{l}/output/dense/MatMul" for l in range(6, 12)],
    "every FFN (in+out) fp32": [f"/model/encoder/encoder/layer.{l}/{k}/dense/MatMul" for l in range(12)
                                for k in ("output", "intermediate")],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default=WEIGHTS_DIR)
    ap.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    args = ap.parse_args()
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from mlmodel import encode, load_tokenizer

    tok = load_tokenizer(os.path.join(args.weights, "tokenizer.json"))
    val = [e for e in read_jsonl(os.path.join(DATA_DIR, "validation.jsonl")) if e["domain"] == "tweets"]
    for lang in LANGS:
        val += seed_split(lang)[1]
    texts = [normalize(e["text"]) for e in val]
    y = np.array([LABELS.index(e["label"]) for e in val])
    ids = encode(tok, texts)
    batches = []
    for i in range(0, len(ids), 32):
        chunk = ids[i:i + 32]
        m = max(len(x) for x in chunk)
        batches.append({"input_ids": np.array([x + [1] * (m - len(x)) for x in chunk], dtype=np.int64),
                        "attention_mask": np.array([[1] * len(x) + [0] * (m - len(x)) for x in chunk], dtype=np.int64)})

    def run(path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        t = time.time()
        out = np.concatenate([s.run(["logits"], b)[0] for b in batches])
        return out, len(ids) / (time.time() - t)

    fp32 = os.path.join(args.weights, "fp32", "model_fp32.onnx")
    ref, ref_speed = run(fp32)
    m = metrics(y, ref.argmax(1))
    print(json.dumps({"variant": "fp32 graph", "acc": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
                      "texts_per_s": round(ref_speed, 1)}), flush=True)
    tmp = tempfile.mkdtemp()
    names = [v for v in VARIANTS if not args.variants or v in args.variants.split(",")]
    for name in names:
        out = os.path.join(tmp, "q.onnx")
        quantize_dynamic(fp32, out, per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=VARIANTS[name],
                         extra_options={"MatMulConstBOnly": True})
        lg, speed = run(out)
        m = metrics(y, lg.argmax(1))
        print(json.dumps({"variant": name, "max_abs_dlogit": round(float(np.abs(lg - ref).max()), 3),
                          "agreement": round(float((lg.argmax(1) == ref.argmax(1)).mean()), 4),
                          "acc": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4),
                          "texts_per_s": round(speed, 1), "size_mb": round(os.path.getsize(out) / 1e6, 1)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
