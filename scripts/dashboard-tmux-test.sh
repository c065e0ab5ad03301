#!/usr/bin/env bash
# End-to-end test of the operator dashboard: runs the real binary in a 120x40 tmux pane on
# the tiny-model scenario and checks, from `tmux capture-pane -p`, that
#   1. the client table and the charts fill in as rounds complete;
#   2. space pauses the run; x drops the selected client (it shows "excluded");
#      d toggles differential privacy (the header shows "DP on" with ε or "unbounded");
#      s runs exactly one round (the round counter goes up by one and stays there);
#      Enter opens the selected client's detail view, which asks the engine for a sample of the
#      global model on the client's probe prompt and shows it; Esc goes back;
#   3. space resumes; the run finishes; a line written to the process's stderr (fd 2) shows in the
#      event log instead of on the screen; q exits with 0 and the terminal is restored
#      (the shell prompt is back and `stty` shows canonical mode and echo again), and the
#      path of the stderr log is printed;
#   4. q in the middle of a run stops it cleanly (exit 3: stopped early) and restores the terminal;
#   5. Ctrl-C (SIGINT) does the same;
#   6. a crash (SIGSEGV) restores the terminal before the process dies of the signal (exit 139).
# Exits non-zero with a message naming the failed check (and the last screen) on failure.
#
# Usage: scripts/dashboard-tmux-test.sh      (FEDPILOT_BIN=path overrides .build/debug/fedpilot;
#        DASHBOARD_CAPTURE_DIR=dir keeps the captured screens there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=${FEDPILOT_BIN:-$root/.build/debug/fedpilot}
scenario=scenarios/tiny-test.toml
rounds=30

command -v tmux >/dev/null || { echo "dashboard-tmux-test: FAIL: tmux is not installed (apt-get install tmux)" >&2; exit 1; }
if [[ ! -x $bin ]]; then
    echo "dashboard-tmux-test: building fedpilot (debug)" >&2
    swift build --product fedpilot >&2
fi

work=$(mktemp -d)
captures=${DASHBOARD_CAPTURE_DIR:-$work}
mkdir -p "$captures"
# Each part gets its own tmux server (a private socket), so no part can meet a server still shutting down.
part=0
socket="fedpilot-dash-test-$$-$part"
tm() { tmux -L "$socket" "$@"; }
socket_dir="${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)"
cleanup() {
    tm kill-server 2>/dev/null || true
    rm -f "$socket_dir/fedpilot-dash-test-$$-"*
    rm -rf "$work"
}
trap cleanup EXIT
screen="$work/screen.txt"
step="setup"

