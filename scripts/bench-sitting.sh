#!/usr/bin/env bash
# One sitting of issue 17's comparison, back to back on one machine: fedpilot's training in f32,
# int8 (compact activations) and int8 with F32 activations, PyTorch+PEFT right after, the batched
# forward (4 x 128 and 1 x 512) in both modes, and llama.cpp's pp512 on the same Q4_1 file.
#
#   bash scripts/bench-sitting.sh            # 2 passes; PASSES="1 2 3" for three
#
# Each run's output goes to $OUT/<name>-<pass>.out (JSON from fedpilot and bench_peft.py,
# llama-bench's table), its /usr/bin/time -v to .err; before every run the time and
# /proc/loadavg are printed, so the load is on record. Nothing else should run meanwhile.
# Needs: a release build (swift build -c release --product fedpilot; FEDPILOT=... for another
# binary), the golden venv (scripts/golden-venv.sh; GOLDEN_VENV=... for another) and llama-bench
# (built by scripts/bench-llamacpp.sh; LLAMA_BENCH=... for another).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
FP="${FEDPILOT:-$ROOT/.build/release/fedpilot}"
PY="${GOLDEN_VENV:-$ROOT/.venv-golden}/bin/python"
LB="${LLAMA_BENCH:-${LLAMACPP_DIR:-/tmp/fedpilot-llamacpp}/llama_cpp_python-0.3.36/build-cpu/bin/llama-bench}"
MODEL="${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}"
OUT="${OUT:-/tmp/sitting}"
for tool in "$FP" "$PY" "$LB"; do
  [ -x "$tool" ] || { echo "bench-sitting.sh: $tool is missing (see the header of this script)" >&2; exit 1; }
done
mkdir -p "$OUT"
run() {
  local name=$1; shift
  echo "== $name  $(date -u +%H:%M:%S)  load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -v "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || { echo "   failed: see $OUT/$name.err"; return 0; }
  grep -h "Maximum resident" "$OUT/$name.err"
}
for pass in ${PASSES:-1 2}; do
  run train-f32-$pass "$FP" bench train --model "$MODEL" --compute f32 --json
  run train-int8-$pass "$FP" bench train --model "$MODEL" --compute int8 --json
  run train-int8act-$pass "$FP" bench train --model "$MODEL" --compute int8 --saved-activations f32 --json
  run peft-$pass "$PY" scripts/bench_peft.py --batch 4 --seq 128 --rank 8 --targets all --steps 5 --threads 2 --json
  run fwd-f32-$pass "$FP" bench forward --model "$MODEL" --compute f32 --json
  run fwd-int8-$pass "$FP" bench forward --model "$MODEL" --compute int8 --json
  run pp512-f32-$pass "$FP" bench forward --model "$MODEL" --compute f32 --batch 1 --seq 512 --json
  run pp512-int8-$pass "$FP" bench forward --model "$MODEL" --compute int8 --batch 1 --seq 512 --json
  run llama-$pass "$LB" -m "$MODEL" -p 512 -n 0 -t 2
done
echo "== end $(date -u +%H:%M:%S)  load $(cut -d' ' -f1-3 /proc/loadavg)"
