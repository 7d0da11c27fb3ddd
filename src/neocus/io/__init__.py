"""Reading and writing ultrasound sweeps, stills and volumes.

``load_sweep(path)`` is the one entry point for 2-D input: it sniffs the format from the file's
content (never its name) and returns a :class:`Sweep` -- uint8 greyscale frames ``[T, H, W]`` and a
:class:`SweepMeta` (fps, per-frame timestamps, spacing in mm when known, de-identified header fields).
``probe(path)`` reads the same facts a sweep's header or container gives (frames, size, fps, spacing,
modality) as a :class:`SweepInfo`, without decoding pixels, and refuses bad input with the errors
``load_sweep`` gives. ``load_volume(path)`` reads 3-D volumes (NIfTI, MHA, NRRD). Every problem with the input raises
:class:`neocus.errors.InputFileError` naming the file, what is wrong, and what to do.
"""

from __future__ import annotations

from pathlib import Path

from neocus.errors import InputFileError
from neocus.io.decode import DecodeLimits
from neocus.io.sniff import Kind, detect_kind
from neocus.io.types import CropRecord, Sweep, SweepInfo, SweepMeta

__all__ = [
    "CropRecord",
    "DecodeLimits",
    "InputFileError",
    "Kind",
    "Sweep",
    "SweepInfo",
    "SweepMeta",
    "Volume",
    "deidentify_dataset",
    "detect_kind",
    "load_sweep",
    "load_volume",
    "probe",
    "write_dicom_cine",
    "write_video",
]


def load_sweep(
    path: str | Path,
    *,
    limits: DecodeLimits | None = None,
    show_progress: bool | None = None,
    allow_any_modality: bool = False,
) -> Sweep:
    """Decode a video (MP4/AVI/MOV/MKV), DICOM, PNG/JPEG still or folder of frames into a :class:`Sweep`.

    ``limits`` bounds frame size and decoded bytes (default :meth:`DecodeLimits.default`).
    ``show_progress``: a tqdm bar on stderr (``None`` = only when stderr is a terminal).
    ``allow_any_modality``: read non-ultrasound DICOM (MR, CT, ...) instead of refusing it.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    kind = detect_kind(path)
    if kind == Kind.DICOM:
        from neocus.io.dicom import read_dicom

        return read_dicom(path, limits=limits, show_progress=show_progress, allow_any_modality=allow_any_modality)
    if kind.is_video:
        from neocus.io.video import read_video

        return read_video(path, limits=limits, show_progress=show_progress)
    if kind.is_still:
        from neocus.io.images import read_image

        return read_image(path, limits=limits)
    if kind == Kind.IMAGE_FOLDER:
        from neocus.io.images import read_image_folder

        return read_image_folder(path, limits=limits, show_progress=show_progress)
    raise _not_a_sweep(path, kind)


def probe(path: str | Path, *, limits: DecodeLimits | None = None, allow_any_modality: bool = False) -> SweepInfo:
    """Frames, size, fps, spacing and modality of a sweep from its header or container, without decoding.

    Takes the same input as :func:`load_sweep` and refuses it with the same :class:`InputFileError`
    wherever the problem shows before decoding: content sniffing, unreadable paths, limits on frame
    size and decoded bytes, DICOM header checks (modality, image attributes, pixel data missing or cut
    off, transfer syntax), a video container that does not open, a truncated JPEG, frames of a folder
    that differ in size. Damage inside compressed frames shows only when they are decoded. See
    :class:`SweepInfo` for how exact a video's frame count is.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    kind = detect_kind(path)
    if kind == Kind.DICOM:
        from neocus.io.dicom import probe_dicom

        return probe_dicom(path, limits=limits, allow_any_modality=allow_any_modality)
    if kind.is_video:
        from neocus.io.video import probe_video

        return probe_video(path, limits=limits, kind=kind)
    if kind.is_still:
        from neocus.io.images import probe_image

        return probe_image(path, limits=limits)
    if kind == Kind.IMAGE_FOLDER:
        from neocus.io.images import probe_image_folder

        return probe_image_folder(path, limits=limits)
    raise _not_a_sweep(path, kind)


def _not_a_sweep(path: Path, kind: Kind) -> InputFileError:
    return InputFileError(f"is a 3-D volume ({kind.value}), not a sweep", where=path, hint="read it with neocus.io.load_volume")


def __getattr__(name: str):  # lazy re-exports keep `import neocus.io` light
    if name in ("Volume", "load_volume"):
        from neocus.io import volume

        return getattr(volume, name)
    if name in ("write_video", "write_dicom_cine"):
        from neocus.io import write

        return getattr(write, name)
    if name == "deidentify_dataset":
        from neocus.io.deid import deidentify_dataset

        return deidentify_dataset
    raise AttributeError(f"module 'neocus.io' has no attribute {name!r}")
