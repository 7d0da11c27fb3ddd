"""Class activation maps of the diagnosis model's image head: Grad-CAM and Finer-CAM, overlays, and
the lesion hit rate (is the map's peak inside the lesion?).

* Grad-CAM (Selvaraju et al. 2017): ReLU of the feature maps weighted by the spatially averaged
  gradient of the target logit.
* Finer-CAM (Zhang et al., CVPR 2025): the same on the target logit *minus* the logits of the classes
  most similar to it (cosine similarity of the image head's weight rows), so the map shows what tells
  the target apart from its look-alikes (e.g. hydrocephalus vs ventricular dilation) rather than what
  they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
import torch

from neocus.atomic import atomic_target
from neocus.diagnose.config import FINDINGS
from neocus.diagnose.data import CaseExample, ViewImage, collate
from neocus.diagnose.model import DiagnosisNet
from neocus.errors import parse_choice
from neocus.results import AsDict
from neocus.vocab import ABNORMAL_FINDINGS, Finding, View


class CamMethod(StrEnum):
    GRAD_CAM = "grad-cam"
    FINER_CAM = "finer-cam"


def similar_findings(model: DiagnosisNet, target: Finding, *, k: int = 2) -> tuple[Finding, ...]:
    """The ``k`` findings whose image-head weight rows are most similar (cosine) to the target's."""
    w = torch.nn.functional.normalize(model.image_head.weight.detach(), dim=1)
    t = FINDINGS.index(target)
    sims = (w @ w[t]).tolist()
    order = sorted((i for i in range(len(FINDINGS)) if i != t), key=lambda i: -sims[i])
    return tuple(FINDINGS[i] for i in order[:k])


@dataclass(frozen=True, eq=False)
class ViewHeatmap:
    view: View
    target: Finding
    method: CamMethod
    contrast: tuple[Finding, ...]  # Finer-CAM: the classes subtracted
    heatmap: np.ndarray  # float32 [H, W] in [0, 1]

    @property
    def peak_xy(self) -> tuple[int, int]:
        return heatmap_peak(self.heatmap)


def heatmap_peak(heatmap: np.ndarray, *, tol: float = 1e-4) -> tuple[int, int]:
    """(x, y) of the heatmap's peak: the pixel of the maximal plateau (values within ``tol`` of the
    maximum) nearest to the plateau's centroid. An upsampled coarse map is flat over half a cell at the
    image border, so a plain argmax (the plateau's first pixel) would put the peak on the edge."""
    ys, xs = np.nonzero(heatmap >= float(heatmap.max()) - tol)
    k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    return int(xs[k]), int(ys[k])


CAM_STAGE = 0
"""Backbone stage the maps are taken from by default: stage 1 of 4 (stride 4, 24 x 24 cells at a 96-pixel
input). Chosen on fold 0's validation cases of the CPU model (docs/diagnosis.md, "Heatmaps"): the peak
fell in the lesion in 6 / 21 severe cases there with Grad-CAM (Finer-CAM 5), 3 at stage 2 (stride 8),
1 at stage 3 (stride 16) and 0 at the last stage; deeper maps of that model peak outside the head."""


