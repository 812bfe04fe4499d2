#!/usr/bin/env python3
"""Evaluates, on every held-out set and on the English test sets:
  data/heldout/sentiment_{de,it,fr,es}.jsonl   hand-written, hand-labelled posts (never trained or tuned on)
  data/heldout/sentiment_en_brands.jsonl        hand-written English brand posts (another source than training)
  data/test_{tweets,movie,amazon,nyt}.jsonl     the English test splits of prepare_data.py
the models
  fp32_torch   the fp32 PyTorch model (models/weights/fp32/, git-ignored: present after export.py)
  int8_onnx    the shipped int8 ONNX model (models/weights/model.onnx) through onnxruntime
  english_only (--english-model DIR) the previous English-only int8 model (MiniLM), on the English sets only
  vader        vaderSentiment 3.3.2 (compound >= 0.05 positive, <= -0.05 negative, else neutral) — an English
               lexicon, reported on every set (on the other languages it shows what an English lexicon gets)
printing accuracy, macro-F1, per-class recall and the confusion matrix, and writing eval_results.json.

Also writes reference_scores.jsonl: for fixed multilingual texts, the normalised text, the token ids, the int8
model's raw logits and calibrated probabilities softmax(logits / T) (snapshot fixtures for the Rust path), and
tokenizer_parity.jsonl: token ids of the Python tokenizer for texts in every served language (Rust parity test).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from common import (DATA_DIR, HELDOUT_DIR, HERE, LABELS, TEST_SETS, WEIGHTS_DIR, ece, format_report, metrics, nll,
                    normalize, read_jsonl, softmax)

REFERENCE_TEXTS = [
    "I love this phone, the battery lasts all day!",
    "Worst customer service ever. Waited 2 hours and nobody answered.",
    "My order arrived broken and @AcmeSupport still hasn't replied to my emails.",
    "The company will publish its quarterly results on Thursday.",
    "Not happy with the update, it keeps crashing.",
    "Thanks @AcmeAir for the upgrade, best flight ever 😍",
    "Great, another outage 🙄",
    "Check out our new blog post https://example.com/post?id=42",
    "Der Kundenservice ist eine Katastrophe, seit zwei Wochen keine Antwort. Nie wieder!",
    "Vielen Dank @DB_Bahn, der Zug war pünktlich und super sauber 👍",
    "Die neue Filiale öffnet am Montag um 9 Uhr.",
    "Nicht schlecht, das neue Update läuft echt flüssig.",
    "Il servizio clienti è pessimo, aspetto il rimborso da un mese 😡",
    "Adoro il nuovo menu, tutto buonissimo! Grazie @BarCentrale",
    "Il negozio resterà chiuso per inventario fino a lunedì.",
    "Le colis est arrivé cassé et personne ne répond au téléphone. Inadmissible.",
    "Merci @SNCF, trajet parfait et personnel très aimable ❤️",
    "La nouvelle boutique ouvre ses portes samedi à 10h.",
    "Pésimo servicio, llevo tres semanas esperando mi pedido y nadie contesta.",
    "¡Me encanta la nueva app de @Iberia, súper fácil de usar!",
    "La tienda abre a las nueve de la mañana.",
    "Zero\u200bwidth  and\ttabs   www.example.org/x are normalised",
]

# Texts for the tokenizer parity fixture: every served language, accents, emoji, handles, long text (truncation).
PARITY_TEXTS = REFERENCE_TEXTS + [
    "Ärgerlich: Übergrößen-Paket für 4,99 € – „zugestellt“ aber nie angekommen. #DHL",
    "Straße, Größe, Fußgängerzone; ÄÖÜ äöü ß",
    "Perché è così difficile parlare con un operatore? Già la terza volta…",
    "Ça marche pas, l'appli plante à chaque mise à jour 😤😤",
    "Œuvre, cœur, naïve, déjà-vu, façade",
    "¿Alguien sabe si el envío a Canarias tarda más? Gracias 🙏",
    "Añadí tres artículos y el carrito está vacío. Vaya tela…",
    "mixed: the app is great aber der Support ist langsam",
    "😍😍😍",
    "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ and ligatures ﬁ ﬂ",
    " ".join(["sehr lange Nachricht"] * 80),
]


def validation_sets():
    """The validation data the decisions are taken on (train.py selects checkpoints on it as well)."""
    from common import LANGS, seed_split

    val = read_jsonl(os.path.join(DATA_DIR, "validation.jsonl"))
    sets = {"val_english_tweets": [e for e in val if e["domain"] == "tweets"]}
    for lang in LANGS:
        sets[f"val_seed_{lang}"] = seed_split(lang)[1]
    return sets


def heldout_sets():
    sets = {}
    for lang in ["de", "it", "fr", "es", "en_brands"]:
        p = os.path.join(HELDOUT_DIR, f"sentiment_{lang}.jsonl")
        if os.path.exists(p):
            sets[f"heldout_{lang}"] = read_jsonl(p)
    for d in TEST_SETS:
        p = os.path.join(DATA_DIR, f"test_{d}.jsonl")
        if os.path.exists(p):
            sets[f"test_{d}"] = read_jsonl(p)
    return sets


def pad(ids):
    m = max(len(x) for x in ids)
    return (np.array([x + [1] * (m - len(x)) for x in ids], dtype=np.int64),
            np.array([[1] * len(x) + [0] * (m - len(x)) for x in ids], dtype=np.int64))


class OnnxModel:
    def __init__(self, path, tok, threads):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.tok = tok

    def logits(self, texts, bs=32):
        from mlmodel import encode

        out = []
        for i in range(0, len(texts), bs):
            ii, am = pad(encode(self.tok, [normalize(t) for t in texts[i:i + bs]]))
            out.append(self.sess.run(["logits"], {"input_ids": ii, "attention_mask": am})[0])
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


class TorchModel:
    def __init__(self, path, tok):
        import torch

        from mlmodel import MeanPoolClassifier

        self.torch = torch
        self.model = MeanPoolClassifier.load(path)
        self.tok = tok

    def logits(self, texts, bs=32):
        from mlmodel import encode

        out = []
        with self.torch.no_grad():
            for i in range(0, len(texts), bs):
                ii, am = pad(encode(self.tok, [normalize(t) for t in texts[i:i + bs]]))
                out.append(self.model(self.torch.from_numpy(ii), self.torch.from_numpy(am)).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


class EnglishOnlyModel:
    """The previous English-only model (MiniLM WordPiece, emoji -> names), for the one-model-or-two decision."""

    def __init__(self, weights, threads):
        import onnxruntime as ort
        from transformers import BertTokenizerFast

        from prepare_data import emoji_names
        from prepare_data import normalize as english_normalize

        emoji_names(os.path.join(weights, "emoji.tsv"))
        self.norm = english_normalize
        self.tok = BertTokenizerFast(tokenizer_file=os.path.join(weights, "tokenizer.json"))
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(os.path.join(weights, "model.onnx"), so, providers=["CPUExecutionProvider"])

    def logits(self, texts, bs=32):
        out = []
        for i in range(0, len(texts), bs):
            enc = self.tok([self.norm(t) for t in texts[i:i + bs]], padding=True, truncation=True, max_length=128,
                           return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out.append(self.sess.run(["logits"], feeds)[0])
        return np.concatenate(out)


def vader_labels(texts):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    out = []
    for t in texts:
        c = sia.polarity_scores(normalize(t))["compound"]
        out.append(2 if c >= 0.05 else (0 if c <= -0.05 else 1))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=WEIGHTS_DIR)
    ap.add_argument("--results", default=os.path.join(HERE, "eval_results.json"))
    ap.add_argument("--reference", default=os.path.join(HERE, "reference_scores.jsonl"))
    ap.add_argument("--parity", default=os.path.join(HERE, "tokenizer_parity.jsonl"))
    ap.add_argument("--english-model", default="", help="weights folder of the previous English-only model")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-fp32", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated set names (default: all)")
    ap.add_argument("--fp32-on", default="heldout_,val_seed_,val_english_tweets",
                    help="comma-separated set-name prefixes the (slow) fp32 PyTorch model is run on; int8 runs on all")
    ap.add_argument("--with-validation", action="store_true",
                    help="also score the validation sets (English validation, each language's seed validation)")
    args = ap.parse_args()

    from mlmodel import encode, load_tokenizer

    tok = load_tokenizer(os.path.join(args.weights, "tokenizer.json"))
    calib = json.load(open(os.path.join(args.weights, "calibration.json")))
    T = float(calib["temperature"])
    models = {}
    if not args.skip_fp32 and not os.path.exists(os.path.join(args.weights, "fp32", "model.safetensors")):
        print("note: no fp32 weights (weights/fp32/ is git-ignored: run train.py + export.py); evaluating int8 only")
        args.skip_fp32 = True
    if not args.skip_fp32:
        models["fp32_torch"] = TorchModel(os.path.join(args.weights, "fp32"), tok)
    models["int8_onnx"] = OnnxModel(os.path.join(args.weights, "model.onnx"), tok, args.threads)
    english = EnglishOnlyModel(args.english_model, args.threads) if args.english_model else None

    sets = {**(validation_sets() if args.with_validation else {}), **heldout_sets()}
    if args.only:
        sets = {k: v for k, v in sets.items() if k in args.only.split(",")}
    results = {"temperature": T, "weights": os.path.relpath(args.weights, HERE), "sets": {}}
    for name, exs in sets.items():
        texts = [e["text"] for e in exs]
        y = np.array([LABELS.index(e["label"]) for e in exs])
        res = {}
        for mname, m in models.items():
            if mname == "fp32_torch" and not any(name.startswith(p) for p in args.fp32_on.split(",") if p):
                continue
            t0 = time.time()
            lg = m.logits(texts)
            r = metrics(y, lg.argmax(1))
            r.update({"nll_calibrated": nll(lg, y, T), "ece_raw": ece(lg, y), "ece_calibrated": ece(lg, y, T),
                      "seconds": round(time.time() - t0, 2)})
            res[mname] = r
        if english is not None and (name.startswith("test_") or name.endswith("en_brands") or name.startswith("val_english")
                                    or name == "val_seed_en"):
            res["english_only"] = metrics(y, english.logits(texts).argmax(1))
        res["vader"] = metrics(y, vader_labels(texts))
        results["sets"][name] = res
        print(f"== {name} (n={len(exs)})", flush=True)
        for mname, r in res.items():
            print(format_report(mname, r), flush=True)
        with open(args.results, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    names = ["fp32_torch", "int8_onnx", "english_only", "vader"]
    print("\n| set | n | " + " | ".join(f"{m} acc / macro-F1" for m in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for sname, res in results["sets"].items():
        n = next(iter(res.values()))["n"]
        print(f"| {sname} | {n} | " + " | ".join(
            f"{res[m]['accuracy']:.3f} / {res[m]['macro_f1']:.3f}" if m in res else "–" for m in names) + " |")

    # reference scores for the Rust snapshot tests (int8 ONNX, calibrated, one text at a time)
    onnx_model = models["int8_onnx"]
    with open(args.reference, "w", encoding="utf-8") as f:
        for i, raw in enumerate(REFERENCE_TEXTS):
            text = normalize(raw)
            lg = onnx_model.logits([raw])[0]
            p = softmax(lg.astype(np.float64) / T)
            f.write(json.dumps({
                "id": f"ref-{i + 1:02d}", "text": raw, "normalized": text, "input_ids": encode(tok, [text])[0],
                "logits": [round(float(v), 6) for v in lg],
                "scores": {LABELS[k]: round(float(p[k]), 6) for k in range(len(LABELS))},
                "label": LABELS[int(p.argmax())], "score": round(float(p.max()), 6),
            }, ensure_ascii=False) + "\n")
    with open(args.parity, "w", encoding="utf-8") as f:
        for raw in PARITY_TEXTS:
            text = normalize(raw)
            f.write(json.dumps({"text": raw, "normalized": text, "input_ids": encode(tok, [text])[0]},
                               ensure_ascii=False) + "\n")
    print(f"wrote {args.results}, {args.reference} and {args.parity} (temperature {T})")


if __name__ == "__main__":
    sys.exit(main())
