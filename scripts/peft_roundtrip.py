"""Check that an adapter exported by `fedpilot export --peft` means the same thing to Hugging Face
PEFT as it does to FedPilot: load it onto the same GGUF base in transformers with
`PeftModel.from_pretrained`, run a few prompts, and compare the next-token logits at the last
position with `fedpilot model logits MODEL --adapter DIR --json`.

Usage (the wrapper scripts/peft-roundtrip.sh sets up the venv and exports the adapter):

    .venv-golden/bin/python scripts/peft_roundtrip.py --adapter DIR [--model GGUF] [--fedpilot BIN]
        [--scale 1 --scale 8] [--tol 2e-2] [--json OUT]

For every prompt and every --scale K (K != 1 multiplies lora_B by K in a copy of the adapter, so
that a lightly trained adapter still moves the logits a lot), it checks:
  * the top-5 next-token ids are identical;
  * the logits of the 50 ids FedPilot ranks highest agree within --tol;
and reports the worst difference, the loss difference, and how far the adapter moved the logits
from the base model's (so a trivially zero adapter cannot pass unnoticed). Exits 1 on a mismatch.

The token ids come from FedPilot's own tokenizer (the `token_ids` field), so the check is about
the model and the adapter, not the tokenizer (tokenizers are checked by make_golden.py's fixture).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402

PROMPTS = [
    "Patient presents with chest pain radiating to the left arm; ECG shows",
    "ALERT 2291: cash deposits just below the reporting threshold at three branches",
    "Ticket: the VPN client disconnects every ten minutes after the update. Priority:",
    "The quick brown fox jumps over the lazy dog. The",
    "<|im_start|>user\nSummarise the discharge note in one line.<|im_end|>\n<|im_start|>assistant\n",
]
LISTED = 50


def fedpilot_logits(binary, model, prompt, adapter=None):
    cmd = [binary, "model", "logits", model, "--prompt", prompt, "--top", str(LISTED), "--json"]
    if adapter:
        cmd += ["--adapter", adapter]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def scaled_copy(adapter, scale, root):
    """A copy of the adapter directory with every lora_B multiplied by `scale`."""
    from safetensors.torch import load_file, save_file

    dst = os.path.join(root, f"adapter-x{scale:g}")
    shutil.copytree(adapter, dst)
    path = os.path.join(dst, "adapter_model.safetensors")
    tensors = load_file(path)
    scaled = {k: (v * scale if "lora_B" in k else v).contiguous() for k, v in tensors.items()}
    save_file(scaled, path, metadata={"format": "pt"})
    return dst


def lora_b_norm(adapter):
    from safetensors.torch import load_file

    tensors = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    b = [v for k, v in tensors.items() if "lora_B" in k]
    return float(torch.sqrt(sum((t.double() ** 2).sum() for t in b))) if b else 0.0


def load_base(path):
    """The float32 transformers model of a GGUF file: LlamaForCausalLM, or Gemma3ForCausalLM for gemma3."""
    from gguf import GGUFReader

    arch = GGUFReader(path).fields["general.architecture"].contents()
    return mg.load_gemma3(path)[0] if arch == "gemma3" else mg.load_model(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", required=True, help="PEFT adapter directory (fedpilot export --peft DIR)")
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--fedpilot", default=".build/release/fedpilot")
    ap.add_argument("--scale", type=float, action="append", help="lora_B multipliers to check (default 1 and 8)")
    ap.add_argument("--tol", type=float, default=2e-2)
    ap.add_argument("--json", help="write the figures here as JSON")
    args = ap.parse_args()
    scales = args.scale or [1.0, 8.0]

    from peft import PeftModel

    torch.set_grad_enabled(False)
    b_norm = lora_b_norm(args.adapter)
    print(f"adapter {args.adapter}: ||lora_B|| = {b_norm:.4g}")
    if b_norm == 0:
        print("warning: every lora_B is zero (an untrained adapter): it equals the base model", file=sys.stderr)

    base_swift = {p: fedpilot_logits(args.fedpilot, args.model, p) for p in PROMPTS}
    results, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            adapter = args.adapter if scale == 1 else scaled_copy(args.adapter, scale, tmp)
            model = PeftModel.from_pretrained(load_base(args.model), adapter)
            model.eval()
            worst = worst_loss = moved = 0.0
            for prompt in PROMPTS:
                swift = fedpilot_logits(args.fedpilot, args.model, prompt, adapter)
                ids = swift["token_ids"]
                logits = model(torch.tensor([ids])).logits[0].double()
                last = logits[-1]
                top5_hf = torch.topk(last, 5).indices.tolist()
                top5_swift = [t["id"] for t in swift["top"][:5]]
                diff = max(abs(last[t["id"]].item() - t["logit"]) for t in swift["top"])
                base_top = {t["id"]: t["logit"] for t in base_swift[prompt]["top"]}
                shift = max(abs(last[i].item() - base_top[i]) for i in base_top)
                loss_hf = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(ids[1:])).item() if len(ids) > 1 else None
                loss_diff = abs(loss_hf - swift["loss"]) if loss_hf is not None and swift["loss"] is not None else 0.0
                same = top5_hf == top5_swift
                ok = ok and same and diff <= args.tol
                worst, worst_loss, moved = max(worst, diff), max(worst_loss, loss_diff), max(moved, shift)
                print(f"  x{scale:g} {len(ids):3d} tokens  top-5 {'same' if same else 'DIFFERENT'}  "
                      f"max |logit diff| {diff:.2e}  loss diff {loss_diff:.2e}  adapter moved logits by up to {shift:.3f}"
                      + ("" if same else f"\n      hf {top5_hf}\n      fp {top5_swift}"))
                results.append({"scale": scale, "prompt": prompt, "tokens": len(ids), "top5_same": same,
                                "max_logit_diff": diff, "loss_diff": loss_diff, "adapter_shift": shift})
            print(f"scale x{scale:g}: worst logit difference {worst:.2e} (bound {args.tol:g}), "
                  f"worst loss difference {worst_loss:.2e}, adapter moved top logits by up to {moved:.3f}")
            del model
    summary = {
        "adapter": args.adapter, "lora_b_norm": b_norm, "tolerance": args.tol, "scales": scales,
        "worst_logit_diff": max(r["max_logit_diff"] for r in results),
        "worst_loss_diff": max(r["loss_diff"] for r in results),
        "all_top5_same": all(r["top5_same"] for r in results), "passed": ok, "prompts": results,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    print(("PASS" if ok else "FAIL") + f": worst logit difference {summary['worst_logit_diff']:.2e} over "
          f"{len(PROMPTS)} prompts x {len(scales)} scales; top-5 ids " + ("identical" if summary["all_top5_same"] else "differ"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