def case_heatmaps(
    model: DiagnosisNet, views: dict[View, ViewImage], *, method: CamMethod | str = CamMethod.FINER_CAM,
    target: Finding | None = None, n_similar: int = 2, alpha: float = 1.0, stage: int = CAM_STAGE,
) -> dict[View, ViewHeatmap]:
    """One heatmap per view for ``target`` (None: each view's most probable abnormal finding), from the
    output of backbone stage ``stage`` (0-3; -1 the last)."""
    method = parse_choice(CamMethod, method, what="heatmap method")
    model.eval()
    batch = collate([views], None).to(next(model.parameters()).device)
    captured: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        captured.append(output)  # requires grad: the input images do

    handle = model.backbone.stages[stage].register_forward_hook(keep)
    try:
        with torch.enable_grad():
            out = model(batch.images.requires_grad_(True), batch.views, batch.present, batch.metadata)
    finally:
        handle.remove()
    maps = captured[0]
    logits = out.image_logits[0]
    result = {}
    for j, view in enumerate(batch.slot_views[0]):
        if target is not None:
            tgt = Finding(target)
        else:
            abn = [FINDINGS.index(f) for f in ABNORMAL_FINDINGS]
            tgt = FINDINGS[abn[int(torch.argmax(logits[j, abn]))]]
        score = logits[j, FINDINGS.index(tgt)]
        contrast: tuple[Finding, ...] = ()
        if method is CamMethod.FINER_CAM:
            contrast = similar_findings(model, tgt, k=n_similar)
            score = score - alpha * torch.stack([logits[j, FINDINGS.index(c)] for c in contrast]).mean()
        (grad,) = torch.autograd.grad(score, maps, retain_graph=True)
        a, g = maps[j].detach(), grad[j]
        cam = torch.relu((g.mean(dim=(1, 2), keepdim=True) * a).sum(0)).cpu().numpy()
        h, w = views[view].image.shape
        cam = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
        cam = cam / cam.max() if cam.max() > 0 else cam
        result[view] = ViewHeatmap(view, tgt, method, contrast, cam.astype(np.float32))
    return result


def overlay(image: np.ndarray, heatmap: np.ndarray, *, weight: float = 0.45) -> np.ndarray:
    """BGR uint8 picture: the grey image with the heatmap in colour (JET) and its peak marked."""
    grey = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    colour = cv2.applyColorMap(np.clip(heatmap * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    pic = cv2.addWeighted(grey, 1.0 - weight, colour, weight, 0.0)
    x, y = heatmap_peak(heatmap)
    cv2.drawMarker(pic, (int(x), int(y)), (255, 255, 255), cv2.MARKER_CROSS, max(6, image.shape[0] // 16), 1)
    return pic


def write_overlay(path: str | Path, image: np.ndarray, heatmap: np.ndarray) -> Path:
    path = Path(path)
    ok, data = cv2.imencode(".png", overlay(image, heatmap))
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError("PNG encoding failed")
    with atomic_target(path, make_parents=True) as tmp:
        tmp.write_bytes(data.tobytes())
    return path


@dataclass(frozen=True)
class HitRate(AsDict):
    hits: int
    cases: int
    rate: float | None


def case_hit(heatmaps: dict[View, ViewHeatmap], views: dict[View, ViewImage], image_severity: dict[View, float]) -> bool | None:
    """Whether the peak of the heatmap of the case's most suspicious view (highest ``image_severity``
    among views with a target mask) falls inside its mask; None when no view has a lesion mask."""
    candidates = [v for v in heatmaps if views[v].target_mask is not None and views[v].target_mask.any()]
    if not candidates:
        return None
    v = max(candidates, key=lambda u: image_severity.get(u, 0.0))
    x, y = heatmaps[v].peak_xy
    return bool(views[v].target_mask[y, x])


def hit_rate(model: DiagnosisNet, cases: list[CaseExample], *, method: CamMethod | str = CamMethod.FINER_CAM) -> HitRate:
    """Share of severe cases (with lesion masks) whose heatmap peak lies inside the lesion."""
    hits = n = 0
    for case in cases:
        if case.severe != 1:
            continue
        maps = case_heatmaps(model, case.views, method=method)
        with torch.no_grad():
            b = collate([case.views], [case])
            probs = torch.sigmoid(model(b.images, b.views, b.present, b.metadata).image_logits[0]).numpy()
        sev = {v: float(probs[j, [FINDINGS.index(f) for f in ABNORMAL_FINDINGS]].max()) for j, v in enumerate(b.slot_views[0])}
        hit = case_hit(maps, case.views, sev)
        if hit is not None:
            n += 1
            hits += int(hit)
    return HitRate(hits, n, hits / n if n else None)
