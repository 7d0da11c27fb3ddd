"""The fuzzer's mutations: hypothesis strategies for damage to a seed file or folder (tests/fuzz_seeds.py),
and how a drawn :class:`Plan` is written out as the damaged input (:func:`materialise`).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from fuzz_seeds import Seed, header_fields
from hypothesis import strategies as st

# --- mutations -------------------------------------------------------------------------------------

#: Integers that break size / count / length arithmetic, written into a header field of its width.
INTERESTING = (0, 1, 2, 3, 7, 8, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
#: Strings that replace a token of a text header, a CSV cell, a JSON value or a DICOM string.
HOSTILE_TEXT = (
    "", "0", "-1", "1e309", "nan", "-inf", "99999999999999999999", "4294967296", "0.5", "-0",
    "[/bold]", "[red]x[/red]", "a\nb", "\r", "\x00", "\x1b[2J", "\u202e", "é", "\ufeff",
    "x" * 3000, '"', ",", "{", "]", "null", "true", "MONOCHROME1", "PALETTE COLOR", "YBR_FULL_422", "RGB",
    "US", "MR", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5", "MET_DOUBLE", "raw", "gzip", "4 4 4 4", "LIST",
)
#: Names a file or folder may be given (brackets, unicode, white space, a leading dash, very long).
ODD_NAMES = (
    "seed", "scan [copy]", "[/bold]coronal", "[red]x", "-rf", " lead", "trail ", "naïve ünïcode", "日本語",
    "a\tb", "quote'\"", "semi;colon", "$(echo)", "%s%n", "back\\slash", "n" * 200, ".hidden_but_named",
)

Op = tuple


#: DICOM attributes and hostile values for them, set through pydicom (the file stays parseable, so the
#: damage reaches the checks and decoders behind the parser). ``None`` deletes the attribute.
DICOM_EDITS: dict[str, tuple] = {
    "NumberOfFrames": (0, 1, 2, 7, 31, 1000000, -1, None),
    "Rows": (0, 1, 2, 65535, None),
    "Columns": (0, 1, 3, 65535, None),
    "BitsAllocated": (0, 1, 7, 12, 16, 32, 64, None),
    "BitsStored": (0, 1, 12, 16, 33, None),
    "HighBit": (0, 15, 31),
    "SamplesPerPixel": (0, 1, 2, 3, 4, None),
    "PixelRepresentation": (1, 2, None),
    "PhotometricInterpretation": ("MONOCHROME1", "PALETTE COLOR", "YBR_FULL_422", "YBR_FULL", "RGB", "YBR_RCT", "HSV", "", None),
    "PlanarConfiguration": (0, 1, 2, None),
    "FrameTime": (0, -1, 1e-9, 1e12, None),
    "FrameTimeVector": ((), (0, 0, 0), (-1, 5, 5), (1e308,) * 6),
    "CineRate": (0, -5, 1000000),
    "PixelSpacing": ((0, 0), (-1, 1), (1e-30, 1e30), (1,), None),
    "RescaleSlope": (0, -1, 1e30),
    "WindowWidth": (0, -5, 1e30),
    "WindowCenter": (-1e30, 1e30),
    "Modality": ("", "MR", "US", None),
    "SOPClassUID": ("", "1.2.840.10008.5.1.4.1.1.4", None),
    "PixelData": (b"", b"\x00", None),
    "SequenceOfUltrasoundRegions": (None,),
    "RedPaletteColorLookupTableDescriptor": ((0, 0, 16), (256, 0, 8), (65535, 65535, 16), None),
    "RedPaletteColorLookupTableData": (b"", b"\x00\x01", None),
}


def _dicom_edit(data: bytearray, keyword: str, value) -> bytearray:
    """``data`` with ``keyword`` set to ``value`` through pydicom; unchanged when pydicom cannot do it."""
    import pydicom
    from pydicom import config

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(bytes(data)), force=True)
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, list(value) if isinstance(value, tuple) else value)
        out = io.BytesIO()
        previous = config.settings.writing_validation_mode
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                config.settings.writing_validation_mode = config.IGNORE
                ds.save_as(out, enforce_file_format=False)
        finally:
            config.settings.writing_validation_mode = previous
        return bytearray(out.getvalue())
    except Exception:  # noqa: BLE001 - a value pydicom will not write: leave the file as it was
        return data


def byte_ops(fmt: str) -> st.SearchStrategy[list[Op]]:
    """1-4 damages to a file: cut, flip, splice in or drop bytes, lie in a header field, replace a token;
    for DICOM also set an attribute to a hostile value through pydicom."""
    where = st.floats(0.0, 1.0).map(lambda u: u**3)  # mostly near the start: that is where headers are
    op = st.one_of(
        st.tuples(st.just("cut"), st.floats(0.0, 1.0)),
        st.tuples(st.just("flip"), where, st.integers(0, 255)),
        st.tuples(st.just("splice"), where, st.binary(min_size=1, max_size=64)),
        st.tuples(st.just("drop"), where, st.integers(1, 4096)),
        st.tuples(st.just("field"), st.integers(0, 1000), st.sampled_from(INTERESTING), st.sampled_from(("set", "+1", "-1", "*2", "/2"))),
        st.tuples(st.just("token"), st.integers(0, 1000), st.sampled_from(HOSTILE_TEXT)),
    )
    if fmt == "dicom":
        edit = st.sampled_from(sorted(DICOM_EDITS)).flatmap(lambda k: st.tuples(st.just("dicom"), st.just(k), st.sampled_from(DICOM_EDITS[k])))
        op = st.one_of(edit, edit, op)  # two in three damages are attribute edits
    return st.lists(op, min_size=1, max_size=4)


def apply_ops(seed_fmt: str, data: bytes, ops: list[Op]) -> bytes:
    """``data`` after ``ops`` (in order); PNG chunks get their checksums repaired afterwards half the time
    (so libpng reads on past a damaged header instead of stopping at its CRC)."""
    out = bytearray(data)
    for op in ops:
        out = _apply(seed_fmt, out, op)
    if seed_fmt == "png" and len(ops) % 2 == 0:
        out = _repair_png_crcs(out)
    return bytes(out)


def _apply(fmt: str, out: bytearray, op: Op) -> bytearray:
    kind, n = op[0], len(out)
    if kind == "cut":
        return out[: int(op[1] * n)]
    if kind == "flip" and n:
        out[min(int(op[1] * n), n - 1)] = op[2]
    elif kind == "splice":
        at = int(op[1] * n)
        out[at:at] = op[2]
    elif kind == "drop":
        at = int(op[1] * n)
        del out[at : at + op[2]]
    elif kind == "field":
        fields = header_fields(fmt, bytes(out))
        if fields:
            at, size, order = fields[op[1] % len(fields)]
            if at + size <= n:
                old = int.from_bytes(out[at : at + size], order)
                new = {"set": op[2], "+1": old + 1, "-1": old - 1, "*2": old * 2, "/2": old // 2}[op[3]]
                out[at : at + size] = (new % (1 << (8 * size))).to_bytes(size, order)
    elif kind == "token":
        out = _replace_token(out, op[1], op[2])
    elif kind == "dicom":
        out = _dicom_edit(out, op[1], op[2])
    return out


_TOKEN = re.compile(rb"[A-Za-z0-9_.+\-]{1,64}")


def _replace_token(out: bytearray, index: int, text: str) -> bytearray:
    """Replace one word or number of the first 4 KiB (a header value, a CSV cell, a DICOM string)."""
    tokens = list(_TOKEN.finditer(bytes(out[:4096])))
    if not tokens:
        return out
    token = tokens[index % len(tokens)]
    return out[: token.start()] + bytearray(text.encode("utf-8", "surrogatepass")) + out[token.end() :]


def _repair_png_crcs(out: bytearray) -> bytearray:
    at = 8
    while at + 12 <= len(out):
        length = int.from_bytes(out[at : at + 4], "big")
        end = at + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(out[at + 4 : end])) & 0xFFFFFFFF)
        at = end + 4
    return out


def folder_ops() -> st.SearchStrategy[list[Op]]:
    """Damage to a folder: damage one file, rename one to an odd name, delete one, replace one by a
    folder, add a symbolic-link loop or a dangling link, add a stray file."""
    op = st.one_of(
        st.tuples(st.just("file"), st.integers(0, 1000), byte_ops("any")),
        st.tuples(st.just("rename"), st.integers(0, 1000), st.sampled_from(ODD_NAMES)),
        st.tuples(st.just("delete"), st.integers(0, 1000)),
        st.tuples(st.just("dir"), st.integers(0, 1000)),
        st.tuples(st.just("loop"), st.integers(0, 1000)),
        st.tuples(st.just("dangling"), st.integers(0, 1000)),
        st.tuples(st.just("stray"), st.integers(0, 1000), st.binary(max_size=32)),
    )
    return st.lists(op, min_size=1, max_size=3)


def _fmt_of(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {"dcm": "dicom", "png": "png", "jpg": "jpeg", "mp4": "mp4", "json": "json", "jsonl": "json"}.get(suffix, "any")


def apply_folder_ops(root: Path, ops: list[Op]) -> None:
    """Apply ``ops`` to the folder ``root`` in place."""
    for op in ops:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        if not files:
            return
        target = files[op[1] % len(files)]
        kind = op[0]
        if kind in ("loop", "dangling", "stray") and any(p.name.startswith(kind) for p in target.parent.iterdir()):
            continue  # one of each per folder
        if kind == "file":
            target.write_bytes(apply_ops(_fmt_of(target.name), target.read_bytes(), op[2]))
        elif kind == "rename" and not target.with_name(op[2].replace("/", "") + target.suffix).exists():
            target.rename(target.with_name(op[2].replace("/", "") + target.suffix))
        elif kind == "delete":
            target.unlink()
        elif kind == "dir":
            target.unlink()
            target.mkdir()
        elif kind == "loop":
            (target.parent / "loop_a.png").symlink_to("loopb.png")
            (target.parent / "loopb.png").symlink_to("loop_a.png")
        elif kind == "dangling":
            (target.parent / "dangling.png").symlink_to("/nonexistent/frame.png")
        elif kind == "stray":
            (target.parent / "stray.png").write_bytes(op[2])


@dataclass(frozen=True)
class Plan:
    """One fuzz input: the seed's damage (byte ops for a file, folder ops for a folder) and its name."""

    ops: list[Op]
    name: str


def plans(seed: Seed) -> st.SearchStrategy[Plan]:
    ops = folder_ops() if seed.is_folder else byte_ops(seed.fmt)
    return st.builds(Plan, ops=ops, name=st.sampled_from(ODD_NAMES))


def materialise(seed: Seed, plan: Plan, workdir: Path) -> Path:
    """Write the damaged input under ``workdir`` and return its path."""
    path = workdir / (plan.name + seed.suffix)  # "[/bold]x" is a folder "[" holding "bold]x"
    path.parent.mkdir(parents=True, exist_ok=True)
    if seed.is_folder:
        for rel, data in seed.files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(data)
        apply_folder_ops(path, plan.ops)
    else:
        path.write_bytes(apply_ops(seed.fmt, seed.data, plan.ops))
    return path
