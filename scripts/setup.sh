#!/usr/bin/env bash
# Installs what FedPilot needs on a Debian machine, skipping what is already there:
# the system libraries (OpenBLAS, ncursesw), build tools, Python for the model fetch,
# tmux for the dashboard's terminal tests, and protoc (protobuf-compiler) for
# scripts/generate-proto.sh. Then fetches the default model.
# Run as root (or with sudo available). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(libopenblas-dev libncurses-dev pkg-config python3 python3-pip tmux ca-certificates protobuf-compiler)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3 from another installer (pyenv, /usr/local) serves as well as Debian's.
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  missing=("${missing[@]/python3-pip}"); missing=("${missing[@]/python3}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: run as root to install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null; then
  for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [[ -x $candidate/swift ]] && export PATH="$candidate:$PATH"
  done
fi
command -v swift >/dev/null || { echo "setup: the Swift toolchain (6.1 or later) is not on PATH" >&2; exit 1; }

"$root/scripts/fetch-model.sh"