capture() { tm capture-pane -p -t dash > "$screen"; }
fail() {
    echo "dashboard-tmux-test: FAIL ($step): $*" >&2
    if [[ -s $screen ]]; then echo "---- last screen ----" >&2; cat "$screen" >&2; echo "---------------------" >&2; fi
    exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls the pane until COMMAND (run on the capture) succeeds.
wait_for() {
    local timeout=$1 what=$2; shift 2
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        capture
        if "$@" < "$screen" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    capture
    fail "timed out after ${timeout}s waiting for: $what"
}
header() { sed -n 1p "$screen"; }
header2() { sed -n 2p "$screen"; }
round_now() { header | grep -oE "round [0-9]+/$rounds" | grep -oE '^round [0-9]+' | grep -oE '[0-9]+' || echo -1; }
client_row() { grep -E "^.{0,2}$1 " "$screen" | head -1; }
save() { cp "$screen" "$captures/$1.txt"; }

# A shell in a 120x40 pane, with a recognisable prompt.
start_shell() {
    tm kill-server 2>/dev/null || true
    rm -f "$socket_dir/$socket"
    part=$((part + 1))
    socket="fedpilot-dash-test-$$-$part"
    tm -f /dev/null new-session -d -s dash -x 120 -y 40 "env -i HOME=$HOME PATH=$PATH TERM=screen-256color LANG=C.UTF-8 PS1='dash-test\$ ' bash --norc --noprofile"
    tm set-option -t dash status off >/dev/null
    tm resize-window -t dash -x 120 -y 40 2>/dev/null || true
    wait_for 10 "the shell prompt" grep -q 'dash-test\$'
}
launch() {
    tm send-keys -t dash "clear; cd '$root' && '$bin' run $scenario --rounds $rounds $*; echo \"EXIT=\$?\"" Enter
}
# After the dashboard exits: the exit code, the prompt, and a sane tty (canonical mode, echo).
check_restored() {
    local want=$1
    wait_for 60 "the dashboard to exit" grep -q '^EXIT='
    local code
    code=$(grep -oE '^EXIT=[0-9]+' "$screen" | tail -1 | cut -d= -f2)
    [[ $code == "$want" ]] || fail "exit code $code, expected $want"
    tm send-keys -t dash "stty -a | tr ' ' '\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo STTY\"\"-DONE" Enter
    wait_for 10 "stty output" grep -q 'STTY-DONE'
    grep -q -- '-icanon' "$screen" && fail "the terminal was left in non-canonical mode"
    grep -qE -- '(^| )-echo( |$)' "$screen" && fail "the terminal was left without echo"
    grep -qE 'icanon echo' "$screen" || fail "stty did not report icanon and echo"
    grep -q 'dash-test\$' "$screen" || fail "no shell prompt after exit"
}

# ---- 1. the table and charts fill in
step="start"
start_shell
launch
wait_for 60 "the dashboard header" grep -q 'FedPilot  scenario tiny-test'
step="table and charts"
wait_for 60 "round 2 to complete" grep -q 'round 2 done'
for c in hospital-a support law-firm; do
    [[ -n $(client_row "$c") ]] || fail "no table row for $c"
done
grep -q 'global eval loss' "$screen" || fail "no global eval loss chart"
grep -q 'Δbase by client' "$screen" || fail "no per-client quality chart"
grep -q 'bytes per round' "$screen" || fail "no bytes chart"
grep -q 'no rounds yet' "$screen" && fail "a chart is still empty after two rounds"
grep -qE '[▁▂▃▄▅▆▇█]' "$screen" || fail "no chart bars drawn"
client_row hospital-a | grep -qE '[0-9]\.[0-9]{3}' || fail "hospital-a has no eval loss"
# The data has labels, so the table has task accuracy and its gain over the base model.
sed -n 3p "$screen" | grep -qE ' acc +Δacc ' || fail "no accuracy columns (acc, Δacc) in the client table header"
client_row hospital-a | grep -qE ' [01]\.[0-9]{2} +[+-][01]\.[0-9]{2} ' || fail "hospital-a has no accuracy and Δacc"
grep -q 'accuracy (base ' "$screen" || fail "no global accuracy chart"
save mid-run

# ---- 2. pause, drop, DP, step
step="pause"
tm send-keys -t dash ' '
wait_for 30 "the header to say paused" bash -c 'head -1 | grep -qE "round [0-9]+/'$rounds'  paused"'
paused_at=$(round_now)
((paused_at >= 1 && paused_at < rounds)) || fail "paused at round $paused_at"
sleep 1.2
capture
[[ $(round_now) == "$paused_at" ]] || fail "the round moved from $paused_at to $(round_now) while paused"

step="drop (x)"
tm send-keys -t dash 'j'      # select the second client, support
sleep 0.3
tm send-keys -t dash 'x'
wait_for 10 "support to show as excluded" bash -c 'grep -E "^.{0,2}support " | grep -q excluded'
grep -q 'operator: drop support' "$screen" || fail "the event log does not record the drop"

step="DP toggle (d)"
before_dp=$(header2 | grep -oE 'DP (on|off)')
tm send-keys -t dash 'd'
if [[ $before_dp == "DP off" ]]; then
    wait_for 10 "the header to show DP on with ε" bash -c 'sed -n 2p | grep -qE "DP on ε=(unbounded|[0-9])"'
else
    wait_for 10 "the header to show DP off" bash -c 'sed -n 2p | grep -q "DP off"'
fi
grep -q 'operator: enable differential privacy' "$screen" || [[ $before_dp == "DP on" ]] || fail "the log does not record the DP change"
save paused-dropped-dp

step="step (s)"
tm send-keys -t dash 's'
want=$((paused_at + 1))
wait_for 30 "round $want to complete and pause again" bash -c "head -1 | grep -qE 'round $want/$rounds  paused'"
grep -q "round $want done" "$screen" || fail "the log does not show round $want"
sleep 1.5
capture
[[ $(round_now) == "$want" ]] || fail "s ran more than one round: now at $(round_now), expected $want"
client_row support | grep -q excluded || fail "support is no longer excluded after the step"
save stepped

step="detail view sample (Enter)"
tm send-keys -t dash Enter
wait_for 30 "the detail view to show a sample after round $want" grep -q "sample of the global model after round $want"
grep -q 'prompt  Ticket #10417' "$screen" || fail "the detail view does not show support's probe prompt"
grep -qE '^model   .+' "$screen" || fail "the detail view shows no generated text"
grep -q 'generating' "$screen" && fail "the detail view still says generating"
grep -qE '^task    accuracy [01]\.[0-9]{2}' "$screen" || fail "the detail view shows no task accuracy line"
save detail-sample
tm send-keys -t dash Escape
wait_for 10 "the main view again" grep -q 'global eval loss'

# ---- 3. resume to the end, then q
step="resume to the end"
tm send-keys -t dash ' '
wait_for 120 "the run to finish" bash -c "head -1 | grep -qE 'round $rounds/$rounds  finished'"
client_row hospital-a | grep -q done || fail "hospital-a is not done in the last round"
save finished

step="stderr while the dashboard runs"
pid=$(pgrep -f -- "$bin run $scenario --rounds $rounds" | head -1)
[[ -n $pid ]] || fail "cannot find the dashboard process"
log=$(readlink "/proc/$pid/fd/2")
[[ $log == *stderr.log ]] || fail "fd 2 of the dashboard is $log, not a log file"
echo "dashboard-tmux-test stderr line" >> "/proc/$pid/fd/2"
wait_for 10 "the stderr line in the event log" grep -q 'stderr: dashboard-tmux-test stderr line'
grep -q '1 stderr line in ' "$screen" || fail "the event log's title does not count the stderr line"
grep -q '^dashboard-tmux-test stderr line' "$screen" && fail "the stderr line reached the screen directly"
save stderr-line

step="quit (q) after the run"
tm send-keys -t dash 'q'
check_restored 0
grep -q "fedpilot: 1 line written to stderr while the dashboard ran is in $log" "$screen" || fail "no note of the stderr log on exit"
rm -f "$log"

# ---- 4. q in the middle of a run
step="quit (q) mid-run"
start_shell
launch
wait_for 60 "round 1 to complete" grep -q 'round 1 done'
tm send-keys -t dash 'q'
check_restored 3

# ---- 5. Ctrl-C
step="SIGINT (Ctrl-C) mid-run"
start_shell
launch
wait_for 60 "round 1 to complete" grep -q 'round 1 done'
tm send-keys -t dash C-c
check_restored 3

# ---- 6. a crash (SIGSEGV): the handler restores the terminal, then the process dies of the signal
step="crash (SIGSEGV) mid-run"
start_shell
marker=$((40000 + $$ % 20000))
tm send-keys -t dash "clear; cd '$root' && SWIFT_BACKTRACE=interactive=no '$bin' run $scenario --rounds $rounds --seed $marker 2>/dev/null; echo \"EXIT=\$?\"" Enter
wait_for 60 "round 1 to complete" grep -q 'round 1 done'
pid=$(pgrep -f -- "fedpilot run $scenario --rounds $rounds --seed $marker" | head -1)
[[ -n $pid ]] || fail "cannot find the dashboard process"
kill -SEGV "$pid"
check_restored 139

echo "dashboard-tmux-test: OK (table and charts, pause, x drop, d DP, s one round, a sample in the detail view, stderr in the event log; q, Ctrl-C and a crash restore the terminal)"
