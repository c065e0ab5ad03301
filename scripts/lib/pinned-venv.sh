# pinned-venv.sh — sourced by the scripts that need a Python virtualenv with PyTorch.
#
#   pinned_venv VENV PYTHON TORCH_VERSION [PIN ...]
#
# Creates VENV with PYTHON when it is missing, then installs torch==TORCH_VERSION and the exact
# PINs. torch comes from the CPU-only wheel in /opt/wheels where that directory exists (pip is
# pointed at it with --find-links, and the specifier matches the local `+cpu` build first);
# elsewhere pip falls back to PyPI. Idempotent: `pip install` with exact pins is a no-op when
# they are already satisfied.
pinned_venv() {
  local venv="$1" python="$2" torch_version="$3"
  shift 3
  if [ ! -x "$venv/bin/python" ]; then
    echo "creating virtualenv at $venv"
    "$python" -m venv "$venv"
  fi
  local pip=("$venv/bin/python" -m pip --disable-pip-version-check)
  local find_links=()
  if [ -d /opt/wheels ]; then
    find_links=(--find-links /opt/wheels)
  fi
  # torch first, on its own, so the local CPU wheel is picked before any dependency
  # resolution could prefer the CUDA build.
  if ! "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$torch_version' else 1)" 2>/dev/null; then
    "${pip[@]}" install "${find_links[@]}" "torch==$torch_version"
  fi
  "${pip[@]}" install -q "${find_links[@]}" "torch==$torch_version" "$@"
}
