"""Writes Tests/LlamaTests/Fixtures/spm_bpe_{llama,gemma,metaspace}.json: a tiny SentencePiece-style BPE
tokenizer.json trained here with Hugging Face `tokenizers`, plus the ids and decodes that library
gives ~40 inputs. Two variants, as real checkpoints ship them:

- llama: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], decoder Sequence[Replace("▁", " "),
  ByteFallback, Fuse, Strip(" ", 1, 0)] (Llama 2, TinyLlama, Mistral);
- gemma: normalizer Replace(" ", "▁"), decoder without Strip (Gemma 3);
- metaspace: normalizer null, pre_tokenizer Metaspace(prepend_scheme "first", split false), as newer
  transformers exports of Llama-style tokenizers write it.

All: pre_tokenizer null (but metaspace), BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True), the 256
<0xXX> byte tokens in the vocabulary, trained on data/support-tickets.jsonl.

    /tmp/venv-tok/bin/python scripts/make_spm_bpe_fixture.py   # any venv with tokenizers >= 0.20
"""
import json
from importlib.metadata import version
from pathlib import Path

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/LlamaTests/Fixtures"
CORPUS = ROOT / "data/support-tickets.jsonl"

INPUTS = [
    "", " ", "  ", "   ", "\n", "\n\n", "\t", "a", "Hello", " Hello", "  Hello", "Hello world",
    "Hello  world", "Hello   world ", "The customer cannot log in.", "the password reset link expired",
    "Please reset my account password.\nThanks!", "line one\nline two\n", " leading and trailing ",
    "ticket #12345 opened 2024-03-01", "3.14159 and 42", "CAPS LOCK IS ON", "naïve café résumé",
    "Grüße aus München", "日本語のテキスト", "你好，世界", "Привет мир", "مرحبا بالعالم", "emoji 🎉🚀 test",
    "🙂", "a\u00a0b", "zero\u200bwidth", "tabs\tand\tspaces", "ok<s>ok", "<s>", "</s> end", "x</s>",
    "<unk>", "~!@#$%^&*()_+`-=[]{}|;':\",./<>?", "ÆØÅ æøå ß ẞ", "  \n  \n",
    "supercalifragilisticexpialidocious refund", "Ω≈ç√∫˜µ≤≥÷",
]


def corpus():
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield " ".join(str(v) for v in json.loads(line).values())


def train():
    """Trained with a splitting Metaspace pre-tokenizer, so merges never cross a word start (as
    SentencePiece's own training); `variant` then swaps in the shipped normalizer/pre-tokenizer."""
    tok = Tokenizer(BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = BpeTrainer(vocab_size=len(specials) + 256 + 260, special_tokens=specials + byte_tokens,
                         limit_alphabet=60, show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    return json.loads(tok.to_str())


def variant(trained, name):
    spec = json.loads(json.dumps(trained))
    # The trainer registers its special tokens as added tokens; real checkpoints keep the byte tokens
    # in model.vocab only (they are not matched in text nor skipped as special).
    spec["added_tokens"] = [t for t in spec["added_tokens"] if not t["content"].startswith("<0x")]
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    steps = [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if name == "llama":
        spec["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, replace]}
        spec["pre_tokenizer"] = None
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    elif name == "gemma":
        spec["normalizer"] = replace
        spec["pre_tokenizer"] = None
    else:
        spec["normalizer"] = None
        spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    spec["decoder"] = {"type": "Sequence", "decoders": steps}
    return Tokenizer.from_str(json.dumps(spec))


def main():
    trained = train()
    for name in ("llama", "gemma", "metaspace"):
        tok = variant(trained, name)
        cases = []
        for text in INPUTS:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
        out = FIXTURES / f"spm_bpe_{name}.json"
        out.write_text(json.dumps({
            "generator": "scripts/make_spm_bpe_fixture.py",
            "reference": f"tokenizers {version('tokenizers')}",
            "tokenizer": json.loads(tok.to_str()),  # what tokenizer.json would hold
            "cases": cases,
        }, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {out}: vocab {tok.get_vocab_size()}, {len(cases)} cases, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
