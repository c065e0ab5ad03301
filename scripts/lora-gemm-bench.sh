#!/usr/bin/env bash
# Micro-benchmark of one LoRA layer's six adapter products (scripts/lora-gemm-bench.c) on
# SmolLM2-135M's shapes, M = 512, rank 8, one thread, timed by thread CPU time.
# FEDPILOT_F32_ISA=avx2 runs the 256-bit kernels on an AVX-512 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/lora-gemm-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
# The same flags as Package.swift gives CKernels.
"${CC:-clang}" -O3 -mavx2 -mfma -mf16c -ISources/CKernels/include Sources/CKernels/*.c scripts/lora-gemm-bench.c \
    -o "$out/lora-gemm-bench" -lm -lpthread
uptime
"$out/lora-gemm-bench"
