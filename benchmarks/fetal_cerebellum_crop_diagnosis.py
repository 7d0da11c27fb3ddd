"""Where the posterior-fossa model's phantom validation -> hold-out drop comes from (issue #16): a model
folder scored on hold-out trans-cerebellar cases (seed 90016, as benchmarks/fetal_cerebellum_holdout.py)
with the head crop taken from the truth or predicted, at the phantom's full 432x576 render, a 216x288
render, and the 160x160 squashed plane-pool image (the old validation). Dice of cerebellum, cistern and
head at each image's own resolution.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_cerebellum_crop_diagnosis.py MODEL_DIR N_CASES
"""
import sys, time, numpy as np, cv2, torch
torch.set_num_threads(1)
from neocus.fetal.cerebellum import (load_cerebellum_model, predict_posterior_fossa, head_crop_matrix, class_map, CLASS_NAMES,
                                     _probabilities, _standardise)
from neocus.fetal.phantom_dataset import case_rng
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.vocab import FetalCondition, FetalPlane
COND = (FetalCondition.NORMAL, FetalCondition.CEREBELLAR_HYPOPLASIA, FetalCondition.MEGA_CISTERNA_MAGNA)
model = load_cerebellum_model(sys.argv[1]); n = int(sys.argv[2]); side = model.config.input_shape_hw[0]
def box(t):
    ys, xs = np.nonzero(t); return float(xs.min()), float(ys.min()), float(xs.max()-xs.min()+1), float(ys.max()-ys.min()+1)
def true_crop(img, tgt, aspect_x=1.0):
    m = head_crop_matrix(box(tgt > 0), out_side=side, aspect_x=aspect_x)
    crop = cv2.warpAffine(img.astype(np.float32)/255, m, (side, side), flags=cv2.INTER_AREA if m[0,0] < 1 else cv2.INTER_LINEAR)
    fine = _probabilities(model.network, _standardise(crop))
    h, w = img.shape
    prob = np.stack([cv2.warpAffine(fine[c], m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=1.0 if c == 0 else 0.0) for c in range(5)])
    return prob.argmax(0)
def dice(p, t, c):
    a, b = (p == c) if c else (p > 0), (t == c) if c else (t > 0)
    return 2*(a & b).sum()/max(a.sum()+b.sum(), 1)
res = {k: [] for k in ("full_pred", "full_true", "half_pred", "half_true", "pool_true")}
for i in range(n):
    cond, look = COND[i % 3], list(FetalLook)[(i // 3) % 3]
    for size, tag in (((432, 576), "full"), ((216, 288), "half")):
        rng = case_rng(90016, i)
        im = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=FetalPlane.TRANS_CEREBELLAR, condition=cond, look=look, out_size_hw=size, rng=rng)
        tgt = class_map(im.labels)
        _, cls = predict_posterior_fossa(im.image, model)
        res[tag + "_pred"].append([dice(cls, tgt, c) for c in (3, 4, 0)])
        res[tag + "_true"].append([dice(true_crop(im.image, tgt), tgt, c) for c in (3, 4, 0)])
        if tag == "half":
            pim = cv2.resize(im.image, (160, 160), interpolation=cv2.INTER_AREA); plab = cv2.resize(im.labels, (160, 160), interpolation=cv2.INTER_NEAREST)
            ptgt = class_map(plab)
            res["pool_true"].append([dice(true_crop(pim, ptgt, aspect_x=288/216), ptgt, c) for c in (3, 4, 0)])
    print(i, {k: np.round(v[-1], 2).tolist() for k, v in res.items()}, flush=True)
print("pipeline | cerebellum | cistern | head")
for k, v in res.items():
    a = np.mean(v, 0); print(f"{k} | {a[0]:.3f} | {a[1]:.3f} | {a[2]:.3f}")
