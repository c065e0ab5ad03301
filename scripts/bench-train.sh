#!/usr/bin/env bash
# bench-train.sh — LoRA training throughput: fedpilot vs PyTorch + PEFT, same machine, one after
# the other, same settings and thread count.
#
#   bash scripts/bench-train.sh [--model GGUF] [--steps N] [--threads T] [--targets "all qv"]
#                               [--attn sdpa|eager] [--wait-idle SECONDS] [--boost]
#
# --model (or MODEL in the environment) picks the file, SmolLM2-135M by default; Gemma 3 270M is
# `--model models/gemma-3-270m-q4_k_m.gguf` (scripts/fetch-gemma.sh), loaded on the PyTorch side
# as Gemma3ForCausalLM.
#
# Defaults: --steps 5, --threads $(nproc), --targets "all qv", batch 4, seq 128, rank 8
# (override with BATCH, SEQ, RANK in the environment; COMPUTE=int8 runs fedpilot's frozen
# products in int8, default f32). For each target set it runs
#
#   .build/release/fedpilot bench train --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
#       --batch 4 --seq 128 --rank 8 --targets $T --steps $N --threads $THREADS --compute $COMPUTE --json
#   .venv-golden/bin/python scripts/bench_peft.py --batch 4 --seq 128 --rank 8 --targets $T \
#       --steps $N --threads $THREADS --json
#
# and prints a table of train tokens/s, eval tokens/s and peak RSS with the ratio fedpilot/pytorch
# (for tokens/s above 1 means fedpilot is faster, for RSS below 1 means it uses less memory).
# The raw JSON of every run is kept in $OUT (default: a temporary directory, printed at the end).
#
# The release binary is built if missing (swift build -c release --product fedpilot; set
# FEDPILOT=/path/to/binary to use another one) and the Python venv is created with
# scripts/golden-venv.sh if missing. If fedpilot fails, that is reported and the PyTorch side
# still runs.
#
# The timings are only meaningful on an otherwise idle machine (PyTorch's OpenMP threads in
# particular slow down by 2-10x when another process takes a core). The script warns when other
# processes use the CPU before a run. --wait-idle S waits up to S seconds before each run (and,
# on the PyTorch side, again after loading and warm-up) until other processes use < 0.15 cores.
# --boost (root) runs each benchmark in its own session with scheduler autogroup nice -15, so
# that concurrent builds/tests on a shared machine disturb it less (it slows them down instead).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STEPS=5
THREADS="$(nproc)"
TARGET_SETS="all qv"
ATTN=""
WAIT_IDLE=0
BOOST=0
BATCH="${BATCH:-4}"
SEQ="${SEQ:-128}"
RANK="${RANK:-8}"
COMPUTE="${COMPUTE:-f32}"
MODEL="${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}"
FEDPILOT="${FEDPILOT:-$ROOT/.build/release/fedpilot}"
PY="${GOLDEN_VENV:-$ROOT/.venv-golden}/bin/python"

while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --targets) TARGET_SETS="$2"; shift 2 ;;
    --attn) ATTN="$2"; shift 2 ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --boost) BOOST=1; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

OUT="${OUT:-$(mktemp -d -t bench-train.XXXXXX)}"
mkdir -p "$OUT"

# ---- prerequisites ----------------------------------------------------------------------------
if [ ! -f "$MODEL" ]; then
  echo "model $MODEL not found (scripts/fetch-model.sh fetches it)" >&2
  exit 1
fi

HAVE_FEDPILOT=1
if [ ! -x "$FEDPILOT" ]; then
  echo "== building $FEDPILOT (swift build -c release --product fedpilot)"
  if ! swift build -c release --product fedpilot; then
    echo "!! swift build failed; only the PyTorch side will run" >&2
    HAVE_FEDPILOT=0
  elif [ ! -x "$FEDPILOT" ]; then
    echo "!! $FEDPILOT still missing after the build; only the PyTorch side will run" >&2
    HAVE_FEDPILOT=0
  fi
fi

if [ ! -x "$PY" ]; then
  echo "== creating the Python venv (scripts/golden-venv.sh)"
  bash scripts/golden-venv.sh || { echo "golden-venv.sh failed" >&2; exit 1; }
fi

# Cores used by all processes over a 2 s sample (from /proc/stat, without steal/guest).
busy_cores() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8; exit}' /proc/stat)
  sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8; exit}' /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
    t = y[2] - x[2]; printf "%.2f", (t > 0 ? n * (y[1] - x[1]) / t : 0) }'
}

# Before a run: optionally wait for the machine to go idle, then warn if it is still busy.
check_idle() {
  local load deadline=$(( $(date +%s) + ${WAIT_IDLE%.*} ))
  load=$(busy_cores)
  while awk -v l="$load" 'BEGIN { exit !(l >= 0.15) }' && [ "$(date +%s)" -lt "$deadline" ]; do
    echo "   waiting for the machine to go idle (other processes use $load cores)"
    load=$(busy_cores)
  done
  if awk -v l="$load" 'BEGIN { exit !(l >= 0.15) }'; then
    echo "   (warning: other processes use $load of $(nproc) cores — the timings will be distorted)"
  fi
}

