#!/usr/bin/env bash
# Records the run behind docs/example-report/: scenarios/degrading-client.toml on the real
# model, 5 rounds, in the operator dashboard (a 120x40 tmux pane), with an operator who
#   - turns differential privacy on before round 1 (the run opens paused),
#   - after round 3 (hospital-b's data degrades from round 3) turns DP off and drops hospital-b,
#   - after round 4 readmits hospital-b,
# so the journal holds alerts, a drop, operator actions and rounds with and without DP.
#
# Usage: scripts/record-example-run.sh JOURNAL [ROUNDS]
#        (FEDPILOT_BIN overrides .build/release/fedpilot; needs tmux and the model in models/)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
journal=${1:?usage: scripts/record-example-run.sh JOURNAL [ROUNDS]}
rounds=${2:-5}
bin=${FEDPILOT_BIN:-$root/.build/release/fedpilot}
[[ -x $bin ]] || { echo "record-example-run: no binary at $bin (swift build -c release)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "record-example-run: tmux is not installed (apt-get install tmux)" >&2; exit 1; }
[[ -e $journal ]] && { echo "record-example-run: $journal exists; pass a new path" >&2; exit 1; }

socket="fedpilot-example-$$"
tm() { tmux -L "$socket" "$@"; }
trap 'tm kill-server 2>/dev/null || true' EXIT
screen=$(mktemp)
tm -f /dev/null new-session -d -s run -x 120 -y 40 \
    "env TERM=screen-256color LANG=C.UTF-8 $bin run scenarios/degrading-client.toml --rounds $rounds --journal $journal --paused; sleep 2"
tm set-option -t run status off >/dev/null

# wait_for SECONDS PATTERN: polls the pane until PATTERN (extended grep) shows.
wait_for() {
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        tm capture-pane -p -t run > "$screen" 2>/dev/null || true
        grep -qE "$2" "$screen" && return 0
        sleep 1
    done
    echo "record-example-run: timed out waiting for '$2'; last screen:" >&2
    cat "$screen" >&2
    exit 1
}
key() { tm send-keys -t run "$@"; sleep 0.5; }

wait_for 120 "paused"
key d
wait_for 30 "DP on"
key Space
echo "round 1 started with DP on" >&2
wait_for 1800 "round 3 done"
key d
key j
key x
echo "after round 3: DP off, hospital-b dropped" >&2
wait_for 1200 "round 4 done"
key a
echo "after round 4: hospital-b readmitted" >&2
wait_for 1800 "finished"
cp "$screen" "${journal%.*}-final-screen.txt"
key q
sleep 2
echo "recorded $journal" >&2
