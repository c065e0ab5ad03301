#!/usr/bin/env bash
# quant-venv.sh — create (or refresh) the small virtualenv that scripts/make_quant_fixture.py runs in:
# the `gguf` package (its reference dequantizer, gguf.quants) and numpy, pinned. No torch.
#
#   bash scripts/quant-venv.sh
#   .venv-quant/bin/python scripts/make_quant_fixture.py
#
# The venv lives at <repo>/.venv-quant (git-ignored by `.venv*/`); swift build and swift test never
# need it, because the fixture it writes is committed. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QUANT_VENV:-$ROOT/.venv-quant}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv at $VENV"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip --disable-pip-version-check install -q "gguf==0.19.0" "numpy==2.4.6"
"$VENV/bin/python" -c "from importlib.metadata import version as v; print('gguf', v('gguf'), '| numpy', v('numpy'))"
