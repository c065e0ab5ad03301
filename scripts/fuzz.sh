#!/usr/bin/env bash
# Fuzzes FedPilot's parsers with libFuzzer: builds Fuzz/ (the fedpilot-fuzz target) with
# -sanitize=fuzzer into .build-fuzz (the normal .build is untouched), then runs each target for
# SECONDS (default 120) from the committed seeds in Fuzz/corpus plus the shipped scenarios and
# data, and prints executions per second. Crashing inputs land in .build-fuzz/crashes/; the
# script exits 1 if any target crashed. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors scenario jsonl secagg payload setup chunks)

swift build --product fedpilot-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
binary=$(swift build --product fedpilot-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -use-ld=lld --show-bin-path)/fedpilot-fuzz

work=.build-fuzz/corpus
crashes=.build-fuzz/crashes
mkdir -p "$crashes"
# Swift's own crash handler would pre-empt libFuzzer's, which saves the crashing input.
export SWIFT_BACKTRACE=enable=no
failed=0
printf '%-12s %8s %12s %10s %s\n' target seconds executions exec/s result
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    seeds=("Fuzz/corpus/$target")
    case $target in
        scenario) seeds+=(scenarios) ;;
    esac
    log=.build-fuzz/fuzz-$target.log
    set +e
    FEDPILOT_FUZZ_TARGET=$target "$binary" "$work/$target" "${seeds[@]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$crashes/$target-" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ $status -eq 0 ]; then result=ok; else
        result="CRASH (see $log, $(ls -t "$crashes/$target-"* 2>/dev/null | head -1))"
        failed=1
    fi
    printf '%-12s %8s %12s %10s %s\n' "$target" "$seconds" "${runs:-?}" "${rate:-?}" "$result"
done
exit $failed
