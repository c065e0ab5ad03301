#!/usr/bin/env bash
# bench-llamacpp.sh — llama.cpp's own CPU forward on our model file, as a baseline for
# `fedpilot bench forward --compute int8`.
#
#   bash scripts/bench-llamacpp.sh [--threads T] [--prompt P] [--model FILE] [--version V]
#
# Defaults: --threads 2, --prompt 512, --model models/SmolLM2-135M-Instruct.Q4_1.gguf, the newest
# llama-cpp-python on PyPI (or --version). What it does:
#   1. pip download --no-binary :all: --no-deps llama-cpp-python[==V]  (the sdist, which vendors
#      llama.cpp's sources under vendor/llama.cpp), into $LLAMACPP_DIR (default
#      /tmp/fedpilot-llamacpp; kept, so a second run reuses the build);
#   2. cmake -DGGML_NATIVE=ON (CPU only: no CUDA/Metal/Vulkan, no curl), builds the llama-bench
#      target (Release);
#   3. runs  llama-bench -m MODEL -p P -n 0 -t T  and prints its table (pp P = prompt
#      processing of P tokens in one batch: tokens/s, mean ± std over its repetitions).
# cmake comes from apt-get when missing (root). `uptime` is printed before the run: the figure
# is only comparable with ours when measured back to back under the same load.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

THREADS=2 PROMPT=512 VERSION=""
MODEL="models/SmolLM2-135M-Instruct.Q4_1.gguf"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --prompt) PROMPT="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --version) VERSION="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench-llamacpp: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$MODEL" ] || { echo "bench-llamacpp: model $MODEL not found (scripts/fetch-model.sh fetches it)" >&2; exit 1; }
MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"

DIR="${LLAMACPP_DIR:-/tmp/fedpilot-llamacpp}"
mkdir -p "$DIR"
PY="${PYTHON:-python3}"

if ! command -v cmake >/dev/null; then
  echo "== cmake missing: apt-get install cmake"
  apt-get install -y cmake >/dev/null || { apt-get update >/dev/null && apt-get install -y cmake >/dev/null; }
fi

# ---- 1. the source archive --------------------------------------------------------------------
spec="llama-cpp-python${VERSION:+==$VERSION}"
archive=$(ls "$DIR"/llama_cpp_python-"${VERSION:-}"*.tar.gz 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$archive" ]; then
  echo "== pip download --no-binary :all: --no-deps $spec"
  "$PY" -m pip download --quiet --no-binary :all: --no-deps "$spec" -d "$DIR"
  archive=$(ls "$DIR"/llama_cpp_python-*.tar.gz | sort -V | tail -n 1)
fi
src="$DIR/$(basename "$archive" .tar.gz)"
[ -d "$src" ] || tar -xzf "$archive" -C "$DIR"
LLAMA="$src/vendor/llama.cpp"
[ -f "$LLAMA/CMakeLists.txt" ] || { echo "bench-llamacpp: $archive has no vendor/llama.cpp" >&2; exit 1; }
echo "== llama.cpp from $(basename "$archive") (commit $(cd "$LLAMA" && git rev-parse --short HEAD 2>/dev/null || echo 'not recorded in the archive'))"

# ---- 2. build llama-bench (CPU only, native) ---------------------------------------------------
BUILD="$src/build-cpu"
BENCH="$BUILD/bin/llama-bench"
if [ ! -x "$BENCH" ]; then
  echo "== building llama-bench in $BUILD"
  cmake -S "$LLAMA" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_CUDA=OFF \
    -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENMP=ON -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >"$DIR/cmake.log" 2>&1 \
    || { tail -n 20 "$DIR/cmake.log" >&2; exit 1; }
  cmake --build "$BUILD" --target llama-bench -j "$(nproc)" >"$DIR/build.log" 2>&1 \
    || { tail -n 20 "$DIR/build.log" >&2; exit 1; }
fi

# ---- 3. run --------------------------------------------------------------------------------------
echo "== $(uptime)"
echo "== llama-bench -m $MODEL -p $PROMPT -n 0 -t $THREADS"
"$BENCH" -m "$MODEL" -p "$PROMPT" -n 0 -t "$THREADS"
