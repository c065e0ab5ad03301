#!/usr/bin/env bash
# The test suite on a fresh Debian machine: install what is missing, fetch the default
# model (the golden tests need it and must not skip) and llama.cpp's tokenizer test vectors
# (TokenizerVectorTests checks every one), then run swift test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
"$root/scripts/fetch-vocab-vectors.sh"
export FEDPILOT_REQUIRE_MODEL=1
# The end-to-end tests (dashboard in tmux, serve/join processes) run the debug binary, which
# `swift test` alone does not link.
swift build --product fedpilot
swift test "$@"
