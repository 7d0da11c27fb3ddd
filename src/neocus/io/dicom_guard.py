"""Checks on a DICOM's declared lengths and counts, made before anything is read or allocated.

A damaged or hostile file can declare a 2 GB element in a 5 KB file, or 60 frames where its pixel data
holds 30. :class:`BoundedFile` keeps pydicom from allocating what a length field claims;
:func:`refuse_values_past_the_end` and :func:`check_frame_count` turn such lies into an
:class:`InputFileError` (see docs/input-refused.md). :func:`short_reason` makes a library's exception
text fit a one-line message without quoting header values (possibly patient data).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments, parse_basic_offsets, parse_fragments
from pydicom.pixels.utils import get_expected_length

from neocus.errors import InputFileError
from neocus.io.decode import human_bytes


class BoundedFile(io.BufferedReader):
    """A binary file whose reads never ask for more than it holds: pydicom reads a sequence item or a
    value by its declared length, and Python allocates what is asked before reading, so a damaged
    length field (2 GB in a 5 KB file) would otherwise cost 2 GB. Opened like ``open(path, "rb")``
    (pydicom reopens it by type and name to read deferred values)."""

    def __init__(self, path: str | Path, mode: str = "rb"):
        super().__init__(io.FileIO(str(path), "rb"))
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self._size - self.tell(), 0))
            if size == 0:
                return b""
        return super().read(size)


def refuse_values_past_the_end(header: Dataset, path: Path) -> None:
    """Refuse a header element whose declared length runs past the end of the file (read without
    loading it: pydicom left it in the file)."""
    size = path.stat().st_size
    for tag in header.keys():
        elem = header.get_item(tag, keep_deferred=True)
        tell, length = getattr(elem, "value_tell", None), getattr(elem, "length", None)
        if tell is not None and length is not None and length != 0xFFFFFFFF and tell + length > size:
            raise InputFileError(
                f"header element {tag} declares {human_bytes(length)}, past the end of the file ({human_bytes(size)})",
                where=path,
                hint="the file is truncated or corrupt",
            )


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def short_reason(exc: BaseException) -> str:
    """First line of an exception's text for a one-line error, quoted values (possibly PHI) elided."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _QUOTED.sub("'...'", text)
    return text if len(text) <= 160 else text[:157] + "..."


def _expected_native_bytes(ds: Dataset, path: Path) -> int:
    """Bytes of uncompressed pixel data the header implies (sub-sampled YBR and 1-bit data included)."""
    try:
        return int(get_expected_length(ds, unit="bytes"))
    except Exception as exc:  # noqa: BLE001 - a header that describes no valid pixel layout
        raise InputFileError(f"the image attributes describe no valid pixel layout: {short_reason(exc)}", where=path, hint="the DICOM header is corrupt") from None


def check_frame_count(ds: Dataset, path: Path, n_frames: int) -> None:
    """Refuse pixel data that holds fewer frames than the header declares, or (uncompressed) whole
    frames more: counted from the element's length or the encapsulated fragments, without decoding."""
    elem = ds.get_item("PixelData", keep_deferred=True)
    if elem is None:
        return
    length = getattr(elem, "length", None)  # a raw element (value left in the file); a converted one has a value
    length = len(elem.value or b"") if length is None else length
    if length != 0xFFFFFFFF and not getattr(elem, "is_undefined_length", False):  # native: whole frames from the length
        total = _expected_native_bytes(ds, path)
        held = (length * n_frames) // total if total else n_frames
    else:  # encapsulated: every frame is at least one fragment; a Basic Offset Table names each frame
        try:
            buffer = ds.PixelData
            offsets = parse_basic_offsets(buffer)
            fragments, _ = parse_fragments(buffer[8 + 4 * len(offsets) :])
            starts = sum(f[:2] in _FRAME_STARTS for f in generate_fragments(buffer[8 + 4 * len(offsets) :]))
        except Exception as exc:  # noqa: BLE001 - damaged items
            raise InputFileError(f"cannot read the encapsulated pixel data: {short_reason(exc)}", where=path, hint="the file is truncated or corrupt") from None
        # a frame may span fragments, so fragments >= frames; a JPEG / JPEG 2000 frame starts with its marker
        held = len(offsets) if len(offsets) > 1 else min(fragments, max(n_frames, starts))
        held = min(held, fragments)
    if held != n_frames:
        raise frame_count_error(path, n_frames, held)


#: First bytes of a JPEG (SOI) and a JPEG 2000 (SOC) code stream: each such fragment begins a frame.
_FRAME_STARTS = (b"\xff\xd8", b"\xff\x4f")


def frame_count_error(path: Path, declared: int, held: int) -> InputFileError:
    return InputFileError(
        f"the header declares {declared} frame{'s' if declared != 1 else ''}, the pixel data holds {held}",
        where=path,
        hint="the file is truncated or its header is wrong; export the sweep again",
    )
