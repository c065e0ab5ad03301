#!/usr/bin/env bash
# golden-venv.sh — create (or refresh) the Python virtualenv used to produce the
# golden reference fixtures from the reference stack (PyTorch + transformers + peft).
#
#   bash scripts/golden-venv.sh            # creates/updates .venv-golden at the repo root
#   .venv-golden/bin/python scripts/make_golden.py
#
# The venv lives at <repo>/.venv-golden (git-ignored by the `.venv*/` pattern) and is
# never needed by `swift build` / `swift test`: the fixtures it produces are committed.
#
# Idempotent: re-running it only installs what is missing or at the wrong version.
#
# torch: the machine image ships a CPU-only wheel in /opt/wheels
# (torch-2.13.0+cpu, ~190 MB).  pip is pointed at it with --find-links, and the
# specifier `torch==2.13.0` matches the local `+cpu` build first.  Where that wheel is
# absent pip falls back to the plain PyPI torch 2.13.0 (which pulls the large CUDA
# runtime wheels; only the CPU is used either way).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/pinned-venv.sh
source "$ROOT/scripts/lib/pinned-venv.sh"
VENV="${GOLDEN_VENV:-$ROOT/.venv-golden}"
PY="${PYTHON:-python3}"

# Pinned versions the committed fixtures were produced with.
TORCH_VERSION="2.13.0"
PINS=(
  "transformers==5.24.0"
  "tokenizers==0.23.3"
  "gguf==0.19.0"
  "peft==0.21.2"
  "safetensors==0.8.0"
  "numpy==2.4.6"
  "sentencepiece==0.2.3"
  "protobuf==7.36.2"
  "accelerate==1.16.0"   # transformers needs it to load a GGUF model (make_golden.py --gemma3)
)

pinned_venv "$VENV" "$PY" "$TORCH_VERSION" "${PINS[@]}"

"$VENV/bin/python" - <<'EOF'
# Print the installed versions (distribution metadata: `gguf` has no __version__).
import sys
from importlib.metadata import version, PackageNotFoundError
print("python", sys.version.split()[0])
for dist in ["torch", "transformers", "tokenizers", "gguf", "peft", "safetensors",
             "numpy", "sentencepiece", "protobuf"]:
    try:
        print(f"{dist:14s} {version(dist)}")
    except PackageNotFoundError:
        print(f"{dist:14s} MISSING")
import torch
print("torch cuda build:", torch.version.cuda, "| cuda available:", torch.cuda.is_available())
EOF
