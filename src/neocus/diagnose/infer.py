"""Inference: fold ensemble x test-time augmentation -> calibrated case probability, image findings,
Papile grade, the ensemble rule's decision with its trace, and the 3-tier / binary read-outs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neocus.diagnose.augment import MIRROR_VIEW, mirror_case
from neocus.diagnose.bundle import Bundle
from neocus.diagnose.config import FINDINGS, TtaMode
from neocus.diagnose.data import CaseExample, ViewImage, collate, parse_view, read_view_image
from neocus.diagnose.rule import ReadOut, RuleTrace, apply_rule, image_calls, read_out
from neocus.errors import InputFileError, parse_choice
from neocus.results import AsDict
from neocus.vocab import Decision, Finding, View, case_findings

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

# File names of the NCLS code release (COR1-3, SAG1-3) and the views they hold. Which parasagittal
# side SAG2 / SAG3 show is not recorded there; we read SAG2 as right and SAG3 as left.
NCLS_FILE_VIEWS: dict[str, View] = {
    "COR1": View.AHV, "COR2": View.TVV, "COR3": View.BV, "SAG1": View.MSV, "SAG2": View.RPSV, "SAG3": View.LPSV,
}


def _file_view(path: Path) -> View:
    stem = path.stem.upper()
    return NCLS_FILE_VIEWS[stem] if stem in NCLS_FILE_VIEWS else parse_view(path.stem, where=path)


def load_case_images(inputs: Sequence[str | Path], *, size_hw: tuple[int, int], roi: bool = False) -> tuple[str, dict[View, ViewImage]]:
    """A case from a folder (``views/<VIEW>.png`` of a dataset case, or view images in the folder
    itself) or from view image files; names are view names (``TVV.png``) or NCLS names (``COR2.png``).
    ``roi``: crop screen captures to their imaging region (see :func:`neocus.diagnose.data.crop_to_roi`)."""
    paths = [Path(p) for p in inputs]
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0] / "views" if (paths[0] / "views").is_dir() else paths[0]
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputFileError("no view images in this folder", where=folder, hint="give PNG stills named by view, e.g. TVV.png")
        case_id = paths[0].name
    else:
        files = paths
        case_id = paths[0].parent.name if paths else "case"
    views: dict[View, ViewImage] = {}
    for f in files:
        if f.is_dir():
            raise InputFileError("give one case folder or view image files, not several folders", where=f)
        v = _file_view(f)
        if v in views:
            raise InputFileError(f"a second image of view {v.value}", where=f, hint="give one still per view")
        views[v] = ViewImage(read_view_image(f, size_hw, roi=roi))
    return case_id, views


@dataclass(frozen=True)
class CaseDiagnosis(AsDict):
    case_id: str
    decision: Decision
    severe_prob: float  # calibrated
    severe_prob_raw: float
    grade: int
    grade_probs: tuple[float, ...]
    readout: ReadOut
    image_probs: dict[str, dict[str, float]]
    trace: RuleTrace
    tta: str
    folds: tuple[int, ...]


def _variants(views: dict[View, ViewImage], tta: TtaMode) -> list[tuple[dict[View, ViewImage], dict[View, View]]]:
    """Cases to run and, for each, the original view of each of its views."""
    out = [(views, {v: v for v in views})]
    if tta is TtaMode.FLIP:
        out.append((mirror_case(views), {MIRROR_VIEW.get(v, v): v for v in views}))
    return out


@torch.no_grad()
def ensemble_probs(bundle: Bundle, case: CaseExample, *, tta: TtaMode | str | None = None) -> tuple[float, dict[View, np.ndarray], np.ndarray]:
    """Mean over folds and TTA variants: raw severe probability, image finding probabilities per view, grade probabilities."""
    tta = bundle.config.tta if tta is None else parse_choice(TtaMode, tta, what="tta")
    variants = _variants(case.views, tta)
    batch = collate([v for v, _ in variants], [case] * len(variants))
    sev, grade = [], []
    img: dict[View, list[np.ndarray]] = {v: [] for v in case.views}
    batch.to(next(bundle.models[0].parameters()).device)
    for model in bundle.models:
        out = model(batch.images, batch.views, batch.present, batch.metadata)
        sev.append(out.severe_prob().cpu().numpy())
        grade.append(out.grade_probs().cpu().numpy())
        probs = torch.sigmoid(out.image_logits).cpu().numpy()
        for i, (_, back) in enumerate(variants):
            for j, v in enumerate(batch.slot_views[i]):
                img[back[v]].append(probs[i, j])
    return float(np.mean(sev)), {v: np.mean(p, axis=0) for v, p in img.items()}, np.mean(np.concatenate(grade), axis=0)


def diagnose_case(bundle: Bundle, case: CaseExample, *, tta: TtaMode | str | None = None) -> CaseDiagnosis:
    """The full read of one case (views in ``case.views``; labels, if any, are ignored)."""
    tta = bundle.config.tta if tta is None else parse_choice(TtaMode, tta, what="tta")
    raw, img, grade_p = ensemble_probs(bundle, case, tta=tta)
    p = float(bundle.calibration.apply(raw))
    image_probs = {v: {f: float(img[v][k]) for k, f in enumerate(FINDINGS)} for v in img}
    trace = apply_rule(p, image_probs, bundle.config.rule)
    grade = int(np.argmax(grade_p))
    calls = image_calls(image_probs, bundle.config.rule.finding_threshold)
    readout = read_out(trace.decision, grade, case_findings(calls.values()) if calls else frozenset({Finding.NORMAL}))
    return CaseDiagnosis(
        case_id=case.case_id, decision=trace.decision, severe_prob=p, severe_prob_raw=raw, grade=grade,
        grade_probs=tuple(float(x) for x in grade_p), readout=readout,
        image_probs={v.value: {f.value: round(q, 6) for f, q in fp.items()} for v, fp in image_probs.items()},
        trace=trace, tta=tta.value, folds=bundle.config.folds,
    )


def diagnose(inputs: Sequence[str | Path], *, bundle: Bundle, tta: TtaMode | str | None = None, roi: bool = False) -> CaseDiagnosis:
    """Python API: diagnose one case given as a folder or view image files (see :func:`load_case_images`)."""
    case_id, views = load_case_images(inputs, size_hw=bundle.config.model.image_size_hw, roi=roi)
    return diagnose_case(bundle, CaseExample(case_id, views), tta=tta)
