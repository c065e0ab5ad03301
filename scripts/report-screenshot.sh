#!/usr/bin/env bash
# Makes a run's HTML report and a screenshot of it in headless Chromium (the browser check of
# the report: inline CSS and SVG only, nothing fetched).
#
#   scripts/report-screenshot.sh JOURNAL OUT.png [REPORT_DIR] [WIDTHxHEIGHT]
#
# REPORT_DIR defaults to a temporary directory (kept when given); the window defaults to 1280x3000.
# Installs chromium with apt-get when it is missing. FEDPILOT_BIN overrides .build/release/fedpilot
# (built when missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
journal=${1:?usage: scripts/report-screenshot.sh JOURNAL OUT.png [REPORT_DIR] [WIDTHxHEIGHT]}
png=${2:?usage: scripts/report-screenshot.sh JOURNAL OUT.png [REPORT_DIR] [WIDTHxHEIGHT]}
dir=${3:-}
size=${4:-1280x3000}

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null; then browser=$b; break; fi
done
if [[ -z $browser ]]; then
    echo "report-screenshot: installing chromium (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; }
    browser=chromium
fi

bin=${FEDPILOT_BIN:-$root/.build/release/fedpilot}
if [[ ! -x $bin ]]; then
    echo "report-screenshot: building fedpilot (release)" >&2
    (cd "$root" && swift build -c release --product fedpilot >&2)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[[ -n $dir ]] || dir=$tmp/report
"$bin" report "$journal" --out "$dir"
html=$(cd "$dir" && pwd)/report.html
png_abs=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
# A private profile, no network, no GPU: the report must render from the file alone.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
    --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
    --window-size="${size/x/,}" --screenshot="$png_abs" "file://$html" 2> "$tmp/chromium.log" \
    || { cat "$tmp/chromium.log" >&2; exit 1; }
[[ -s $png_abs ]] || { echo "report-screenshot: chromium wrote no screenshot" >&2; cat "$tmp/chromium.log" >&2; exit 1; }
echo "wrote $png_abs from $html"
