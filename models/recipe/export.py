#!/usr/bin/env python3
"""Exports a trained checkpoint (train.py output) to the files the service loads, in models/weights/:

  model.onnx        dynamic int8, per-channel (onnxruntime.quantization.quantize_dynamic), inputs input_ids,
                    attention_mask (int64, [batch, sequence]), output logits (float32, [batch, 3])
  config.json       XLMRobertaConfig of the encoder with id2label/label2id (negative, neutral, positive)
  tokenizer.json    Hugging Face tokenizers file (XLM-R Unigram; truncation 128, <pad> = 1)
  calibration.json  temperature T: calibrated probabilities = softmax(logits / T); label order; normalisation
  SHA256SUMS        sha256 of each of the above (`sha256sum -c SHA256SUMS` in models/weights/)
and the fp32 weights (git-ignored) in models/weights/fp32/: model.safetensors, config.json, model_fp32.onnx.

--trim-vocab FILE: keep only the token ids listed in FILE (vocab_trim.py output) — the word embedding is cut to
those rows and tokenizer.json is rewritten to the new ids (the Unigram model keeps the same pieces and scores, so
segmentation is unchanged for every text whose pieces are all kept).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np

from common import DATA_DIR, LABELS, MAX_LEN, WEIGHTS_DIR, WORK_DIR, metrics, normalize, read_jsonl

import torch  # noqa: E402

from mlmodel import MeanPoolClassifier, encode, load_tokenizer  # noqa: E402

KEEP_FP32 = []

PUBLISHED = ["model.onnx", "config.json", "tokenizer.json", "calibration.json"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(WORK_DIR, "model"))
    ap.add_argument("--out", default=WEIGHTS_DIR)
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--per-tensor", action="store_true", help="per-tensor instead of per-channel (not recommended)")
    ap.add_argument("--keep-fp32", default=",".join(KEEP_FP32),
                    help="comma-separated MatMul nodes left in fp32 (default: none)")
    ap.add_argument("--trim-vocab", default="", help="file of token ids to keep (vocab_trim.py); default: full vocabulary")
    args = ap.parse_args()

    from onnxruntime.quantization import QuantType, quantize_dynamic
    import onnx
    import onnxruntime as ort

    ap_trim = args.trim_vocab
    fp32_dir = os.path.join(args.out, "fp32")
    os.makedirs(fp32_dir, exist_ok=True)
    model = MeanPoolClassifier.load(args.model, attn_implementation="eager")
    tok = load_tokenizer(args.model)
    if ap_trim:
        from vocab_trim import trim_model_and_tokenizer

        keep_ids = [int(l) for l in open(ap_trim) if l.strip()]
        tok = trim_model_and_tokenizer(model, tok, keep_ids)
    model.eval()

    # fp32 weights (git-ignored): safetensors + the fp32 ONNX graph
    model.save(fp32_dir)
    fp32_onnx = os.path.join(fp32_dir, "model_fp32.onnx")
    ids = encode(tok, ["a short example", "und ein etwas längerer zweiter Beispielsatz"])
    m = max(len(x) for x in ids)
    ii = torch.tensor([x + [1] * (m - len(x)) for x in ids])
    am = torch.tensor([[1] * len(x) + [0] * (m - len(x)) for x in ids])
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(LogitsOnly(model).eval(), (ii, am), fp32_onnx, opset_version=args.opset,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
                          do_constant_folding=True)
    onnx.checker.check_model(fp32_onnx)
    model.eval()

    int8_onnx = os.path.join(args.out, "model.onnx")
    keep = [n for n in args.keep_fp32.split(",") if n]
    names = {n.name for n in onnx.load(fp32_onnx).graph.node}
    missing = [n for n in keep if n not in names]
    if missing:
        raise SystemExit(f"--keep-fp32: no such nodes in the exported graph: {missing}")
    quantize_dynamic(fp32_onnx, int8_onnx, per_channel=not args.per_tensor, weight_type=QuantType.QInt8,
                     nodes_to_exclude=keep, extra_options={"MatMulConstBOnly": True})
    onnx.checker.check_model(int8_onnx)

    model.config._name_or_path = "earshot-sentiment (multilingual-e5-small fine-tuned by models/recipe)"
    model.config.to_json_file(os.path.join(args.out, "config.json"))
    tok.backend_tokenizer.no_padding()
    tok.backend_tokenizer.enable_truncation(max_length=MAX_LEN)
    tok.backend_tokenizer.save(os.path.join(args.out, "tokenizer.json"))
    tok.backend_tokenizer.save(os.path.join(fp32_dir, "tokenizer.json"))
    for stale in ("vocab.txt", "emoji.tsv"):
        if os.path.exists(os.path.join(args.out, stale)):
            os.remove(os.path.join(args.out, stale))
    with open(os.path.join(args.model, "calibration.json")) as f:
        calib = json.load(f)
    calib["normalisation"] = [
        "remove zero-width characters U+200B U+200C U+200D U+2060 U+FEFF",
        "(?i)(?:https?://|www\\.)\\S+ -> http",
        "(^|[^\\w@])@\\w+ -> <prefix>@user",
        "runs of whitespace -> one space, strip",
    ]
    calib["tokenizer"] = {"file": "tokenizer.json", "kind": "XLM-R SentencePiece Unigram (Hugging Face tokenizers)",
                          "max_length": MAX_LEN, "special_tokens": "<s>=0 text </s>=2", "pad_id": 1,
                          "vocab_size": tok.backend_tokenizer.get_vocab_size(),
                          "trimmed": bool(ap_trim)}
    calib["onnx"] = {"inputs": ["input_ids", "attention_mask"], "output": "logits",
                     "quantisation": "dynamic int8 (QInt8 weights, " + ("per-tensor" if args.per_tensor else "per-channel")
                     + "), onnxruntime " + ort.__version__, "opset": args.opset,
                     "fp32_nodes": keep}
    with open(os.path.join(args.out, "calibration.json"), "w") as f:
        json.dump(calib, f, indent=2)
        f.write("\n")
    shutil.copyfile(os.path.join(args.out, "calibration.json"), os.path.join(fp32_dir, "calibration.json"))

    # sanity: ONNX fp32 == PyTorch, int8 close, on the validation set
    from common import seed_split

    val = read_jsonl(os.path.join(DATA_DIR, "validation.jsonl"))[:192]
    for lang in ("de", "it", "fr", "es"):
        val += seed_split(lang)[1][:16]
    texts = [normalize(e["text"]) for e in val]
    ids = encode(tok, texts)
    m = max(len(x) for x in ids)
    feeds = {"input_ids": np.array([x + [1] * (m - len(x)) for x in ids], dtype=np.int64),
             "attention_mask": np.array([[1] * len(x) + [0] * (m - len(x)) for x in ids], dtype=np.int64)}
    with torch.no_grad():
        pt = model(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])).numpy()
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    f32 = ort.InferenceSession(fp32_onnx, so, providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0]
    i8 = ort.InferenceSession(int8_onnx, so, providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0]
    y = np.array([LABELS.index(e["label"]) for e in val])
    report = {
        "max_abs_diff_onnx_fp32_vs_torch": float(np.abs(f32 - pt).max()),
        "max_abs_diff_onnx_int8_vs_torch": float(np.abs(i8 - pt).max()),
        "label_agreement_int8_vs_torch": float((i8.argmax(1) == pt.argmax(1)).mean()),
        "val_sample_acc_torch": metrics(y, pt.argmax(1))["accuracy"],
        "val_sample_acc_int8": metrics(y, i8.argmax(1))["accuracy"],
        "size_bytes": {"model.onnx": os.path.getsize(int8_onnx), "fp32/model_fp32.onnx": os.path.getsize(fp32_onnx),
                       "fp32/model.safetensors": os.path.getsize(os.path.join(fp32_dir, "model.safetensors"))},
    }
    print(json.dumps(report, indent=2))
    if report["max_abs_diff_onnx_fp32_vs_torch"] > 1e-3:
        raise SystemExit("ONNX fp32 export does not match PyTorch")

    sums = [f"{sha256_file(os.path.join(args.out, n))}  {n}" for n in PUBLISHED]
    with open(os.path.join(args.out, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sums) + "\n")
    fp32_sums = [f"{sha256_file(os.path.join(fp32_dir, n))}  {n}"
                 for n in ("model.safetensors", "config.json", "model_fp32.onnx", "tokenizer.json", "calibration.json")]
    with open(os.path.join(fp32_dir, "SHA256SUMS"), "w") as f:
        f.write("\n".join(fp32_sums) + "\n")
    print("\n".join(sums))


if __name__ == "__main__":
    sys.exit(main())
