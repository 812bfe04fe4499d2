#!/usr/bin/env bash
# One command, end to end: setup -> prepare -> train -> export -> evaluate.
#   models/recipe/run_all.sh                      # real run (2 epochs, batch 32, lr 5e-5, tweets x3, soft labels 0.5; CPU or GPU)
#   SMOKE=1 models/recipe/run_all.sh              # pipeline check: 320 examples, 1 epoch, into work/smoke*
#   TRAIN_ARGS="--epochs 4 --soft-alpha 0.5" models/recipe/run_all.sh   # override training arguments
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

if [ "${SMOKE:-0}" = "1" ]; then
  $NICE "$PY" train.py --epochs 1 --max-train 320 --max-val 300 --out work/smoke 2>&1 | tee logs/train_smoke.log | sed -n '/^{\|^done\|^calib/p'
  $NICE "$PY" export.py --model work/smoke --out work/smoke_weights 2>&1 | tee logs/export_smoke.log | sed '/[Ww]arn/d' | tail -6
  $NICE "$PY" evaluate.py --weights work/smoke_weights --results work/smoke_eval.json --reference work/smoke_ref.jsonl 2>&1 \
    | tee logs/evaluate_smoke.log | sed '/[Ww]arn/d'
  exit 0
fi

# shellcheck disable=SC2086
$NICE "$PY" train.py ${TRAIN_ARGS:---epochs 2 --batch-size 32 --lr 5e-5 --tweets-oversample 3 --soft-alpha 0.5} --out work/model 2>&1 | tee logs/train.log \
  | sed -n '/^{\|^done\|^calib\|^train n/p'
$NICE "$PY" export.py --model work/model 2>&1 | tee logs/export.log | sed '/[Ww]arn/d'
$NICE "$PY" evaluate.py 2>&1 | tee logs/evaluate.log | sed '/[Ww]arn/d'
(cd ../weights && sha256sum -c SHA256SUMS)
