#!/usr/bin/env bash
# Micro-benchmark of the frozen-weight products (scripts/qgemm-bench.c) on SmolLM2-135M's
# shapes, M = 512 rows (batch 4 x 128): packed F32 vs int8 (GGUF layout, and the interleaved
# layout with AVX512-VNNI and AVX2), forward and input gradient, one thread, timed by thread
# CPU time so a loaded machine disturbs it less. Usage: scripts/qgemm-bench.sh [M] [panels]
# GEMMA=1: Gemma 3 270M's shapes and the block types of its Q4_K_M file (Q4_K, Q6_K, Q5_0, Q8_0),
# then Q5_K on the same shapes (not in that file); the GGUF-layout ("old") columns are "-" for the
# K types and Q5_0, which only the interleaved kernels read (the K types skip the two 640-wide
# shapes: rows of whole 256-weight super-blocks).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/qgemm-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc=${CC:-clang}
# The same flags as Package.swift gives CKernels; the VNNI code carries its own target attribute.
"$cc" ${QFLAGS:-} -O3 -mavx2 -mfma -mf16c -ISources/CKernels/include Sources/CKernels/*.c scripts/qgemm-bench.c \
    -o "$out/qgemm-bench" -lm -lpthread
uptime
"$cc" -O2 -mavx2 -mfma scripts/isa-peak.c -o "$out/isa-peak"
"$out/isa-peak"
if [ "${GEMMA:-0}" = 1 ]; then
    for type in 12 14 6 8 13; do  # Q4_K, Q6_K, Q5_0, Q8_0, Q5_K
        "$out/qgemm-bench" "$type" "${1:-512}" "${2:-4}" gemma
        echo
    done
    exit 0
fi
for type in 3 8; do  # Q4_1 (the default model's file), Q8_0
    "$out/qgemm-bench" "$type" "${1:-512}" ${2:+"$2"}
    echo
done
