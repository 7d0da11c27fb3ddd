"""Bad input: every case raises InputFileError naming the file, what is wrong and a hint; nothing else escapes."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

from neocus.errors import InputFileError
from neocus.io import DecodeLimits, load_sweep, probe, write_dicom_cine, write_video


def _frames(n: int = 20, h: int = 64, w: int = 80) -> np.ndarray:
    return (np.random.default_rng(0).random((n, h, w)) * 255).astype(np.uint8)


def _error(path: Path, *, found_by_decoding: bool = False, **kwargs) -> InputFileError:
    """load_sweep's error for ``path``; neocus.io.probe refuses the file in the same words, unless the
    problem is ``found_by_decoding`` (then the header is sound and probe reads it)."""
    with pytest.raises(InputFileError) as info:
        load_sweep(path, show_progress=False, **kwargs)
    err = info.value
    assert err.where == str(path) and err.hint  # file, what, hint
    assert "\n" not in err.message  # one line
    if found_by_decoding:
        probe(path, **kwargs)
    else:
        with pytest.raises(InputFileError) as probed:
            probe(path, **kwargs)
        assert probed.value.message == err.message
    return err


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "sweep.mp4"
    path.write_text("this is not a video\n" * 10)
    assert "looks like text" in _error(path).what


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "sweep.mp4"
    path.write_bytes(b"")
    assert "empty" in _error(path).what


def test_unknown_binary(tmp_path: Path) -> None:
    path = tmp_path / "sweep.dcm"
    path.write_bytes(bytes(range(256)) * 4)
    assert "unknown content" in _error(path).what


def test_missing_path(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.mp4").what == "no such file or folder"


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no frames here")
    (tmp_path / "fake.png").write_text("not a png either")
    assert "no PNG or JPEG frames" in _error(tmp_path).what


def test_folder_of_dicom_files(tmp_path: Path) -> None:
    write_dicom_cine(tmp_path / "IM0001", _frames(2), 25.0)
    err = _error(tmp_path)
    assert err.what == "folder holds no PNG or JPEG frames, only dicom files" and "one at a time" in err.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_video(tmp_path / "sweep.mp4", _frames(), 25.0)
    path.chmod(0)
    try:
        assert _error(path).what == "permission denied"
    finally:
        path.chmod(0o600)


def test_unreadable_file_reported_by_access_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the same branch as above, reachable when the tests run as root
    path = write_video(tmp_path / "sweep.mp4", _frames(), 25.0)
    import neocus.io.sniff

    monkeypatch.setattr(neocus.io.sniff.os, "access", lambda *_a, **_k: False)
    assert _error(path).what == "permission denied"


def test_truncated_mp4(tmp_path: Path) -> None:
    data = write_video(tmp_path / "ok.mp4", _frames(), 25.0).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _error(path).what


def test_zero_frame_mp4(tmp_path: Path) -> None:
    path = tmp_path / "zero.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (80, 64), False)
    writer.release()
    assert "no frames" in _error(path).what


def test_zero_frame_avi(tmp_path: Path) -> None:
    path = tmp_path / "zero.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (80, 64), True)
    writer.release()
    assert "no frames" in _error(path).what


def test_truncated_avi_decodes_fewer_frames_than_listed(tmp_path: Path) -> None:
    path = tmp_path / "ok.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (80, 64), True)
    for frame in _frames(40):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    err = _error(cut, found_by_decoding=True)
    assert "ends early" in err.what and "of the 40 frames" in err.what


def test_corrupt_mp4_payload(tmp_path: Path) -> None:
    data = bytearray(write_video(tmp_path / "ok.mp4", _frames(), 25.0).read_bytes())
    data[200 : len(data) // 2] = bytes(len(data) // 2 - 200)  # zero most of the media data
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    assert "ends early" in _error(path, found_by_decoding=True).what


def test_truncated_dicom_pixel_data(tmp_path: Path) -> None:
    data = write_dicom_cine(tmp_path / "ok.dcm", _frames(), 25.0).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) // 2])
    err = _error(path)
    assert err.what.startswith("the pixel data is truncated: the file has") and "100.0 KiB" in err.what


def test_truncated_dicom_header(tmp_path: Path) -> None:
    data = write_dicom_cine(tmp_path / "ok.dcm", _frames(), 25.0).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:300])
    _error(path)


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", _frames(), 25.0))
    del ds.PixelData
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path)
    assert _error(path).what == "the DICOM has no pixel data"


def test_corrupt_jpeg_frame_in_dicom(tmp_path: Path) -> None:
    from io_testdata import dicom_test_file

    ds = pydicom.dcmread(dicom_test_file("examples_ybr_color.dcm"))
    frames = list(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=30))
    frames[3] = frames[3][:40]  # a cut JPEG stream
    ds.PixelData = pydicom.encaps.encapsulate(frames)
    path = tmp_path / "corrupt.dcm"
    ds.save_as(path)
    assert "cannot decode the pixel data (JPEG Baseline" in _error(path, found_by_decoding=True).what


def test_huge_dicom_is_refused_from_its_header(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", _frames(2), 25.0))
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4000, 4000, 1000  # 16 GB decoded; the file holds 10 kB
    path = tmp_path / "huge.dcm"
    ds.save_as(path)
    err = _error(path, limits=DecodeLimits(max_bytes=1024**3))
    assert "1000 frames of 4000x4000" in err.what and "14.9 GiB" in err.what
    ds.Columns = 9000
    ds.save_as(path)
    assert "exceeds the limit of 8192 px" in _error(path).what


def test_huge_png_is_refused_before_decoding(tmp_path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)  # claims 100000 x 100000 grey
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    assert "100000x100000 exceeds the limit" in _error(path).what


def test_frame_side_limit_applies_to_videos_before_decoding(tmp_path: Path) -> None:
    path = write_video(tmp_path / "ok.mp4", _frames(3), 25.0)
    assert "80x64 exceeds the limit of 70 px a side" in _error(path, limits=DecodeLimits(max_side=70)).what


def test_memory_cap_applies_while_decoding_a_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "ok.mp4", _frames(20), 25.0)
    err = _error(path, limits=DecodeLimits(max_bytes=10 * 64 * 80))
    assert "above the limit" in err.what


def test_memory_cap_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_video(tmp_path / "ok.mp4", _frames(20), 25.0)
    monkeypatch.setenv("NEOCUS_MAX_DECODE_BYTES", str(5 * 64 * 80))
    assert "above the limit of 25.0 KiB" in _error(path).what
    monkeypatch.setenv("NEOCUS_MAX_DECODE_BYTES", "lots")
    with pytest.raises(InputFileError, match="must be an integer"):
        load_sweep(path)


def test_corrupt_png(tmp_path: Path) -> None:
    _ok, png = cv2.imencode(".png", _frames(1)[0])
    path = tmp_path / "cut.png"
    path.write_bytes(png.tobytes()[:60])
    assert _error(path).what.startswith("the PNG is truncated or corrupt: chunk 'IDAT' at byte 33 declares")  # seen in the chunk headers


def test_volume_given_to_load_sweep(tmp_path: Path) -> None:
    import nibabel as nib

    path = tmp_path / "brain.nii"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), path)
    err = _error(path)
    assert "3-D volume" in err.what and "load_volume" in err.hint


@pytest.mark.parametrize("name", ["examples_ybr_color.dcm", "OBXXXX1A_rle_2frame.dcm", "examples_jpeg2k.dcm"])
def test_truncated_compressed_dicom(tmp_path: Path, name: str, recwarn: pytest.WarningsRecorder) -> None:
    from io_testdata import dicom_test_file

    data = Path(dicom_test_file(name)).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: int(len(data) * 0.6)])
    assert _error(path).what == "the pixel data is truncated: the file ends inside it"
    assert not [w for w in recwarn if "pydicom" in str(w.filename)]  # no warning leaks to the user


def test_truncated_jpeg_still(tmp_path: Path) -> None:
    _ok, jpeg = cv2.imencode(".jpg", _frames(1)[0])
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg.tobytes()[:-100])
    assert _error(path).what == "the JPEG is truncated (no end-of-image marker)"


def test_unknown_transfer_syntax(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", _frames(2), 25.0))
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    path = tmp_path / "private.dcm"
    ds.save_as(path, enforce_file_format=False)
    assert _error(path).what == "unknown transfer syntax '1.2.3.4.5.6'"


def test_damaged_image_attribute(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", _frames(2), 25.0))
    ds.Columns = [80, 80]  # two values where one belongs
    path = tmp_path / "damaged.dcm"
    ds.save_as(path)
    assert _error(path).what == "invalid Columns value '[80, 80]'"


def test_video_compressed_dicom_is_refused_with_advice(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", _frames(2), 25.0))
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00\x00\x00\x01" + bytes(60)])  # an H.264 stream would go here
    ds.file_meta.TransferSyntaxUID = pydicom.uid.MPEG4HP41
    path = tmp_path / "h264.dcm"
    ds.save_as(path)
    err = _error(path)
    assert err.what == "video-compressed DICOM (MPEG-4 AVC/H.264 High Profile / Level 4.1) is not supported"
    assert "MP4" in err.hint


# --- issue #8: five readers' failures found with hostile input ---------------------------------------


def test_frames_folder_with_a_symlink_loop_reads_its_frames(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "f1.png"), _frames(1)[0])
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")  # a -> b -> a: stat() on either fails with ELOOP
    assert load_sweep(tmp_path, show_progress=False).frames.shape == (1, 64, 80)
    assert probe(tmp_path).frames == 1


def test_palette_dicom_without_its_red_table(tmp_path: Path) -> None:
    from io_testdata import dicom_test_file

    ds = pydicom.dcmread(dicom_test_file("examples_palette.dcm"))
    del ds.RedPaletteColorLookupTableData
    path = tmp_path / "no_red.dcm"
    ds.save_as(path)
    assert _error(path).what.startswith("the palette colour lookup table is missing or damaged")


def test_multiframe_dicom_declaring_zero_frames(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", frames=_frames(6), fps=25.0))
    ds.NumberOfFrames = 0
    path = tmp_path / "zero.dcm"
    ds.save_as(path)
    assert _error(path).what == "the header declares 0 frames (NumberOfFrames)"


def test_uncompressed_dicom_holding_more_frames_than_declared(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "ok.dcm", frames=_frames(6), fps=25.0))
    ds.NumberOfFrames = 2  # the pixel data holds 6: reading 2 would drop 4 silently
    path = tmp_path / "more.dcm"
    ds.save_as(path)
    assert _error(path).what == "the header declares 2 frames, the pixel data holds 6"


def test_jpeg_cine_dicom_holding_fewer_frames_than_declared(tmp_path: Path) -> None:
    from io_testdata import dicom_test_file

    ds = pydicom.dcmread(dicom_test_file("examples_ybr_color.dcm"))  # 30 JPEG frames
    ds.NumberOfFrames = 60
    path = tmp_path / "short.dcm"
    ds.save_as(path)
    assert _error(path).what == "the header declares 60 frames, the pixel data holds 30"


def test_corrupt_png_prints_nothing_but_the_error(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    png = bytearray(cv2.imencode(".png", _frames(1)[0])[1].tobytes())
    png[60:70] = bytes(10)  # damaged compressed data: libpng / OpenCV complain on file descriptor 2
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(png))
    with pytest.raises(InputFileError):
        load_sweep(path, show_progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_png_chunk_length_lie_is_refused_before_allocating(tmp_path: Path) -> None:
    png = bytearray(cv2.imencode(".png", _frames(1)[0])[1].tobytes())
    png[33:37] = (0x80000000).to_bytes(4, "big")  # IDAT claims 2 GiB: OpenCV would allocate it (fuzz finding)
    path = tmp_path / "lie.png"
    path.write_bytes(bytes(png))
    assert "chunk 'IDAT' at byte 33 declares 2147483648 bytes" in _error(path).what


def test_dicom_header_length_lie_is_refused_before_allocating(tmp_path: Path) -> None:
    data = bytearray(write_dicom_cine(tmp_path / "ok.dcm", frames=_frames(2), fps=25.0).read_bytes())
    at = data.index(b"\x28\x00\x10\x00US")  # (0028,0010) Rows, explicit VR: 2-byte length at +6
    data[at + 4 : at + 8] = b"UN\x00\x00"  # now an UN element with a 4-byte length ...
    data[at + 8 : at + 12] = (0x7FFFFFF0).to_bytes(4, "little")  # ... of 2 GiB (fuzz finding)
    path = tmp_path / "lie.dcm"
    path.write_bytes(bytes(data))
    assert "past the end of the file" in _error(path).what


def test_file_name_with_a_tab_and_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a\tb\nc.mp4"
    path.write_text("text")
    err = _error(path)
    assert "a\\tb\\nc.mp4: not a readable image" in err.message and err.message.isprintable()


def test_native_stderr_is_silenced_only_inside_the_block(capfd: pytest.CaptureFixture[str]) -> None:
    from neocus.io.decode import native_stderr_silenced

    with native_stderr_silenced():
        os.write(2, b"libpng warning: hidden\n")  # what a C library writes straight to file descriptor 2
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"
