#!/usr/bin/env bash
# Ingest until searchable of a multilingual corpus (the seed posts of models/recipe/data/seed, repeated
# with fresh ids), on a fresh server without the sentiment model:
#   scripts/bench-language-id.sh detect [N]   mentions arrive without a language: identified at ingest
#   scripts/bench-language-id.sh given  [N]   the same mentions with their language: nothing to identify
# Time the two side by side (e.g. alternating runs under /usr/bin/time) and compare.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?detect or given}
n=${2:-20000}
bin=${EARSHOT_BIN:-target/debug/earshot}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
python3 - "$mode" "$n" > "$dir/corpus.jsonl" <<'PY'
import glob, json, sys
mode, n = sys.argv[1], int(sys.argv[2])
posts = [json.loads(l) for f in sorted(glob.glob("models/recipe/data/seed/seed_*.jsonl")) for l in open(f)]
for i in range(n):
    p = posts[i % len(posts)]
    m = {"id": f"b{i}", "text": p["text"], "created_at": 1_764_000_000 + i}
    if mode == "given":
        m["language"] = p["lang"]
    print(json.dumps(m, ensure_ascii=False))
PY
"$bin" serve --listen 127.0.0.1:0 --data-dir "$dir/data" --no-classifier --http-listen off --metrics-listen off \
  > "$dir/serve.out" 2> "$dir/serve.err" &
pid=$!
until grep -q "earshot listening on" "$dir/serve.out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.err"; exit 1; }
  sleep 0.05
done
addr=$(sed -n 's/^earshot listening on //p' "$dir/serve.out")
"$bin" import "$dir/corpus.jsonl" --server "http://$addr" --wait --no-progress > /dev/null