# Run a benchmark command, in its own session with autogroup nice -15 under --boost.
run_bench() {
  if [ "$BOOST" = 1 ]; then
    setsid bash -c 'echo -15 > /proc/self/autogroup 2>/dev/null || echo "(--boost: cannot renice)" >&2; exec "$@"' _ "$@"
  else
    "$@"
  fi
}

PEFT_ARGS=()
[ -n "$ATTN" ] && PEFT_ARGS+=(--attn "$ATTN")
[ "$WAIT_IDLE" != 0 ] && PEFT_ARGS+=(--wait-idle "$WAIT_IDLE")

# ---- runs -------------------------------------------------------------------------------------
echo "== model $MODEL"
for T in $TARGET_SETS; do
  echo "== targets $T: fedpilot (batch $BATCH, seq $SEQ, rank $RANK, steps $STEPS, threads $THREADS, compute $COMPUTE)"
  rm -f "$OUT/fedpilot-$T.json"
  if [ "$HAVE_FEDPILOT" = 1 ]; then
    check_idle
    run_bench "$FEDPILOT" bench train --model "$MODEL" --batch "$BATCH" --seq "$SEQ" --rank "$RANK" \
      --targets "$T" --steps "$STEPS" --threads "$THREADS" --compute "$COMPUTE" --json \
      >"$OUT/fedpilot-$T.out" 2>"$OUT/fedpilot-$T.err"
    rc=$?
    if [ $rc -ne 0 ]; then
      echo "!! fedpilot bench train FAILED (exit $rc) — not implemented yet? last stderr lines:"
      tail -n 5 "$OUT/fedpilot-$T.err" | sed 's/^/     /'
    else
      cp "$OUT/fedpilot-$T.out" "$OUT/fedpilot-$T.json"
    fi
  else
    echo "!! fedpilot not available; skipped"
  fi

  echo "== targets $T: pytorch + peft"
  check_idle
  TQDM_DISABLE=1 run_bench "$PY" scripts/bench_peft.py --model "$MODEL" --batch "$BATCH" --seq "$SEQ" \
    --rank "$RANK" --targets "$T" --steps "$STEPS" --threads "$THREADS" --json "${PEFT_ARGS[@]}" \
    >"$OUT/pytorch-$T.json" 2>"$OUT/pytorch-$T.err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "!! bench_peft.py FAILED (exit $rc); last stderr lines:"
    tail -n 5 "$OUT/pytorch-$T.err" | sed 's/^/     /'
    rm -f "$OUT/pytorch-$T.json"
  fi
done

# ---- table ------------------------------------------------------------------------------------
"$PY" - "$OUT" $TARGET_SETS <<'EOF'
import json, os, sys

out, target_sets = sys.argv[1], sys.argv[2:]

def load(path):
    """The JSON object in a file (tolerates text around it); None if absent or unparsable."""
    try:
        text = open(path).read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        i, j = text.find("{"), text.rfind("}")
        try:
            return json.loads(text[i:j + 1]) if 0 <= i < j else None
        except ValueError:
            return None

def fmt(v, scale=1.0, digits=1):
    return "-" if v is None else f"{v / scale:.{digits}f}"

rows = [("train tokens/s", "train_tokens_per_s", 1.0, 1),
        ("eval tokens/s", "eval_tokens_per_s", 1.0, 1),
        ("peak RSS (MB)", "peak_rss_bytes", 1e6, 0)]
print()
print(f"{'targets':8s} {'metric':16s} {'fedpilot':>10s} {'pytorch':>10s} {'fedpilot/pytorch':>17s}")
print("-" * 65)
for t in target_sets:
    f = load(os.path.join(out, f"fedpilot-{t}.json")) or {}
    p = load(os.path.join(out, f"pytorch-{t}.json")) or {}
    for label, key, scale, digits in rows:
        a, b = f.get(key), p.get(key)
        ratio = f"{a / b:.2f}" if a is not None and b else "-"
        print(f"{t:8s} {label:16s} {fmt(a, scale, digits):>10s} {fmt(b, scale, digits):>10s} {ratio:>17s}")
    if p:
        notes = [f"torch {p.get('torch')}", f"attn {p.get('attn_implementation')}",
                 f"threads {p.get('threads')}"]
        other = p.get("other_load_cores_train")
        if other is not None and other > 0.2:
            notes.append(f"WARNING other processes used {other:.2f} cores during PyTorch training")
        print(f"{'':8s} ({', '.join(notes)})")
print()
print(f"raw results: {out}")
EOF
