#!/usr/bin/env bash
# flower-parity.sh — FedPilot against a Flower simulation of the same scenario, on this machine.
#
#   bash scripts/flower-parity.sh [OUT]          # OUT defaults to tmp/flower-parity (git-ignored)
#
# 1. creates or refreshes the virtualenv .venv-flower at the repo root (git-ignored by `.venv*/`)
#    with pinned torch, transformers, peft and flwr[simulation] (Ray);
# 2. `fedpilot data split` writes every client's train and validation examples to OUT/split, so
#    that Flower trains and scores on exactly the examples FedPilot does;
# 3. times `fedpilot run --headless --journal` (OUT/fedpilot: events.jsonl, time.txt) and exports
#    the global adapter of every round in PEFT format (OUT/fedpilot/round-N);
# 4. times the Flower simulation (scripts/flower_parity.py simulate; OUT/flower);
# 5. scores the base model and both systems' adapters with one PyTorch function, prints the
#    table and writes OUT/results.json (scripts/flower_parity.py score).
#
# Each timed run starts on an idle machine: it waits until the 1-minute load average is below
# 0.8 (checking every 10 s, for at most 20 minutes, then runs anyway), and prints the load at
# its start and end.
#
# Environment: SCENARIO (scenarios/flower-parity.toml), HF_MODEL (models/hf-smollm2-135m, the
# float32 Hugging Face export of the scenario's GGUF), FEDPILOT_BIN (.build/release/fedpilot; it is
# not built here), FLOWER_VENV (.venv-flower), PYTHON (python3), CLIENT_CPUS (1: two simulated
# clients at a time with one thread each, like FedPilot's two lanes; 2: one client at a time).
#
# torch comes from the CPU-only wheel in /opt/wheels where it exists (as in golden-venv.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/pinned-venv.sh
source "$ROOT/scripts/lib/pinned-venv.sh"
cd "$ROOT"
OUT="${1:-$ROOT/tmp/flower-parity}"
SCENARIO="${SCENARIO:-scenarios/flower-parity.toml}"
HF_MODEL="${HF_MODEL:-models/hf-smollm2-135m}"
BIN="${FEDPILOT_BIN:-$ROOT/.build/release/fedpilot}"
VENV="${FLOWER_VENV:-$ROOT/.venv-flower}"
PY="${PYTHON:-python3}"
CLIENT_CPUS="${CLIENT_CPUS:-1}"

# ---------------------------------------------------------------------------- virtualenv
TORCH_VERSION="2.13.0"
PINS=(
  "transformers==5.24.0"
  "peft==0.21.2"
  "flwr[simulation]==1.42.0"
  "ray==2.55.1"
  "tokenizers==0.23.3"
  "safetensors==0.8.0"
  "numpy==2.4.6"
  "psutil==7.2.2"
)

pinned_venv "$VENV" "$PY" "$TORCH_VERSION" "${PINS[@]}"

"$VENV/bin/python" - <<'EOF'
import sys
from importlib.metadata import version
print("python", sys.version.split()[0], "|", " ".join(
    f"{d} {version(d)}" for d in ["torch", "transformers", "peft", "flwr", "ray", "numpy"]))
EOF

# ---------------------------------------------------------------------------- inputs
if [ ! -x "$BIN" ]; then
  echo "flower-parity: no fedpilot binary at $BIN: build it (swift build -c release --product fedpilot) or set FEDPILOT_BIN" >&2
  exit 1
fi
[ -f "$HF_MODEL/model.safetensors" ] || { echo "flower-parity: no Hugging Face checkpoint at $HF_MODEL" >&2; exit 1; }

mkdir -p "$OUT"
rm -rf "$OUT/split" "$OUT/fedpilot" "$OUT/flower" "$OUT/results.json"
mkdir -p "$OUT/fedpilot" "$OUT/flower"
"$BIN" data split "$SCENARIO" --out "$OUT/split"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Waits until the 1-minute load average is below 0.8: every 10 s, at most 20 minutes.
wait_idle() {
  local waited=0
  while awk '{ exit !($1 >= 0.8) }' /proc/loadavg; do
    if [ "$waited" -ge 1200 ]; then
      echo "machine still busy after 20 minutes (load $(loadavg)): running anyway"
      return
    fi
    [ "$waited" -eq 0 ] && echo "waiting for an idle machine (load $(loadavg))"
    sleep 10
    waited=$((waited + 10))
  done
  echo "idle after ${waited} s of waiting"
}

# ---------------------------------------------------------------------------- FedPilot
wait_idle
echo "fedpilot run: load at start $(loadavg)"
/usr/bin/time -v -o "$OUT/fedpilot/time.txt" \
  "$BIN" run "$SCENARIO" --headless --journal "$OUT/fedpilot/journal.sqlite" > "$OUT/fedpilot/events.jsonl"
echo "fedpilot run: load at end   $(loadavg)"
"$VENV/bin/python" -c "
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line) if line.startswith('{') else {}
    if e.get('type') == 'round_completed':
        print(f\"  fedpilot round {e['round']}: {e['wall_seconds']:.1f} s, global eval loss {e['global_eval_loss']:.4f}\")
" "$OUT/fedpilot/events.jsonl"
rounds=$(grep -cE '"type" *: *"round_completed"' "$OUT/fedpilot/events.jsonl")
for r in $(seq 1 "$rounds"); do
  "$BIN" export "$OUT/fedpilot/journal.sqlite" --round "$r" --peft "$OUT/fedpilot/round-$r" > /dev/null
done

# ---------------------------------------------------------------------------- Flower
wait_idle
echo "flower simulation: load at start $(loadavg)"
/usr/bin/time -v -o "$OUT/flower/time.txt" \
  "$VENV/bin/python" scripts/flower_parity.py simulate --scenario "$SCENARIO" --model "$HF_MODEL" \
  --split "$OUT/split" --out "$OUT" --client-cpus "$CLIENT_CPUS" > "$OUT/flower/simulation.log" 2>&1 \
  || { tail -40 "$OUT/flower/simulation.log" >&2; exit 1; }
echo "flower simulation: load at end   $(loadavg)"
tail -1 "$OUT/flower/simulation.log"

# ---------------------------------------------------------------------------- scoring
"$VENV/bin/python" scripts/flower_parity.py score --scenario "$SCENARIO" --model "$HF_MODEL" \
  --split "$OUT/split" --out "$OUT" --fedpilot "$OUT/fedpilot" 2> "$OUT/score.log" \
  || { tail -40 "$OUT/score.log" >&2; exit 1; }
echo "results: $OUT/results.json"
