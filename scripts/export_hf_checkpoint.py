"""Export the GGUF model, as transformers loads it, to a Hugging Face checkpoint directory, so that a
Swift safetensors loader can be checked against the GGUF loader on the same weights.

Usage (after `bash scripts/golden-venv.sh`):

    .venv-golden/bin/python scripts/export_hf_checkpoint.py [--model PATH] [--out DIR]

Defaults: --model models/SmolLM2-135M-Instruct.Q4_1.gguf, --out models/hf-smollm2-135m (git-ignored).

Writes config.json, generation_config.json, model.safetensors (float32; the GGUF's Q4_1/Q8_0 weights
dequantized, attn_q/attn_k already reverse-permuted to the HF rotate-half layout; lm_head is tied
to embed_tokens and therefore not stored), tokenizer.json and tokenizer_config.json (the reference
SmolLM2 tokenizer described in make_golden.py: digits split individually).
The model is built by make_golden.load_model, so the export and the golden fixtures share one path.
After writing, the checkpoint is reloaded with from_pretrained and its logits compared with the
in-memory model's.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=mg.DEFAULT_MODEL)
    ap.add_argument("--out", default=os.path.join(mg.REPO_ROOT, "models", "hf-smollm2-135m"))
    args = ap.parse_args()

    model_path = os.path.abspath(args.model)
    model = mg.load_model(model_path)
    tok, _ = mg.load_tokenizers(model_path)

    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tok.save_pretrained(args.out)

    # Reload and compare.
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(args.out, dtype=torch.float32, attn_implementation="eager")
    reloaded.eval()
    ids = torch.tensor([tok(mg.PROMPTS[0][1])["input_ids"]])
    with torch.no_grad():
        a = model(ids).logits
        b = reloaded(ids).logits
    diff = float((a - b).abs().max())
    print(f"reloaded checkpoint max |logit diff| = {diff:.3e}")
    if diff != 0.0:
        raise SystemExit("reloaded checkpoint does not reproduce the in-memory model")
    for name in sorted(os.listdir(args.out)):
        print(f"  {name:28s} {os.path.getsize(os.path.join(args.out, name)):>12d} bytes")


if __name__ == "__main__":
    main()
