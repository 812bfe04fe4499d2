#!/usr/bin/env python3
"""Vocabulary trimming to the served languages (en/de/it/fr/es): which of the 250,002 XLM-R pieces to keep.

Kept: the special tokens; every piece that is one character (with or without the word-start mark), so every
character the full vocabulary knows is still known and any text still tokenises without new <unk>s; every piece
produced when tokenising
  - the Debian word lists wamerican, wngerman, witalian, wfrench, wspanish (/usr/share/dict/; each word as
    written, lower-cased and capitalised) — used only to choose ids, not shipped;
  - the recipe's training and validation texts (data/train.jsonl, data/validation.jsonl, data/seed/*.jsonl).
data/heldout/ and data/test_*.jsonl are not read: the vocabulary is not chosen on what it is evaluated on.
Writes work/vocab_keep.txt (one kept id per line, ascending); `export.py --trim-vocab work/vocab_keep.txt` cuts
the word embedding and rewrites tokenizer.json accordingly (the Unigram model keeps the pieces' scores, so a
text whose pieces are all kept is segmented exactly as before; other words fall back to shorter kept pieces).
"""
import argparse
import glob
import json
import os
import sys

from common import DATA_DIR, SEED_DIR, WORK_DIR, normalize, read_jsonl

WORD_LISTS = ["american-english", "ngerman", "italian", "french", "spanish"]


def keep_ids(tokenizer_json, dict_dir="/usr/share/dict"):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    tok.no_truncation()
    tok.no_padding()
    vocab = json.load(open(tokenizer_json))["model"]["vocab"]
    keep = {0, 1, 2, 3, len(vocab) - 1}  # <s> <pad> </s> <unk> ... <mask>
    for i, (piece, _) in enumerate(vocab):
        if len(piece.lstrip("\u2581")) <= 1:
            keep.add(i)
    stats = {"single_char": len(keep)}
    words = []
    for name in WORD_LISTS:
        path = os.path.join(dict_dir, name)
        if not os.path.exists(path):
            raise SystemExit(f"{path} missing: apt-get install wamerican wngerman witalian wfrench wspanish")
        with open(path, encoding="utf-8", errors="replace") as f:
            for w in f:
                w = w.strip()
                if w:
                    words += [w, w.lower(), w[:1].upper() + w[1:]]
    before = len(keep)
    for enc in tok.encode_batch(sorted(set(words)), add_special_tokens=False):
        keep.update(enc.ids)
    stats["word_lists"] = len(keep) - before
    texts = []
    for p in [os.path.join(DATA_DIR, "train.jsonl"), os.path.join(DATA_DIR, "validation.jsonl")] + sorted(
            glob.glob(os.path.join(SEED_DIR, "seed_*.jsonl"))):
        texts += [normalize(e["text"]) for e in read_jsonl(p)]
    before = len(keep)
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        keep.update(enc.ids)
    stats["training_texts"] = len(keep) - before
    stats["kept"] = len(keep)
    stats["of"] = len(vocab)
    return sorted(keep), stats


def trim_tokenizer_json(tokenizer_json_text, keep):
    """The tokenizer.json with only the kept pieces, renumbered in their original order."""
    t = json.loads(tokenizer_json_text)
    vocab = t["model"]["vocab"]
    new_id = {old: new for new, old in enumerate(keep)}
    t["model"]["vocab"] = [vocab[i] for i in keep]
    t["model"]["unk_id"] = new_id[t["model"]["unk_id"]]
    for a in t["added_tokens"]:
        a["id"] = new_id[a["id"]]
    for spec in (t.get("post_processor") or {}).get("special_tokens", {}).values():
        spec["ids"] = [new_id[i] for i in spec["ids"]]
    return json.dumps(t, ensure_ascii=False)


def trim_model_and_tokenizer(model, tok, keep):
    """Cuts the word embedding of a MeanPoolClassifier to the kept rows; returns the matching tokenizer."""
    import tempfile

    import torch

    from mlmodel import load_tokenizer

    emb = model.encoder.embeddings.word_embeddings
    new = torch.nn.Embedding(len(keep), emb.weight.shape[1], padding_idx=1)
    with torch.no_grad():
        new.weight.copy_(emb.weight[torch.tensor(keep)])
    model.encoder.embeddings.word_embeddings = new
    model.config.vocab_size = len(keep)
    model.encoder.config.vocab_size = len(keep)
    d = tempfile.mkdtemp()
    tok.backend_tokenizer.save(os.path.join(d, "full.json"))
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(trim_tokenizer_json(open(os.path.join(d, "full.json"), encoding="utf-8").read(), keep))
    return load_tokenizer(os.path.join(d, "tokenizer.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default=os.path.join(WORK_DIR, "base", "tokenizer.json"))
    ap.add_argument("--out", default=os.path.join(WORK_DIR, "vocab_keep.txt"))
    args = ap.parse_args()
    keep, stats = keep_ids(args.tokenizer)
    with open(args.out, "w") as f:
        f.write("\n".join(map(str, keep)) + "\n")
    print(json.dumps(stats), f"-> {args.out}")


if __name__ == "__main__":
    sys.exit(main())
