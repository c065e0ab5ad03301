#!/usr/bin/env bash
# PEFT round trip: export a trained global adapter from a run journal with `fedpilot export --peft`,
# load it in transformers + PEFT onto the same GGUF base, and compare next-token logits with
# `fedpilot model logits --adapter` (scripts/peft_roundtrip.py says what is checked).
#
#   scripts/peft-roundtrip.sh JOURNAL [--round N] [-- extra peft_roundtrip.py arguments]
#   scripts/peft-roundtrip.sh --adapter DIR [-- ...]          (an already exported adapter)
#
# Creates or reuses the golden venv (scripts/golden-venv.sh; GOLDEN_VENV overrides its place) and
# uses FEDPILOT_BIN or .build/release/fedpilot (built when missing). Not run in CI: CI has no venv;
# the export's names, shapes and config are checked without Python by Tests/LlamaTests/PEFTFormatTests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

journal="" adapter="" round=()
while (($#)); do
    case $1 in
        --adapter) adapter=$2; shift 2 ;;
        --round) round=(--round "$2"); shift 2 ;;
        --) shift; break ;;
        -*) echo "peft-roundtrip: unknown option $1" >&2; exit 2 ;;
        *) journal=$1; shift ;;
    esac
done
[[ -n $journal || -n $adapter ]] || { echo "usage: scripts/peft-roundtrip.sh JOURNAL [--round N] | --adapter DIR" >&2; exit 2; }

venv=${GOLDEN_VENV:-$root/.venv-golden}
GOLDEN_VENV=$venv bash scripts/golden-venv.sh >/dev/null

bin=${FEDPILOT_BIN:-$root/.build/release/fedpilot}
if [[ ! -x $bin ]]; then
    echo "peft-roundtrip: building fedpilot (release)" >&2
    swift build -c release --product fedpilot >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z $adapter ]]; then
    adapter=$work/adapter
    "$bin" export "$journal" "${round[@]}" --peft "$adapter"
fi
"$venv/bin/python" scripts/peft_roundtrip.py --adapter "$adapter" --fedpilot "$bin" "$@"
