"""PyTorch + PEFT reference benchmark for LoRA training throughput (the counterpart of
`fedpilot bench train`).

Usage (after `bash scripts/golden-venv.sh`):

    .venv-golden/bin/python scripts/bench_peft.py --batch 4 --seq 128 --rank 8 \
        --targets all|qv --steps N --threads T [--attn sdpa|eager] [--json] [--profile]

What it measures
  * Model: the GGUF loaded exactly as scripts/make_golden.py does (transformers' GGUF loader
    dequantizes to float32, the weights are copied into a plain LlamaForCausalLM, CPU, float32;
    a gemma3 file, e.g. --model models/gemma-3-270m-q4_k_m.gguf, is loaded as make_golden.py
    --gemma3 does: Gemma3ForCausalLM, float32),
    with the requested attention implementation (default eager, as in make_golden.py: on a 2-core
    AMD EPYC (AVX2, torch 2.13 CPU) it trained 5-15% faster than sdpa, whose CPU flash-attention
    backward is slower at these sizes; eval speed is about the same).
  * PEFT LoRA: r=rank, lora_alpha=2*rank, lora_dropout=0, bias none; targets "all" =
    q,k,v,o,gate,up,down_proj, "qv" = q_proj,v_proj. Only lora_A / lora_B are trainable.
  * AdamW(lr=1e-4, weight_decay=0.01) over the LoRA parameters only.
  * Batch: random token ids [batch, seq] from a fixed seed, labels = input_ids (the loss is the
    mean next-token cross-entropy over batch*(seq-1) positions), no padding, use_cache=False.
  * Train: model.train(), gradient checkpointing off; `warmup` untimed steps, then `steps` timed
    steps of forward + backward + optimizer.step() + zero_grad().
    train_tokens_per_s = steps * batch * seq / elapsed.
  * Eval: model.eval() under torch.no_grad(); 1 untimed forward, then `steps` timed forwards (with
    labels, so the loss is computed too). eval_tokens_per_s = steps * batch * seq / elapsed.
    By default the LoRA branches stay unmerged; --eval-merged merges them first (as fedpilot does).
  * --clip-norm 1 adds global-norm gradient clipping before AdamW (fedpilot clips; off by default).
  * --wait-idle S waits up to S seconds for other processes to leave the CPU before each timed
    phase; other_load_cores_train / _eval report how many cores other processes used meanwhile
    (from /proc/stat), so disturbed runs can be recognised.
  * peak_rss_bytes = resource.getrusage(RUSAGE_SELF).ru_maxrss * 1024 (Linux reports KiB): the
    whole process, so it includes the transient peak of loading/dequantizing the GGUF.
    rss_after_load_bytes (VmRSS once the model is built) and peak_rss_run_bytes (VmHWM after
    resetting it via /proc/self/clear_refs once the model is built, i.e. the peak of the
    train + eval phase alone) are reported as well where Linux allows it.
  * torch.set_num_threads(threads), torch.set_num_interop_threads(1), set before any work.

Prints a JSON object (with --json only the JSON goes to stdout; progress goes to stderr).
"""

import argparse
import json
import os
import resource
import sys
import time

