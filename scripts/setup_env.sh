# Sourced by scripts/demo.sh and scripts/test.sh (not run on its own).
# neocus_setup EXTRAS: make (or reuse) the project-local virtual environment .venv with `python3 -m venv`,
# install PyTorch (CPU is enough) and then neocus into it, and set NEOCUS_PY to its python.
# The python3 that runs this is only used to create .venv: nothing is installed into it, so a
# system (externally managed) Python, pyenv or conda stays untouched.
# NEOCUS_VENV overrides the folder (default: .venv in the repository).

neocus_setup() {
  local extras="${1:-}" venv="${NEOCUS_VENV:-.venv}"
  if [ -e "$venv" ] && ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
    echo "setup: $venv exists but holds no working Python; remove it (rm -rf $venv) and run this again" >&2
    return 1
  fi
  if [ ! -e "$venv" ]; then
    command -v python3 >/dev/null 2>&1 || { echo "setup: python3 not found; install Python >= 3.11" >&2; return 1; }
    python3 -c "import sys; sys.exit(sys.version_info < (3, 11))" \
      || { echo "setup: neocus needs Python >= 3.11, python3 is $(python3 -V 2>&1)" >&2; return 1; }
    echo "setup: creating the virtual environment $venv (python3 -m venv)"
    if ! python3 -m venv "$venv"; then
      rm -rf "$venv"
      echo "setup: python3 -m venv failed; on Debian / Ubuntu install it first: apt-get install python3-venv" >&2
      return 1
    fi
  else
    echo "setup: reusing the virtual environment $venv"
  fi
  NEOCUS_PY="$venv/bin/python"
  echo "setup: installing PyTorch and neocus into $venv (the first time takes a few minutes)"
  "$NEOCUS_PY" -m pip install -q --upgrade pip || return 1
  "$NEOCUS_PY" -m pip install -q torch==2.13.0 || return 1
  "$NEOCUS_PY" -m pip install -q -e ".$extras" || return 1
}

neocus_activate_hint() {
  echo "To use neocus yourself: source ${NEOCUS_VENV:-.venv}/bin/activate   (then: neocus --help; leave with: deactivate)"
}
