"""neocus.atomic.atomic_dir: a folder appears whole or not at all."""

from __future__ import annotations

import pytest

from neocus.atomic import atomic_dir


def test_replaces_on_success_and_keeps_the_old_on_failure(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "b.txt").write_text("2")
            raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    with atomic_dir(out) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders left behind


def test_outputs_follow_the_umask_not_the_temporary_files_0600(tmp_path):
    """Files and folders written atomically get the permissions the user's umask gives."""
    import os
    import stat

    from neocus.atomic import atomic_dir, atomic_write_text

    old = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "b.txt").write_text("y")
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
        os.umask(0o077)
        g = atomic_write_text(tmp_path / "c.txt", "z")
        assert stat.S_IMODE(g.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_the_one_output_folder_rule(tmp_path):
    """New or empty: written; non-empty: only with force, and then only an earlier output (its marker)."""
    import pytest

    from neocus.atomic import check_output_dir
    from neocus.errors import NeocusError

    check_output_dir(tmp_path / "new")
    out = tmp_path / "out"
    out.mkdir()
    check_output_dir(out)
    (out / "notes.txt").write_text("keep")
    with pytest.raises(NeocusError, match="not empty"):
        check_output_dir(out, marker="metrics.json")
    with pytest.raises(NeocusError, match="holds no metrics.json, so it is not an earlier run"):
        check_output_dir(out, force=True, marker="metrics.json", kind="an earlier run")
    (out / "metrics.json").write_text("{}")
    check_output_dir(out, force=True, marker="metrics.json")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NeocusError, match="not a folder"):
        check_output_dir(tmp_path / "file", force=True)