import torch

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)
DEFAULT_MODEL = os.path.join(REPO_ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

TARGETS = {
    "all": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qv": ["q_proj", "v_proj"],
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def proc_status_bytes(key):
    """VmRSS / VmHWM from /proc/self/status in bytes, or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0: write 5 to /proc/self/clear_refs). True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class CpuMeter:
    """Wall time, this process's CPU time and the CPU time used by everything else on the machine
    (from /proc/stat), so runs disturbed by other work (e.g. a concurrent `swift build`) show up."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _busy_s():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
        steal = v[7] if len(v) > 7 else 0
        guest = sum(v[8:10]) if len(v) > 9 else 0  # already counted in user/nice
        return (sum(v) - idle - steal - guest) / CpuMeter.TICK

    @staticmethod
    def _own_s():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def __enter__(self):
        self.w0, self.b0, self.o0 = time.perf_counter(), self._busy_s(), self._own_s()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.own = self._own_s() - self.o0
        b1 = self._busy_s()
        # Average number of cores busy with other processes during the interval.
        self.foreign = None if b1 is None or self.b0 is None else \
            max(0.0, (b1 - self.b0) - self.own) / self.wall
        return False


def wait_idle(max_wait_s, threshold=0.15, sample_s=2.0):
    """Wait (up to max_wait_s) until other processes use < threshold cores. Returns the last load."""
    deadline = time.monotonic() + max_wait_s
    while True:
        with CpuMeter() as m:
            time.sleep(sample_s)
        if m.foreign is None or m.foreign < threshold or time.monotonic() >= deadline:
            return m.foreign
        log(f"waiting for the machine to go idle (other load {m.foreign:.2f} cores)")


def gguf_architecture(path):
    """`general.architecture` of a GGUF file (llama, gemma3, ...)."""
    from gguf import GGUFReader
    field = GGUFReader(path).fields["general.architecture"]
    return bytes(field.parts[field.data[0]]).decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--targets", choices=sorted(TARGETS), default="all")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="eager",
                    help="attention implementation (default eager: faster than sdpa for CPU training here)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clip-norm", type=float, default=0.0,
                    help="clip the LoRA gradients' global norm before AdamW (0 = off, the default; "
                         "fedpilot clips at 1)")
    ap.add_argument("--eval-merged", action="store_true",
                    help="merge the adapter into the base weights (PEFT merge_adapter) before the "
                         "eval forwards, like fedpilot does; default: unmerged LoRA forwards")
    ap.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="before timing, wait up to SECONDS for other processes to stop using the "
                         "CPU (default 0: do not wait)")
    ap.add_argument("--profile", action="store_true",
                    help="after the timed runs, profile one training step and print the top ops "
                         "by self CPU time to stderr")
    args = ap.parse_args()

    # Threads first: set_num_interop_threads must precede any inter-op parallel work.
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as e:  # already started
        log("warning: set_num_interop_threads(1):", e)

    sys.path.insert(0, SCRIPTS_DIR)
    from make_golden import load_gemma3, load_model  # the golden fixtures' GGUF -> float32 paths
    from peft import LoraConfig, get_peft_model
    from importlib.metadata import version

    t0 = time.perf_counter()
    architecture = gguf_architecture(args.model)
    if architecture == "gemma3":
        base, _ = load_gemma3(os.path.abspath(args.model))  # eager attention, eval mode
    else:
        base = load_model(os.path.abspath(args.model))  # eager attention, eval mode
    base.set_attn_implementation(args.attn)
    base.config.use_cache = False
    lcfg = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                      target_modules=TARGETS[args.targets], bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(base, lcfg)
    load_s = time.perf_counter() - t0

    # Gradient checkpointing must be off (PEFT only turns it on for k-bit preparation).
    if getattr(base, "is_gradient_checkpointing", False):
        base.gradient_checkpointing_disable()
    assert not getattr(base, "is_gradient_checkpointing", False)
    assert base.config._attn_implementation == args.attn, base.config._attn_implementation

    params = [p for p in model.parameters() if p.requires_grad]
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(".lora_A." in n or ".lora_B." in n for n in names), names[:4]
    n_trainable = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)

    vocab = base.config.vocab_size
    gen = torch.Generator().manual_seed(args.seed)
    input_ids = torch.randint(0, vocab, (args.batch, args.seq), generator=gen, dtype=torch.long)
    labels = input_ids.clone()
    tokens = args.batch * args.seq

    import gc
    gc.collect()
    rss_after_load = proc_status_bytes("VmRSS")
    hwm_reset = reset_peak_rss()
    log(f"loaded in {load_s:.1f}s; trainable {n_trainable} / {n_total} params; "
        f"attn={args.attn} threads={torch.get_num_threads()} "
        f"interop={torch.get_num_interop_threads()} rss={rss_after_load}")

    def train_step():
        out = model(input_ids=input_ids, labels=labels, use_cache=False)
        out.loss.backward()
        if args.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, args.clip_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return out.loss.detach()

    # ---- train -----------------------------------------------------------------------------
    model.train()
    assert model.training and base.training
    warmup_times = []
    for _ in range(args.warmup):
        s = time.perf_counter()
        loss = train_step()
        warmup_times.append(time.perf_counter() - s)
    log(f"warm-up step times {[round(x, 3) for x in warmup_times]}")
    if args.wait_idle > 0:
        wait_idle(args.wait_idle)
    step_times, step_other = [], []
    with CpuMeter() as m_train:
        for _ in range(args.steps):
            with CpuMeter() as m:
                loss = train_step()
            step_times.append(m.wall)
            step_other.append(m.foreign)
    train_s = m_train.wall
    train_loss = float(loss)
    log(f"train: {args.steps} steps in {train_s:.2f}s, loss {train_loss:.4f}, "
        f"step times {[round(x, 3) for x in step_times]}, own cpu {m_train.own:.1f}s, "
        f"other load {m_train.foreign if m_train.foreign is None else round(m_train.foreign, 2)} cores")

    # ---- eval ------------------------------------------------------------------------------
    model.eval()
    if args.eval_merged:
        model.merge_adapter()
    eval_times, eval_other = [], []
    with torch.no_grad():
        model(input_ids=input_ids, labels=labels, use_cache=False)  # warm-up
        if args.wait_idle > 0:
            wait_idle(args.wait_idle)
        with CpuMeter() as m_eval:
            for _ in range(args.steps):
                with CpuMeter() as m:
                    eval_loss = float(model(input_ids=input_ids, labels=labels, use_cache=False).loss)
                eval_times.append(m.wall)
                eval_other.append(m.foreign)
        eval_s = m_eval.wall
    log(f"eval: {args.steps} forwards in {eval_s:.2f}s, loss {eval_loss:.4f}, "
        f"other load {m_eval.foreign if m_eval.foreign is None else round(m_eval.foreign, 2)} cores")

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak_run = proc_status_bytes("VmHWM") if hwm_reset else None

    result = {
        "train_tokens_per_s": tokens * args.steps / train_s,
        "eval_tokens_per_s": tokens * args.steps / eval_s,
        "peak_rss_bytes": peak_rss,
        "threads": torch.get_num_threads(),
        "architecture": architecture,
        "targets": args.targets,
        "torch": torch.__version__,
        "attn_implementation": base.config._attn_implementation,
        "clip_norm": args.clip_norm,
        "eval_merged": args.eval_merged,
        "batch": args.batch,
        "seq": args.seq,
        "rank": args.rank,
        "steps": args.steps,
        "warmup": args.warmup,
        "trainable_params": n_trainable,
        "warmup_step_s": [round(x, 4) for x in warmup_times],
        "train_step_s": [round(x, 4) for x in step_times],
        "eval_step_s": [round(x, 4) for x in eval_times],
        "train_loss": train_loss,
        "eval_loss": eval_loss,
        "train_step_other_load": [None if x is None else round(x, 2) for x in step_other],
        "eval_step_other_load": [None if x is None else round(x, 2) for x in eval_other],
        "train_own_cpu_s": round(m_train.own, 3),
        "other_load_cores_train": None if m_train.foreign is None else round(m_train.foreign, 3),
        "other_load_cores_eval": None if m_eval.foreign is None else round(m_eval.foreign, 3),
        "rss_after_load_bytes": rss_after_load,
        "peak_rss_run_bytes": peak_run,
        "transformers": version("transformers"),
        "peft": version("peft"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }

    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        if args.eval_merged:
            model.unmerge_adapter()
        model.train()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            train_step()
        log(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
        log(prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=30,
            max_shapes_column_width=60))

    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
