"""The set-up of scripts/demo.sh and scripts/test.sh (scripts/setup_env.sh): it installs into a
project-local virtual environment and never into the ``python3`` that runs it.

A stand-in ``python3`` on PATH records how it is called and creates a stand-in virtual environment
whose ``python`` records its calls too, so the order and target of every install are checked without
downloading anything. (The real thing, on Debian's externally managed Python, is described in
README.md and was checked by hand on a fresh clone.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON3 = r"""#!/usr/bin/env bash
echo "python3 $*" >> "$LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/usr/bin/env bash\necho "venv-python $*" >> "$LOG"\n' > "$3/bin/python"
  chmod +x "$3/bin/python"
  exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "error: externally-managed-environment" >&2
  exit 1
fi
exit 0
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _setup(tmp_path: Path, extras: str = "[test]") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "python3"
    fake.write_text(FAKE_PYTHON3)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "NEOCUS_VENV": str(tmp_path / "venv")}
    script = f'. scripts/setup_env.sh && neocus_setup "{extras}" && echo "PY=$NEOCUS_PY" && neocus_activate_hint'
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


def test_installs_go_into_the_project_environment_torch_first(tmp_path: Path) -> None:
    done, calls = _setup(tmp_path)
    assert done.returncode == 0, done.stderr
    assert not any(c.startswith("python3 -m pip") for c in calls), calls  # the caller's Python is never installed into
    assert f"python3 -m venv {tmp_path / 'venv'}" in calls
    installs = [c for c in calls if c.startswith("venv-python -m pip install")]
    assert installs[-2:] == ["venv-python -m pip install -q torch==2.13.0", "venv-python -m pip install -q -e .[test]"]
    assert f"PY={tmp_path / 'venv'}/bin/python" in done.stdout
    assert re.search(r"source \S*venv/bin/activate", done.stdout)


def test_an_existing_environment_is_reused(tmp_path: Path) -> None:
    _setup(tmp_path)
    (tmp_path / "calls.log").unlink()
    done, calls = _setup(tmp_path, extras="")
    assert done.returncode == 0 and "reusing" in done.stdout
    assert not any(c.startswith("python3") and "venv" in c for c in calls)  # not made again
    assert calls[-1] == "venv-python -m pip install -q -e ."


def test_a_broken_environment_is_named_not_installed_over(tmp_path: Path) -> None:
    (tmp_path / "venv").mkdir()  # a folder without a working Python
    done, calls = _setup(tmp_path)
    assert done.returncode != 0
    assert "holds no working Python" in done.stderr and "rm -rf" in done.stderr
    assert not any("pip" in c for c in calls)


def test_ci_runs_the_readme_test_command_and_installs_nothing_itself() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci and "bash scripts/test.sh" in (ROOT / "README.md").read_text()
    for path in (ROOT / ".ci" / "run", *sorted((ROOT / "scripts").glob("*.sh"))):
        text = path.read_text()
        assert not re.search(r"python3\s+-m\s+pip", text), f"{path.name} installs into the caller's python3"
