"""int8 compute against transformers on the golden prompts.

Runs `fedpilot model logits --compute f32|int8 --top 50 --json` on each prompt of
Tests/LlamaTests/Fixtures/golden.json (transformers float32 on the same GGUF, written by
scripts/make_golden.py) and prints, per prompt and mode: whether the top-5 next-token ids at the
last position equal transformers' (as a set, and in order), the worst |logit difference| over
transformers' top-5, and the loss difference; then int8 against fedpilot's own f32 over the 50
ids f32 ranks highest. Exits 1 when int8 changes the top-1 id or exceeds --tol (default 1.0,
the bound the README states) on transformers' top-5; a swap of neighbours lower down is reported,
not failed (their logits can differ by less than the 8-bit rounding noise).

    python3 scripts/int8_golden_check.py [--fedpilot .build/release/fedpilot] [--tol 1.0]
    python3 scripts/int8_golden_check.py --fixture Tests/LlamaTests/Fixtures/gemma3_golden.json \
        --model models/gemma-3-270m-q4_k_m.gguf      # Gemma 3 270M (its fixture's last position)

No third-party packages: only the fixture and the binary are needed.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def logits(binary, model, prompt, compute):
    out = subprocess.run([binary, "model", "logits", model, "--prompt", prompt, "--top", "50", "--json",
                          "--compute", compute], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fedpilot", default=os.path.join(ROOT, ".build/release/fedpilot"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "Tests/LlamaTests/Fixtures/golden.json"))
    ap.add_argument("--model", help="the GGUF file (default: models/ + the fixture's model_file)")
    ap.add_argument("--tol", type=float, default=1.0)
    args = ap.parse_args()
    fixture = json.load(open(args.fixture))
    model = args.model or os.path.join(ROOT, "models", fixture["model_file"])
    failed = False
    worst_all = {"f32": 0.0, "int8": 0.0}
    print(f"{'prompt':16s} {'mode':5s} {'top-5 set/order = transformers':>31s} {'worst |dlogit| top-5':>21s} "
          f"{'loss':>9s} {'loss diff':>10s} {'int8 vs f32 worst |dlogit| top-50':>34s}")
    for case in fixture["prompts"]:
        if "top" not in case:
            # scripts/make_golden.py --gemma3: the top ids per position; take the last position's.
            last = max(case["positions"], key=lambda p: p["position"])
            assert last["position"] == case["num_tokens"] - 1, f"{case['name']}: no last position in the fixture"
            case = dict(case, top=last["top"])
        ref_top = case["top"][:5]
        ref_ids = [t["id"] for t in ref_top]
        got = {mode: logits(args.fedpilot, model, case["text"], mode) for mode in ("f32", "int8")}
        if got["f32"]["token_ids"] != case["token_ids"]:
            print(f"{case['name']}: token ids differ from the fixture's", file=sys.stderr)
            failed = True
        f32_by_id = {t["id"]: t["logit"] for t in got["f32"]["top"]}
        for mode in ("f32", "int8"):
            top = got[mode]["top"]
            by_id = {t["id"]: t["logit"] for t in top}
            ids = [t["id"] for t in top[:5]]
            same = f"{set(ids) == set(ref_ids)}/{ids == ref_ids}"
            diffs = [abs(by_id[t["id"]] - t["logit"]) if t["id"] in by_id else float("inf") for t in ref_top]
            worst = max(diffs)
            worst_all[mode] = max(worst_all[mode], worst)
            loss_diff = got[mode]["loss"] - case["loss"]
            vs_f32 = ""
            if mode == "int8":
                common = [i for i in f32_by_id if i in by_id]
                vs_f32 = f"{max(abs(by_id[i] - f32_by_id[i]) for i in common):.3f} over {len(common)} ids"
                if ids[0] != ref_ids[0] or worst > args.tol:
                    failed = True
            print(f"{case['name']:16s} {mode:5s} {same:>31s} {worst:21.4f} {got[mode]['loss']:9.4f} "
                  f"{loss_diff:+10.4f} {vs_f32:>34s}")
    print(f"worst |dlogit| over transformers' top-5: f32 {worst_all['f32']:.2e}, int8 {worst_all['int8']:.3f} "
          f"(bound held: {args.tol})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
