"""The malformed-input corpus: small broken files, one per known way input goes wrong, made by code
(no binary blobs) from the fuzzer's seeds (tests/fuzz_seeds.py). Each entry says which reader gets it
and what must happen: a refusal whose message holds ``expect``, or (``expect=None``) a sound result.
tests/test_io_corpus.py checks every entry with the fuzzer's checks; a regression shows at once.

    python tests/malformed_corpus.py OUT     # write every entry under OUT, to look at or feed other tools

Grow it: when the fuzzer (tests/fuzz_long.py) finds something, add the smallest input that shows it.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_seeds import PREDICTIONS_CSV, READERS_CSV, Seed, real_seeds, synthetic_seeds  # noqa: E402


@dataclass(frozen=True)
class Entry:
    """``make(seeds, path)`` writes the input at ``path``; ``target`` names the fuzz_kit reader. For the
    validator (which reports problems instead of raising) ``expect`` is part of one problem's message."""

    name: str
    target: str
    make: Callable[[dict[str, Seed], Path], None]
    expect: str | None


def _bytes(seed: str, edit: Callable[[bytearray], bytes | bytearray]) -> Callable[[dict[str, Seed], Path], None]:
    def make(seeds: dict[str, Seed], path: Path) -> None:
        path.write_bytes(bytes(edit(bytearray(seeds[seed].data))))

    return make


def _dicom(seed: str, edit: Callable) -> Callable[[dict[str, Seed], Path], None]:
    """A DICOM seed read with pydicom, changed by ``edit(ds)``, written back without validation."""

    def make(seeds: dict[str, Seed], path: Path) -> None:
        import pydicom

        ds = pydicom.dcmread(io.BytesIO(seeds[seed].data), force=True)
        edit(ds)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=False)
        path.write_bytes(out.getvalue())

    return make


def _text(seed: str, old: str, new: str) -> Callable[[dict[str, Seed], Path], None]:
    return _bytes(seed, lambda b: bytes(b).replace(old.encode(), new.encode(), 1))


def _at(data: bytearray, offset: int, value: int, size: int, order: str = "big") -> bytearray:
    data[offset : offset + size] = value.to_bytes(size, order)
    return data


def _png_crc_fixed(data: bytearray) -> bytearray:
    from fuzz_mutations import _repair_png_crcs

    return _repair_png_crcs(data)


def _folder(seed: str, change: Callable[[Path], None]) -> Callable[[dict[str, Seed], Path], None]:
    def make(seeds: dict[str, Seed], path: Path) -> None:
        for rel, data in seeds[seed].files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(data)
        change(path)

    return make


def _symlink_loop(folder: Path) -> None:
    os.symlink("b.png", folder / "a.png")
    os.symlink("a.png", folder / "b.png")


def _set(**values) -> Callable:
    def edit(ds) -> None:
        for keyword, value in values.items():
            if value is None:
                delattr(ds, keyword)
            else:
                setattr(ds, keyword, value)

    return edit


def _set_meta(**values) -> Callable:
    def edit(ds) -> None:
        for keyword, value in values.items():
            setattr(ds.file_meta, keyword, value)

    return edit


def _rows_as_2gb_un(data: bytearray) -> bytearray:
    at = data.index(b"\x28\x00\x10\x00US")  # (0028,0010) Rows becomes an UN element declaring 2 GiB
    data[at + 4 : at + 12] = b"UN\x00\x00" + (0x7FFFFFF0).to_bytes(4, "little")
    return data


def _as_h264(ds) -> None:
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([b"\x00\x00\x00\x01" + bytes(60)])  # where an H.264 stream would be
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.102"


def _csv(text: bytes) -> Callable[[dict[str, Seed], Path], None]:
    return lambda seeds, path: path.write_bytes(text)


