#!/usr/bin/env bash
# Train, calibrate, evaluate and ablate the default diagnosis model on one CUDA GPU (issue #11).
#
#   scripts/train_diagnosis_gpu.sh OUT_DIR [BACKBONE_WEIGHTS.pth]
#
# Phantom training cases use seeds 0..N-1; held-out test cases use seeds from 1,000,000 on, never
# seen in training. Nothing is downloaded: ImageNet ConvNeXt weights (timm state dict) are optional
# and come from a local file. Sizes below were chosen for a machine with one large GPU and 16 CPU
# cores (phantom rendering runs on the CPU cores: ~1 s of CPU per case with 2 neighbours per view).
# Expected cost (not measured on a GPU yet): rendering 2000 + 3x300 cases ~ 5 min on 16 cores;
# 5 folds x 30 epochs x 1600 cases of 6 views at 128 px with RegMixup ~ 1.5 M image passes.
set -euo pipefail
OUT=${1:?usage: $0 OUT_DIR [BACKBONE_WEIGHTS.pth]}
WEIGHTS=${2:-}
N_TRAIN=${N_TRAIN:-2000}
N_TEST=${N_TEST:-300}
SIZE=${SIZE:-128}
EPOCHS=${EPOCHS:-30}
BACKBONE=${BACKBONE:-atto}
WORKERS=${WORKERS:-14}
NEOCUS="python -c 'import sys; from neocus.cli import main; sys.exit(main())'"
mkdir -p "$OUT/cache"
extra=()
[ -n "$WEIGHTS" ] && extra+=(--backbone-weights "$WEIGHTS")

# 1. five-fold CV on internal phantom stills (+ jittered neighbours drawn on the fly), temperature calibration on OOF
eval $NEOCUS train diagnosis --phantom internal --cases "$N_TRAIN" --neighbours 2 --phantom-seed 0 \
  --cache "$OUT/cache/train_internal.pkl" --workers "$WORKERS" --folds 5 --epochs "$EPOCHS" --batch-size 32 --lr 1e-3 \
  --backbone "$BACKBONE" --image-size "$SIZE" --regmixup-alpha 10 --calibration temperature --tta flip \
  --seed 0 --device cuda --out "$OUT/model" "${extra[@]}"

# 2. the same with the metadata token (does GA / age / birth weight help?)
eval $NEOCUS train diagnosis --phantom internal --cases "$N_TRAIN" --cache "$OUT/cache/train_internal.pkl" \
  --folds 5 --epochs "$EPOCHS" --batch-size 32 --backbone "$BACKBONE" --image-size "$SIZE" --metadata \
  --seed 0 --device cuda --out "$OUT/model_metadata" "${extra[@]}"

# 3. binary-only baseline for the ablation: no multi-label image loss
eval $NEOCUS train diagnosis --phantom internal --cases "$N_TRAIN" --cache "$OUT/cache/train_internal.pkl" \
  --folds 5 --only-fold 0 --epochs "$EPOCHS" --batch-size 32 --backbone "$BACKBONE" --image-size "$SIZE" \
  --image-loss-weight 0 --seed 0 --device cuda --out "$OUT/model_binary_only" "${extra[@]}"

# 4. held-out evaluation on internal, external and blind stills
for preset in internal external blind; do
  for model in model model_metadata; do
    eval $NEOCUS evaluate diagnosis --model "$OUT/$model" --phantom "$preset" --cases "$N_TEST" --phantom-seed 1000000 \
      --cache "$OUT/cache/test_$preset.pkl" --workers "$WORKERS" --out "$OUT/eval_${model}_$preset"
  done
done

# 5. ablation (Supplementary Table 15 style) and inference speed
python -m neocus.diagnose.ablation "$OUT/model" "$OUT"/cache/test_{internal,external,blind}.pkl \
  --baseline "$OUT/model_binary_only" --out "$OUT/ablation.md"
python benchmarks/bench_diagnose.py --model "$OUT/model" --threads 2 --cases 10 | tee "$OUT/bench_cpu.txt"
