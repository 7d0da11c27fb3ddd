"""3-D volumes (NIfTI via nibabel; MetaImage .mha/.mhd and NRRD via SimpleITK) for later MRI work.

One convention for every format (the ITK / DICOM one, in the array's own axis order):

* ``array``: ``[K, J, I]`` -- slowest to fastest axis, as numpy and SimpleITK give it (for a usual
  axial scan: slice, row, column). The data type of the file is kept.
* ``spacing``: mm per voxel along each array axis (``spacing[a]`` is the step of axis ``a``).
* ``origin``: the patient coordinates (LPS, mm) of the centre of voxel ``[0, 0, 0]``.
* ``direction``: 3x3, column ``a`` is the unit LPS vector of array axis ``a``.

So voxel ``idx`` (array order) lies at ``origin + direction @ (spacing * idx)``; :meth:`Volume.affine`
gives that as a 4x4 matrix. NIfTI's RAS+ affine is converted to LPS (x and y negated).
"""

from __future__ import annotations

import contextlib
import gzip
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from neocus.errors import InputFileError
from neocus.io.decode import DecodeLimits, human_bytes, native_stderr_silenced
from neocus.io.sniff import Kind, detect_kind

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Volume:
    """A 3-D image with its geometry (see the module docstring for the conventions)."""

    array: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise TypeError(f"Volume.array must be 3-D, got shape {self.array.shape}")
        if np.asarray(self.direction).shape != (3, 3):
            raise TypeError("Volume.direction must be 3x3")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    def affine(self) -> np.ndarray:
        """4x4 matrix from array indices ``(k, j, i, 1)`` to LPS millimetres."""
        out = np.eye(4)
        out[:3, :3] = np.asarray(self.direction) * np.asarray(self.spacing)[None, :]
        out[:3, 3] = self.origin
        return out


def load_volume(path: str | Path, *, limits: DecodeLimits | None = None) -> Volume:
    """Read a NIfTI-1/2 (``.nii``, ``.nii.gz``), MetaImage (``.mha``/``.mhd``) or NRRD volume.

    The format is sniffed from content. 2-D images get a third axis of length 1; 4-D and vector images
    are refused. ``limits.max_bytes`` applies to the volume's in-memory size, checked from the header.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    kind = detect_kind(path)
    if kind == Kind.NIFTI:
        return _load_nifti(path, limits)
    if kind in (Kind.METAIMAGE, Kind.NRRD):
        return _load_itk(path, limits, kind)
    raise InputFileError(f"is {kind.value}, not a volume", where=path, hint="read sweeps and images with neocus.io.load_sweep")


def _check_shape(shape: tuple[int, ...], itemsize: int, path: Path, limits: DecodeLimits) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 3 or len(shape) < 2:
        raise InputFileError(f"a {len(shape)}-D image {shape} is not a 3-D volume", where=path, hint="give one 3-D volume (split 4-D series first)")
    total = int(np.prod(shape)) * itemsize
    if total > limits.max_bytes:
        raise InputFileError(
            f"volume {shape} needs {human_bytes(total)}, above the limit of {human_bytes(limits.max_bytes)}",
            where=path,
            hint="raise DecodeLimits(max_bytes=...)",
        )
    return shape


def _open_maybe_gzip(path: Path) -> BinaryIO:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


@contextlib.contextmanager
def _nibabel_quiet() -> Iterator[None]:
    """nibabel logs the header fixes it makes ("sizeof_hdr should be 348; set sizeof_hdr to 348") to its
    own stderr handler; the user sees neocus's answer only."""
    logger = logging.getLogger("nibabel.global")
    previous, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = previous


def _load_nifti(path: Path, limits: DecodeLimits) -> Volume:
    import nibabel as nib

    try:
        with _nibabel_quiet(), _open_maybe_gzip(path) as fh:
            head = fh.read(352)
            fh.seek(0)
            if head[344:348] == b"n+1\x00":
                img = nib.Nifti1Image.from_stream(fh)  # by content: any file name works
            elif head[4:8] == b"n+2\x00":
                img = nib.Nifti2Image.from_stream(fh)
            else:  # header / image pair (.hdr + .img): nibabel finds the partner by name
                img = nib.load(str(path))
            header_shape = _check_shape(img.shape, np.dtype(img.get_data_dtype()).itemsize, path, limits)
            data = np.asanyarray(img.dataobj)
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a decoder fails in many ways on damaged input
        raise InputFileError(f"cannot read the NIfTI volume: {_first_line(exc)}", where=path, hint="the file is truncated or corrupt") from None
    data = data.reshape(header_shape + (1,) * (3 - len(header_shape)))
    affine = np.asarray(img.affine, dtype=np.float64)
    # nibabel's array is [i, j, k]; ours is [k, j, i]
    array = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))
    columns = _RAS_TO_LPS @ affine[:3, :3]  # column c: LPS step of nibabel axis c
    steps = columns[:, ::-1]  # reorder to our array axes (k, j, i)
    spacing = np.linalg.norm(steps, axis=0)
    spacing = np.where(spacing > 0, spacing, 1.0)
    direction = steps / spacing[None, :]
    origin = _RAS_TO_LPS @ affine[:3, 3]
    return Volume(array=array, spacing=tuple(float(s) for s in spacing), origin=tuple(float(o) for o in origin), direction=direction, source=str(path))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