ENTRIES: tuple[Entry, ...] = (
    # --- DICOM: frame counts, lookup tables, lengths, transfer syntaxes, image attributes ---
    Entry("dicom_frames_zero.dcm", "sweep", _dicom("dicom_native", _set(NumberOfFrames=0)), "the header declares 0 frames (NumberOfFrames)"),
    Entry("dicom_frames_fewer_declared.dcm", "sweep", _dicom("dicom_native", _set(NumberOfFrames=2)), "the header declares 2 frames, the pixel data holds 6"),
    Entry("dicom_frames_more_declared.dcm", "sweep", _dicom("dicom_native", _set(NumberOfFrames=9)), "the header declares 9 frames, the pixel data holds 6"),
    Entry("dicom_jpeg_cine_short.dcm", "sweep", _dicom("dicom_jpeg_cine", _set(NumberOfFrames=60)), "the header declares 60 frames, the pixel data holds 30"),
    Entry("dicom_jpeg_cine_no_frame_count.dcm", "sweep", _dicom("dicom_jpeg_cine", _set(NumberOfFrames=None)), "the header declares 1 frame, the pixel data holds 30"),
    Entry("dicom_one_spacing_value.dcm", "sweep", _dicom("dicom_native", _set(PixelSpacing=0.2, SequenceOfUltrasoundRegions=None)), None),  # was a TypeError
    Entry("dicom_frame_times_overflow.dcm", "sweep", _dicom("dicom_native", _set(FrameTimeVector=[1e308] * 6)), None),  # were inf timestamps
    Entry("dicom_palette_no_red.dcm", "sweep", _dicom("dicom_palette", _set(RedPaletteColorLookupTableData=None)), "the palette colour lookup table is missing or damaged"),
    Entry("dicom_palette_no_green.dcm", "sweep", _dicom("dicom_palette", _set(GreenPaletteColorLookupTableData=None)), "the palette colour lookup table is missing or damaged"),
    Entry("dicom_rows_zero.dcm", "sweep", _dicom("dicom_native", _set(Rows=0)), "the DICOM has no image (no Rows / Columns)"),
    Entry("dicom_columns_two_values.dcm", "sweep", _dicom("dicom_native", _set(Columns=[32, 32])), "invalid Columns value"),
    Entry("dicom_huge_frames.dcm", "sweep", _dicom("dicom_native", _set(Rows=4000, Columns=4000, NumberOfFrames=900)), "above the limit of 64.0 MiB"),
    Entry("dicom_side_too_large.dcm", "sweep", _dicom("dicom_native", _set(Rows=60000)), "exceeds the limit of 4096 px a side"),
    Entry("dicom_element_length_2gb.dcm", "sweep", _bytes("dicom_native", _rows_as_2gb_un), "past the end of the file"),
    Entry("dicom_unknown_transfer_syntax.dcm", "sweep", _dicom("dicom_native", _set_meta(TransferSyntaxUID="1.2.3.4")), "unknown transfer syntax '1.2.3.4'"),
    Entry("dicom_two_transfer_syntaxes.dcm", "sweep", _text("dicom_native", "1.2.840.10008.1.2.1\x00", "1.2.840.10008.1.2\\1\x00"), "invalid transfer syntax"),
    Entry("dicom_mpeg.dcm", "sweep", _dicom("dicom_native", _as_h264), "video-compressed DICOM"),
    Entry("dicom_no_pixels.dcm", "sweep", _dicom("dicom_native", _set(PixelData=None)), "the DICOM has no pixel data"),
    Entry("dicom_cut_in_pixels.dcm", "sweep", _bytes("dicom_native", lambda b: b[: len(b) - 1000]), "the pixel data is truncated"),
    Entry("dicom_cut_in_header.dcm", "sweep", _bytes("dicom_native", lambda b: b[:300]), "DICOM"),
    Entry("dicom_mr.dcm", "sweep", _dicom("dicom_native", _set(Modality="MR", SOPClassUID="1.2.840.10008.5.1.4.1.1.4")), "not an ultrasound DICOM (modality MR)"),
    Entry("dicom_no_preamble.dcm", "sweep", _bytes("dicom_native", lambda b: b[132:]), None),  # no preamble, no "DICM": still read
    # --- PNG / JPEG stills: header fields and chunk lengths ---
    Entry("png_width_zero.png", "sweep", _bytes("png", lambda b: _png_crc_fixed(_at(b, 16, 0, 4))), "is empty"),
    Entry("png_width_huge.png", "sweep", _bytes("png", lambda b: _png_crc_fixed(_at(b, 16, 100000, 4))), "exceeds the limit of 4096 px a side"),
    Entry("png_idat_2gb.png", "sweep", _bytes("png", lambda b: _at(b, 33, 0x80000000, 4)), "chunk 'IDAT' at byte 33 declares 2147483648 bytes"),
    Entry("png_no_iend.png", "sweep", _bytes("png", lambda b: b[:-12]), "the file ends before its IEND chunk"),
    Entry("png_bad_crc.png", "sweep", _bytes("png", lambda b: _at(b, 29, 0, 4)), "cannot decode the image"),
    Entry("jpeg_no_eoi.jpg", "sweep", _bytes("jpeg", lambda b: b[:-50]), "the JPEG is truncated (no end-of-image marker)"),
    Entry("jpeg_app0_length_zero.jpg", "sweep", _bytes("jpeg", lambda b: _at(b, 4, 0, 2)), None),  # libjpeg reads on
    Entry("jpeg_sof_huge.jpg", "still", _bytes("jpeg", lambda b: _at(b, b.index(b"\xff\xc0") + 5, 0xFFFF, 2)), "exceeds the limit of 4096 px a side"),
    # --- videos ---
    Entry("mp4_cut.mp4", "sweep", _bytes("mp4", lambda b: b[: len(b) // 3]), "the video is truncated"),
    Entry("mp4_empty_mdat.mp4", "sweep", _bytes("mp4", lambda b: b[:32]), "the video is truncated: its 'moov' index is missing"),
    Entry("avi_cut.avi", "sweep", _bytes("avi", lambda b: b[:4000]), "truncated"),
    # --- folders of frames ---
    Entry("frames_symlink_loop", "sweep", _folder("frames_folder", _symlink_loop), None),
    Entry("frames_two_sizes", "sweep", _folder("frames_folder", lambda f: (f / "f9.png").write_bytes(synthetic_png(8, 8))), "all frames of a folder must have one size"),
    Entry("frames_none", "sweep", _folder("frames_folder", lambda f: [p.unlink() for p in f.iterdir()]), "folder holds no PNG or JPEG frames"),
    # --- volumes ---
    Entry("nifti_huge_dims.nii", "volume", _bytes("nifti", lambda b: _at(_at(b, 42, 30000, 2, "little"), 44, 30000, 2, "little")), "above the limit of 64.0 MiB"),
    Entry("nifti_vox_offset_zero.nii", "volume", _bytes("nifti", lambda b: _at(b, 108, 0, 4, "little")), None),  # nibabel repairs it, silently
    Entry("nifti_datatype_unknown.nii", "volume", _bytes("nifti", lambda b: _at(b, 70, 5, 2, "little")), "data code 5 not recognized"),
    Entry("nifti_gz_damaged_stream.nii.gz", "volume", _bytes("nifti_gz", lambda b: b[:20] + bytes(40) + b[60:]), "not a readable image, video, DICOM or volume"),
    Entry("mha_no_dimsize.mha", "volume", _text("mha", "DimSize", "DimSighs"), "cannot read the volume"),
    Entry("mha_huge_dimsize.mha", "volume", _text("mha", "DimSize = 6 5 4", "DimSize = 60000 50000 4"), "above the limit of 64.0 MiB"),
    Entry("mha_cut_data.mha", "volume", _bytes("mha", lambda b: b[:-100]), "cannot read the volume"),
    Entry("nrrd_type_3000_chars.nrrd", "volume", _text("nrrd", "type: short", "type: " + "x" * 3000), "header line 4 has 3006 characters"),  # crashed ITK
    Entry("mha_unknown_element_type.mha", "volume", _text("mha", "MET_SHORT", "MET_QUATERNION"), "unknown element type 'MET_QUATERNION'"),
    Entry("nrrd_huge_sizes.nrrd", "volume", _text("nrrd", "sizes: 6 5 4", "sizes: 60000 50000 4"), "above the limit of 64.0 MiB"),
    # --- evaluation CSVs ---
    Entry("predictions_no_score.csv", "predictions", _csv(PREDICTIONS_CSV.replace(b"score", b"scroe", 1)), "missing column(s) score"),
    Entry("predictions_nan.csv", "predictions", _csv(PREDICTIONS_CSV.replace(b"0.91", b"nan")), "not a finite number: 'nan'"),
    Entry("predictions_label_two.csv", "predictions", _csv(PREDICTIONS_CSV.replace(b"c1,1,", b"c1,2,")), "must be 0 or 1, got '2'"),
    Entry("predictions_escape_sequence.csv", "predictions", _csv(PREDICTIONS_CSV.replace(b"0.91", b"\x1b[2J")), "not a number: '\\x1b[2J'"),
    Entry("predictions_markup_ids.csv", "predictions", _csv(PREDICTIONS_CSV.replace(b"c1,", b"[/bold]c1,")), None),
    Entry("readers_huge_cell.csv", "readers", _csv(READERS_CSV.replace(b"r1,junior,c1", b"r1,junior," + b"x" * 3000)), "unknown case id 'xxxx"),
    Entry("readers_empty.csv", "readers", _csv(b""), "empty file (no header line)"),
    # --- datasets ---
    Entry("dataset_json_not_json", "dataset_load", _folder("dataset", lambda f: (f / "dataset.json").write_text("{not json")), "dataset.json"),
    Entry("dataset_case_loop", "validate", _folder("dataset", lambda f: os.symlink("loop", f / "cases" / "loop")), "stray file in cases/"),
    Entry("dataset_sweep_garbage", "validate", _folder("dataset", lambda f: (f / "cases" / "a01" / "sagittal.dcm").write_bytes(b"\x00" * 300)), "not a readable image"),
    # --- odd names ---
    Entry("scan [copy].png", "sweep", _bytes("png", lambda b: b), None),
    Entry("tab\tin name.mp4", "sweep", _bytes("png", lambda b: b[:40]), "tab\\tin name.mp4: the PNG is truncated or corrupt"),
)


#: Entries made from pydicom's test files, by the seed they need.
PYDICOM_NEEDED = {e.name: s for e in ENTRIES for s in ("dicom_jpeg_cine", "dicom_palette") if e.name.startswith(s)}


def synthetic_png(h: int, w: int) -> bytes:
    import cv2
    import numpy as np

    return cv2.imencode(".png", np.zeros((h, w), np.uint8))[1].tobytes()


def all_seeds() -> dict[str, Seed]:
    return {**synthetic_seeds(), **real_seeds()}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    seeds = all_seeds()
    for entry in ENTRIES:
        entry.make(seeds, out / entry.name)
    print(f"wrote {len(ENTRIES)} malformed inputs to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
