#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is missing, fetch the default
# model, build in release mode, and run fedpilot (by default on the default scenario).
# Arguments are passed to fedpilot.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
swift build -c release --product fedpilot
exec "$root/.build/release/fedpilot" "$@"
