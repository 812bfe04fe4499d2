#!/usr/bin/env bash
# One command, end to end: setup -> prepare -> base model -> vocabulary -> train -> export -> evaluate.
#   models/recipe/run_all.sh             # real run (the shipped model's arguments, TRAIN_ARGS below; ~45 min on 2 CPU cores)
#   SMOKE=1 models/recipe/run_all.sh     # pipeline check: 640 examples, 1 epoch, into work/smoke*
#   TRAIN_ARGS="--epochs 2" models/recipe/run_all.sh   # override training arguments
# Output filters are sed (exit 0 whatever they match), so pipefail reports the Python step's failure.
# Everything runs under `nice -n 19` (set NICE= to disable); logs go to models/recipe/logs/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONHASHSEED=0
NICE="${NICE-nice -n 19}"
PY="$HERE/.venv/bin/python"
mkdir -p logs

$NICE ./setup.sh 2>&1 | tee logs/setup.log | tail -2
$NICE "$PY" prepare_data.py 2>&1 | tee logs/prepare_data.log | sed -n '/^test_\|^train\|^valid\|^dupl/p'
$NICE "$PY" convert_base.py --check 2>&1 | tee logs/convert_base.log | sed -n '/^cosine\|^wrote/p'
$NICE "$PY" vocab_trim.py 2>&1 | tee logs/vocab_trim.log | tail -1

if [ "${SMOKE:-0}" = "1" ]; then
  $NICE "$PY" train.py --epochs 1 --max-train 640 --max-val 300 --out work/smoke 2>&1 | tee logs/train_smoke.log | sed -n '/^{\|^done\|^calib/p'
  $NICE "$PY" export.py --model work/smoke --out work/smoke_weights --trim-vocab work/vocab_keep.txt 2>&1 \
    | tee logs/export_smoke.log | sed '/[Ww]arn/d' | tail -6
  $NICE "$PY" evaluate.py --weights work/smoke_weights --skip-fp32 --only heldout_de --results work/smoke_eval.json \
    --reference work/smoke_ref.jsonl --parity work/smoke_parity.jsonl 2>&1 | tee logs/evaluate_smoke.log | sed '/[Ww]arn/d'
  exit 0
fi

# shellcheck disable=SC2086
$NICE "$PY" train.py ${TRAIN_ARGS:---epochs 1 --lr 8e-5 --head-lr 2e-3 --tweets-oversample 1 --seed-oversample 2 \
  --english-max-per-domain amazon=1200,movie=400,nyt=400 --freeze-layers 4 --eval-every 80 --time-budget 2700} \
  --out work/model 2>&1 | tee logs/train.log | sed -n '/^{\|^done\|^calib\|^train n/p'
$NICE "$PY" export.py --model work/model --trim-vocab work/vocab_keep.txt 2>&1 | tee logs/export.log | sed '/[Ww]arn/d'
$NICE "$PY" evaluate.py --with-validation 2>&1 | tee logs/evaluate.log | sed '/[Ww]arn/d'
(cd ../weights && sha256sum -c SHA256SUMS)