#: Longest line of an MHA / NRRD text header, and most header bytes read before the data.
_MAX_HEADER_LINE, _MAX_HEADER = 1024, 64 * 1024
#: The field that names the element type, and the names ITK reads, per format.
_TYPE_FIELD = {Kind.METAIMAGE: "elementtype", Kind.NRRD: "type"}
_ELEMENT_TYPES = {
    Kind.METAIMAGE: {f"MET_{t}" for t in ("CHAR", "UCHAR", "SHORT", "USHORT", "INT", "UINT", "LONG", "ULONG", "LONG_LONG", "ULONG_LONG", "FLOAT", "DOUBLE")},
    Kind.NRRD: {
        "signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t", "short", "short int", "signed short",
        "signed short int", "int16", "int16_t", "ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t", "int",
        "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t", "longlong", "long long", "long long int",
        "signed long long", "signed long long int", "int64", "int64_t", "ulonglong", "unsigned long long", "unsigned long long int",
        "uint64", "uint64_t", "float", "double", "block",
    },
}


def _check_text_header(path: Path, kind: Kind) -> None:
    """Refuse an MHA / NRRD text header that ITK must not parse: a line longer than 1024 characters, or an
    element type ITK does not know (a 3000-character NRRD ``type:`` crashed the process inside ITK's
    parser -- a segmentation fault, found by the fuzzer). Read up to the blank line / ``ElementDataFile``."""
    with open(path, "rb") as fh:
        head = fh.read(_MAX_HEADER)
    for number, raw in enumerate(head.split(b"\n"), start=1):
        line = raw.decode("latin-1").strip()
        if (kind == Kind.NRRD and not line) or line.lower().startswith("elementdatafile"):
            return
        if len(line) > _MAX_HEADER_LINE:
            raise InputFileError(
                f"header line {number} has {len(line)} characters, more than {_MAX_HEADER_LINE}",
                where=path,
                hint="the header is corrupt; write the volume again",
            )
        key, sep, value = line.partition("=" if kind == Kind.METAIMAGE else ":")
        name = value.strip().upper() if kind == Kind.METAIMAGE else value.strip().lower()
        if sep and key.strip().lower() == _TYPE_FIELD[kind] and name not in _ELEMENT_TYPES[kind]:
            raise InputFileError(f"unknown element type {value.strip()[:40]!r}", where=path, hint="the header is corrupt; write the volume again")


def _load_itk(path: Path, limits: DecodeLimits, kind: Kind) -> Volume:
    import SimpleITK as sitk

    _check_text_header(path, kind)
    try:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        with native_stderr_silenced():
            reader.ReadImageInformation()
        if reader.GetNumberOfComponents() != 1:
            raise InputFileError(f"a vector image ({reader.GetNumberOfComponents()} components) is not a scalar volume", where=path, hint="give a single-channel volume")
        size = tuple(reversed(reader.GetSize()))  # array order
        itemsize = sitk.GetArrayViewFromImage(sitk.Image([1] * reader.GetDimension(), reader.GetPixelID())).itemsize
        _check_shape(size, itemsize, path, limits)
        with native_stderr_silenced():  # ITK's MetaImage reader writes its complaints to std::cerr
            image = reader.Execute()
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a decoder fails in many ways on damaged input
        text = str(exc).strip().splitlines()
        raise InputFileError(f"cannot read the volume: {text[-1] if text else type(exc).__name__}", where=path, hint="the file is truncated or corrupt") from None
    dim = image.GetDimension()
    array = sitk.GetArrayFromImage(image)
    spacing_xyz = np.asarray(image.GetSpacing(), dtype=np.float64)
    origin_xyz = np.asarray(image.GetOrigin(), dtype=np.float64)
    direction_xyz = np.asarray(image.GetDirection(), dtype=np.float64).reshape(dim, dim)
    if dim == 2:
        array = array[None]
        spacing_xyz = np.append(spacing_xyz, 1.0)
        origin_xyz = np.append(origin_xyz, 0.0)
        full = np.eye(3)
        full[:2, :2] = direction_xyz
        direction_xyz = full
    # ITK: column c of direction is index axis c (x, y, z) = our array axis 2 - c
    direction = direction_xyz[:, ::-1]
    spacing = spacing_xyz[::-1]
    return Volume(array=np.ascontiguousarray(array), spacing=tuple(float(s) for s in spacing), origin=tuple(float(o) for o in origin_xyz), direction=direction, source=str(path))
