"""By hand, not in CI: writes tokenizer.json files converted by transformers from GGUF vocabularies,
with the ids and decodes Hugging Face `tokenizers` gives llama.cpp's tokenizer test inputs, for
HuggingFaceSentencePieceTests.testConvertedTokenizerJSONMatchesGGUF. The outputs hold Gemma's and
Llama's vocabularies: keep them out of git.

    /tmp/venv-tok/bin/python scripts/convert_gguf_tokenizer_json.py OUT_DIR
    FEDPILOT_HF_TOKENIZER_DIR=OUT_DIR/gemma3 FEDPILOT_HF_TOKENIZER_GGUF=$PWD/models/gemma-3-270m-q4_k_m.gguf \\
        swift test --filter HuggingFaceSentencePieceTests/testConvertedTokenizerJSONMatchesGGUF

Directories: gemma3 (models/gemma-3-270m-q4_k_m.gguf), llama-spm (models/vocab/ggml-vocab-llama-spm.gguf,
as transformers writes it: Metaspace prepend_scheme "first") and llama-spm-legacy (the same vocabulary
with Llama 2's shipped normalizer Sequence[Prepend("▁"), Replace(" ", "▁")] and no pre-tokenizer).
"""
import json
import sys
from pathlib import Path

from tokenizers import Tokenizer
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
INP = ROOT / "models/vocab/ggml-vocab-llama-spm.gguf.inp"


def expected(directory, inputs):
    t = Tokenizer.from_file(str(directory / "tokenizer.json"))
    cases = []
    for text in inputs:
        ids = t.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "decoded": t.decode(ids)})
    (directory / "expected.json").write_text(json.dumps({"cases": cases}, ensure_ascii=False))


def main():
    out = Path(sys.argv[1])
    inputs = INP.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    for name, gguf in [("gemma3", "models/gemma-3-270m-q4_k_m.gguf"), ("llama-spm", "models/vocab/ggml-vocab-llama-spm.gguf")]:
        path = (ROOT / gguf).resolve()
        AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name).save_pretrained(out / name)
        expected(out / name, inputs)
    legacy = json.loads((out / "llama-spm/tokenizer.json").read_text(encoding="utf-8"))
    legacy["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    legacy["pre_tokenizer"] = None
    (out / "llama-spm-legacy").mkdir(parents=True, exist_ok=True)
    (out / "llama-spm-legacy/tokenizer.json").write_text(json.dumps(legacy, ensure_ascii=False), encoding="utf-8")
    expected(out / "llama-spm-legacy", inputs)
    print(f"wrote {out}/gemma3, llama-spm, llama-spm-legacy")


if __name__ == "__main__":
    main()
