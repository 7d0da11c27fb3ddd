"""Segment one case: lesion mask on the input grid, lesion volume, components, a montage and result.json."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_target, atomic_write_text, check_output_dir
from neocus.hie import postprocess as pp
from neocus.hie.components import maps_from_image
from neocus.hie.infer import HieModel, load_model, model_proba
from neocus.hie.metrics import lesion_components
from neocus.hie.reading import HieCase, load_case, volume_to_sitk
from neocus.io.decode import process_locale_kept
from neocus.hie.models import Channel
from neocus.hie.transforms import ZLOW_BELOW, preprocess
from neocus.io.sniff import Kind, detect_kind
from neocus.results import AsDict

RESULT_NAME = "result.json"
MONTAGE_NAME = "montage.png"
_SUFFIX = {Kind.METAIMAGE: ".mha", Kind.NRRD: ".nrrd"}


@dataclass(frozen=True)
class SegmentResult(AsDict):
    """What :func:`segment` found; ``mask`` is ``uint8`` on the ADC grid (array order ``[K, J, I]``)."""

    mask: np.ndarray
    probability: np.ndarray
    lesion_ml: float
    n_components: int
    threshold: float
    min_component_mm3: float
    used_zadc: bool
    seconds: float

    def summary(self) -> dict:
        """The JSON-ready facts (no arrays, no patient identifiers)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("mask", "probability")}


def segment(case: HieCase, *, model: HieModel | None = None, device: str = "cpu") -> SegmentResult:
    """Lesion mask of ``case`` (ADC, optionally Z-ADC) with ``model`` (default: the bundled one)."""
    model = model or load_model(device=device)
    t0 = time.perf_counter()
    sample = preprocess(case, model.config)
    prob = model_proba(model, sample["image"], device=device)
    prob = np.where(sample["brain"][0] > 0, prob, 0.0).astype(np.float32)
    zlow = sample["image"][list(model.config.channels).index(Channel.ZLOW)] if (case.zadc is not None and Channel.ZLOW in model.config.channels) else None
    if zlow is None and case.zadc is not None and model.post.gate is pp.Gate.ZLOW:
        zlow = ((np.asarray(case.zadc.array) < ZLOW_BELOW) & (np.asarray(case.adc.array) > 0)).astype(np.float32)
    maps = maps_from_image(sample["image"], sample["brain"], channels=model.config.channels, spacing=case.adc.spacing) if case.zadc is not None else None
    mask = pp.apply(prob, model.post, voxel_mm3=case.voxel_ml * 1000.0, zlow=zlow, maps=maps)
    _, n = lesion_components(mask)
    return SegmentResult(
        mask=mask,
        probability=prob,
        lesion_ml=float(mask.sum()) * case.voxel_ml,
        n_components=n,
        threshold=model.post.threshold,
        min_component_mm3=model.post.min_component_mm3,
        used_zadc=case.zadc is not None,
        seconds=time.perf_counter() - t0,
    )


def mask_file_name(adc_path: Path) -> str:
    """``lesion_mask`` with the input's format: ``.mha`` / ``.nrrd`` / ``.nii`` / ``.nii.gz``, or a
    folder ``lesion_mask/`` holding a DICOM series for a DICOM series input."""
    if adc_path.is_dir():
        return "lesion_mask"
    kind = detect_kind(adc_path)
    if kind == Kind.NIFTI:
        return "lesion_mask.nii.gz" if adc_path.name.lower().endswith(".gz") else "lesion_mask.nii"
    return "lesion_mask" + _SUFFIX.get(kind, ".mha")


def write_outputs(case: HieCase, result: SegmentResult, adc_path: Path, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the mask (input grid and format), ``montage.png`` and ``result.json`` into ``out_dir``
    (built beside it and renamed into place, so a failure leaves nothing half-written)."""
    import SimpleITK as sitk

    out_dir = Path(out_dir)
    check_output_dir(out_dir, force=force, marker=RESULT_NAME)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        mask_name = mask_file_name(adc_path)
        if adc_path.is_dir():
            write_dicom_series(result.mask, case, staging / mask_name)
        else:
            sitk.WriteImage(volume_to_sitk(result.mask.astype(np.uint8), case.adc), str(staging / mask_name), True)
        write_montage(case, result.mask, staging / MONTAGE_NAME)
        info = {"mask": mask_name, "montage": MONTAGE_NAME, **result.summary(), "grid": {"shape_kji": list(case.adc.shape), "spacing_kji_mm": list(case.adc.spacing)}}
        atomic_write_text(staging / RESULT_NAME, json.dumps(info, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / mask_name, out_dir / MONTAGE_NAME, out_dir / RESULT_NAME]


def write_dicom_series(mask: np.ndarray, case: HieCase, folder: Path) -> Path:
    """The mask as a derived MR DICOM series (one file per slice) on the ADC grid. Only geometry and
    new UIDs are written: no patient or study fields are copied from the input."""
    import SimpleITK as sitk
    from pydicom.uid import generate_uid

    image = volume_to_sitk(mask.astype(np.int16), case.adc)
    folder.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    d = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(image.GetDepth()):
        sl = image[:, :, z]
        position = image.TransformIndexToPhysicalPoint((0, 0, z))
        tags = {
            "0008|0008": "DERIVED\\SECONDARY", "0008|0060": "MR", "0008|103e": "neocus HIE lesion mask (research, not clinical)",
            "0020|000d": study, "0020|000e": series, "0008|0018": generate_uid(), "0020|0013": str(z + 1),
            "0020|0037": orientation, "0020|0032": "\\".join(f"{v:.6f}" for v in position),
            "0028|0030": f"{image.GetSpacing()[1]:.6f}\\{image.GetSpacing()[0]:.6f}", "0018|0050": f"{image.GetSpacing()[2]:.6f}",
        }
        for tag, value in tags.items():
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"mask_{z + 1:04d}.dcm"))
        with process_locale_kept():
            writer.Execute(sl)
    return folder


def write_montage(case: HieCase, mask: np.ndarray, path: Path, *, max_slices: int = 24) -> Path:
    """Axial slices of the ADC (grey) with the lesion outlined in red, slices holding brain only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    adc = np.asarray(case.adc.array, dtype=np.float32)
    keep = np.flatnonzero((adc > 0).reshape(adc.shape[0], -1).any(axis=1))
    if keep.size == 0:
        keep = np.arange(adc.shape[0])
    if keep.size > max_slices:
        keep = keep[np.linspace(0, keep.size - 1, max_slices).round().astype(int)]
    ys, xs = np.nonzero((adc > 0).any(axis=0)) if (adc > 0).any() else (np.arange(adc.shape[1]), np.arange(adc.shape[2]))
    box = (slice(max(ys.min() - 4, 0), ys.max() + 5), slice(max(xs.min() - 4, 0), xs.max() + 5))  # brain bounding box
    adc, mask = adc[:, box[0], box[1]], np.asarray(mask)[:, box[0], box[1]]
    cols = min(6, keep.size)
    rows = int(np.ceil(keep.size / cols))
    vmax = float(np.percentile(adc[adc > 0], 99)) if (adc > 0).any() else 1.0
    aspect = case.adc.spacing[1] / case.adc.spacing[2]
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows * aspect), squeeze=False)
    for ax, z in zip(axes.ravel(), keep):
        ax.imshow(adc[z], cmap="gray", vmin=0, vmax=vmax, aspect=aspect)
        if mask[z].any():
            ax.contour(mask[z].astype(float), levels=[0.5], colors="red", linewidths=0.8)
        ax.set_title(f"slice {z}", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(f"lesion {float(mask.sum()) * case.voxel_ml:.2f} ml (red outline); research software, not a clinical device", fontsize=8)
    fig.tight_layout()
    with atomic_target(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path


def segment_files(adc: str | Path, *, zadc: str | Path | None = None, out_dir: str | Path, model_dir: str | Path | None = None, device: str = "cpu", force: bool = False) -> tuple[SegmentResult, list[Path]]:
    """Read, segment and write one case (what ``neocus hie segment`` does)."""
    case = load_case(adc, zadc=zadc, case_id="case")
    model = load_model(model_dir, device=device)
    result = segment(case, model=model, device=device)
    return result, write_outputs(case, result, Path(adc), Path(out_dir), force=force)
