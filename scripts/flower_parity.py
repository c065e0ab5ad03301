"""Flower simulation of a FedPilot scenario, and one PyTorch scoring of both systems' adapters.

    python scripts/flower_parity.py simulate --split DIR --out DIR [--scenario TOML] [--model HF_DIR]
    python scripts/flower_parity.py score --split DIR --out DIR --fedpilot DIR [--scenario TOML] [--model HF_DIR]

scripts/flower-parity.sh runs both, after `fedpilot data split` (DIR/split) and a timed
`fedpilot run` whose events, /usr/bin/time output and per-round PEFT exports are in DIR/fedpilot.

`simulate` runs the scenario in Flower (ClientApp / ServerApp, Ray backend): every client trains
`steps` AdamW steps per round on its own train file and sends its LoRA tensors back as fp32 numpy
arrays; FedAvg weights them by train count; every client scores each new global adapter on its
held-out batch, as FedPilot's coordinator does (also the initial adapter, before round 1). The
global adapter after every round goes to DIR/flower/round-N in PEFT format, and the timings and
byte counts to DIR/flower/simulation.json.

`score` scores the base model, Flower's adapters and FedPilot's exported adapters with one
function (`global_loss`), checks the FedPilot numbers against FedPilot's own `global_eval_loss`,
prints the comparison table and writes it to DIR/results.json.

Training and scoring follow FedPilot (Sources/Llama/Training, Sources/Federation/Engine):
  * text -> ids with the model's tokenizer, no BOS or other special tokens added;
  * training rows: examples shuffled per round, then packed (each example followed by the pad id,
    the stream cut into rows of `sequence_length`, no target across a row boundary) or, with
    `packing = false`, one example per row truncated and right-padded;
  * target = next token, no loss on padding; loss = mean over the batch's target positions;
  * AdamW(betas 0.9/0.999, eps 1e-8, decoupled weight decay), global grad-norm clip, and the
    learning rate of LearningRateSchedule: linear warmup, then cosine from `learning_rate` down to
    `min_lr_ratio * learning_rate` over the round's steps (a fresh optimizer every round);
  * scoring: a client's first `max_examples_per_client` validation examples, truncated to
    `sequence_length` and right-padded, as one batch; the mean loss over all its target positions;
    the global figure is the mean over clients weighted by train count.
"""

import argparse
import json
import math
import os
import random
import sys
import threading
import time
import tomllib
from types import SimpleNamespace

import torch
import torch.nn.functional as F

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DEFAULT_SCENARIO = "scenarios/flower-parity.toml"
DEFAULT_MODEL = "models/hf-smollm2-135m"


# ----------------------------------------------------------------------------- configuration

def load_settings(path):
    """The scenario's training and LoRA settings, with FedPilot's defaults for absent keys."""
    with open(path, "rb") as f:
        s = tomllib.load(f)
    t, lora = s.get("training", {}), s.get("lora", {})
    if lora.get("targets", "all") not in ("all", TARGETS):
        sys.exit(f"{path}: only LoRA on all seven projections is mirrored here")
    if s.get("strategy", {}).get("name", "fedavg") != "fedavg":
        sys.exit(f"{path}: only FedAvg is mirrored here")
    return SimpleNamespace(
        seed=s.get("seed", 0), rounds=s["rounds"], steps=t["steps"], batch_size=t.get("batch_size", 4),
        sequence_length=t.get("sequence_length", 128), learning_rate=t.get("learning_rate", 2e-4),
        warmup_steps=t.get("warmup_steps", 0), min_lr_ratio=t.get("min_lr_ratio", 0.1),
        weight_decay=t.get("weight_decay", 0.01), max_grad_norm=t.get("max_grad_norm", 1.0),
        packing=t.get("packing", True), rank=lora.get("rank", 8), alpha=float(lora.get("alpha", 16.0)),
        dropout=lora.get("dropout", 0.0), payload=s.get("payload", "int8"))


def learning_rate(s, step):
    """FedPilot's LearningRateSchedule.rate(at:) for a round of `s.steps` steps."""
    if step < s.warmup_steps:
        return s.learning_rate * (step + 1) / s.warmup_steps
    progress = min(1.0, (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps))
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return s.learning_rate * (s.min_lr_ratio + (1 - s.min_lr_ratio) * cosine)


# ----------------------------------------------------------------------------- data

def read_texts(path, limit=None):
    with open(path) as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    return texts[:limit] if limit is not None else texts


def load_split(split_dir):
    with open(os.path.join(split_dir, "split.json")) as f:
        return json.load(f)


def load_tokenizer(model_dir):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))


def pad_id(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return config.get("pad_token_id", config.get("eos_token_id", 0))


def encode(tokenizer, texts):
    return [tokenizer.encode(t, add_special_tokens=False).ids for t in texts]


def padded_rows(examples, length, pad):
    """Batcher.padded: one row per example, truncated to `length`, right-padded; -1 = no target."""
    rows, targets = [], []
    for ids in examples:
        kept = ids[:length]
        rows.append(kept + [pad] * (length - len(kept)))
        targets.append(kept[1:] + [-1] * (length - len(kept) + 1) if kept else [-1] * length)
    return rows, targets


def packed_rows(examples, length, sep):
    """Batcher.packed: examples each followed by `sep`, cut into rows of `length`."""
    stream = [t for ids in examples for t in ids + [sep]]
    rows, targets = [], []
    for start in range(0, len(stream), length):
        row = stream[start:start + length]
        targets.append(row[1:] + [-1] * (length - len(row) + 1))
        rows.append(row + [sep] * (length - len(row)))
    return rows, targets


def training_batches(examples, s, pad, seed):
    """Endless batches of `s.batch_size` rows: each pass over the examples in a new seeded order."""
    rng = random.Random(seed)
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        shuffled = [examples[i] for i in order]
        make = packed_rows if s.packing else padded_rows
        rows, targets = make(shuffled, s.sequence_length, pad)
        for i in range(0, len(rows), s.batch_size):
            if any(t >= 0 for row in targets[i:i + s.batch_size] for t in row):
                yield torch.tensor(rows[i:i + s.batch_size]), torch.tensor(targets[i:i + s.batch_size])


# ----------------------------------------------------------------------------- model

def load_model(model_dir, s, seed):
    """The base model with a fresh PEFT LoRA adapter (A Kaiming-uniform from `seed`, B zero)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    torch.manual_seed(seed)
    config = LoraConfig(r=s.rank, lora_alpha=s.alpha, lora_dropout=s.dropout, target_modules=TARGETS,
                        bias="none", task_type="CAUSAL_LM")
    return get_peft_model(base, config)


def lora_state(model):
    from peft import get_peft_model_state_dict
    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def set_lora(model, state):
    from peft import set_peft_model_state_dict
    result = set_peft_model_state_dict(model, state)
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing or result.unexpected_keys:
        raise ValueError(f"adapter does not fit the model: missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}")


def mean_loss(model, rows, targets):
    """Mean next-token cross-entropy over the positions with a target (>= 0)."""
    logits = model(input_ids=rows).logits
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)


def local_train(model, examples, s, pad, seed):
    """One round of local training from the adapter loaded in `model`; returns the step losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=s.learning_rate, betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=s.weight_decay)
    batches = training_batches(examples, s, pad, seed)
    model.train()
    losses = []
    for step in range(s.steps):
        rows, targets = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(s, step)
        loss = mean_loss(model, rows, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if s.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def held_out_batch(split_dir, client, tokenizer, s, pad, limit):
    texts = read_texts(os.path.join(split_dir, f"{client}.validation.jsonl"), limit)
    rows, targets = padded_rows(encode(tokenizer, texts), s.sequence_length, pad)
    return torch.tensor(rows), torch.tensor(targets)


@torch.no_grad()
def global_loss(model, batches, weights):
    """Each client's mean loss on its held-out batch, and their mean weighted by train count."""
    model.eval()
    per_client = {c: mean_loss(model, *batch).item() for c, batch in batches.items()}
    total = sum(weights[c] for c in per_client)
    return sum(per_client[c] * weights[c] for c in per_client) / total, per_client


# ----------------------------------------------------------------------------- Flower apps

def nbytes(record):
    """Bytes of the ndarrays in an ArrayRecord."""
    import numpy as np
    return sum(int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize for a in record.values())


def serialized_bytes(record):
    """Bytes of an ArrayRecord as Flower serializes it (its deflated object tree)."""
    from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects
    return sum(len(o.deflate()) for o in get_all_nested_objects(record).values())


_WORKER = {}


def worker():
    """What a simulation worker process keeps between messages: settings, model, clients' data."""
    if not _WORKER:
        env = os.environ
        torch.set_num_threads(int(env["FLOWER_PARITY_THREADS"]))
        s = load_settings(env["FLOWER_PARITY_SCENARIO"])
        split = load_split(env["FLOWER_PARITY_SPLIT"])
        _WORKER.update(s=s, split_dir=env["FLOWER_PARITY_SPLIT"], split=split,
                       model=load_model(env["FLOWER_PARITY_MODEL"], s, s.seed),
                       tokenizer=load_tokenizer(env["FLOWER_PARITY_MODEL"]),
                       pad=pad_id(env["FLOWER_PARITY_MODEL"]), clients={})
    return _WORKER


def client_data(w, context):
    """The train examples and held-out batch of the client this node simulates."""
    index = int(context.node_config["partition-id"])
    spec = w["split"]["clients"][index]
    name = spec["id"]
    if name not in w["clients"]:
        train = encode(w["tokenizer"], read_texts(os.path.join(w["split_dir"], f"{name}.train.jsonl")))
        held = held_out_batch(w["split_dir"], name, w["tokenizer"], w["s"], w["pad"],
                              w["split"]["max_examples_per_client"])
        w["clients"][name] = SimpleNamespace(index=index, name=name, train=train, held=held, count=spec["train"])
    return w["clients"][name]


def make_client_app():
    from flwr.app import ArrayRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg, context):
        w = worker()
        c = client_data(w, context)
        received = msg.content["arrays"]
        set_lora(w["model"], received.to_torch_state_dict())
        rnd = int(msg.content["config"]["server-round"])
        began = time.time()
        losses = local_train(w["model"], c.train, w["s"], w["pad"], seed=w["s"].seed * 1_000_003 + rnd * 1009 + c.index)
        seconds = time.time() - began
        sent = ArrayRecord(lora_state(w["model"]))
        metrics = MetricRecord({
            "num-examples": c.count, "partition": c.index, "loss-first": losses[0], "loss-last": losses[-1],
            "train-seconds": seconds, "bytes-down": nbytes(received), "bytes-up": nbytes(sent),
            "serialized-down": serialized_bytes(received), "serialized-up": serialized_bytes(sent)})
        return Message(RecordDict({"arrays": sent, "metrics": metrics}), reply_to=msg)

    @app.evaluate()
    def evaluate(msg, context):
        w = worker()
        c = client_data(w, context)
        set_lora(w["model"], msg.content["arrays"].to_torch_state_dict())
        loss, _ = global_loss(w["model"], {c.name: c.held}, {c.name: 1})
        # Weighted by train count, as FedPilot's coordinator weights clients' eval losses.
        metrics = MetricRecord({"num-examples": c.count, "partition": c.index, "eval-loss": loss})
        return Message(RecordDict({"metrics": metrics}), reply_to=msg)

    return app


def make_server_app(args, s, record):
    from flwr.app import ArrayRecord, ConfigRecord
    from flwr.serverapp import ServerApp
    from flwr.serverapp.strategy import FedAvg

    class RecordingFedAvg(FedAvg):
        """FedAvg that keeps every client's reply metrics of each round."""

        def aggregate_train(self, server_round, replies):
            record["marks"][f"round_{server_round}_trained"] = time.time()
            replies = list(replies)
            record["train"][server_round] = [dict(m.content["metrics"]) for m in replies if not m.has_error()]
            return super().aggregate_train(server_round, replies)

        def aggregate_evaluate(self, server_round, replies):
            replies = list(replies)
            record["evaluate"][server_round] = [dict(m.content["metrics"]) for m in replies if not m.has_error()]
            return super().aggregate_evaluate(server_round, replies)

    app = ServerApp()

    @app.main()
    def main(grid, context):
        torch.set_num_threads(args.cpus)
        record["marks"]["server_start"] = time.time()
        model = load_model(args.model, s, s.seed)
        arrays = ArrayRecord(lora_state(model))
        record["marks"]["server_model_loaded"] = time.time()
        n = len(load_split(args.split)["clients"])
        strategy = RecordingFedAvg(fraction_train=1.0, fraction_evaluate=1.0, min_train_nodes=n,
                                   min_evaluate_nodes=n, min_available_nodes=n)
        # FedPilot scores the initial global adapter on every client before round 1: so here.
        replies = grid.send_and_receive(strategy.configure_evaluate(0, arrays, ConfigRecord(), grid))
        record["initial_eval"] = dict(strategy.aggregate_evaluate(0, replies))

        def after_round(rnd, arrays):
            record["marks"][f"round_{rnd}_end"] = time.time()
            set_lora(model, arrays.to_torch_state_dict())
            model.save_pretrained(os.path.join(args.out, "flower", f"round-{rnd}"))
            record["marks"][f"round_{rnd}_saved"] = time.time()

        result = strategy.start(grid, arrays, num_rounds=s.rounds, evaluate_fn=after_round)
        record["eval"] = {r: dict(m) for r, m in result.evaluate_metrics_clientapp.items()}

    return app


class TreeRSS:
    """Peak of the summed resident memory of this process and its descendants (Ray's too)."""

    def __init__(self, every=0.5):
        import psutil
        self.me, self.every, self.peak = psutil.Process(), every, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(self.every):
            total = 0
            for p in [self.me] + self.me.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except Exception:
                    pass
            self.peak = max(self.peak, total)

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


def simulate(args):
    started = time.time()
    rss = TreeRSS()
    from flwr.simulation import run_simulation

    s = load_settings(args.scenario)
    split = load_split(args.split)
    n = len(split["clients"])
    os.makedirs(os.path.join(args.out, "flower"), exist_ok=True)
    os.environ.update(FLOWER_PARITY_THREADS=str(args.client_cpus), FLOWER_PARITY_SCENARIO=os.path.abspath(args.scenario),
                      FLOWER_PARITY_SPLIT=os.path.abspath(args.split), FLOWER_PARITY_MODEL=os.path.abspath(args.model))
    record = {"marks": {"process_start": started}, "train": {}, "evaluate": {}}
    backend = {"client_resources": {"num_cpus": args.client_cpus, "num_gpus": 0.0},
               "init_args": {"num_cpus": args.cpus, "include_dashboard": False}}
    run_simulation(server_app=make_server_app(args, s, record), client_app=make_client_app(),
                   num_supernodes=n, backend_config=backend)
    record["marks"]["simulation_end"] = time.time()
    record["peak_rss_tree_bytes"] = rss.stop()

    m = record["marks"]
    if f"round_{s.rounds}_end" not in m:
        sys.exit("the Flower simulation did not complete every round (see its log above)")
    ends = [m["round_0_saved"]] + [m[f"round_{r}_end"] for r in range(1, s.rounds + 1)]
    record["round_seconds"] = [b - a for a, b in zip(ends, ends[1:])]
    record["train_phase_seconds"] = [m[f"round_{r}_trained"] - ends[r - 1] for r in range(1, s.rounds + 1)]
    record["evaluate_phase_seconds"] = [m[f"round_{r}_end"] - m[f"round_{r}_trained"] for r in range(1, s.rounds + 1)]
    record["seconds_to_last_round"] = m[f"round_{s.rounds}_end"] - started
    record["settings"] = vars(s) | {"cpus": args.cpus, "client_cpus": args.client_cpus, "clients": n}
    with open(os.path.join(args.out, "flower", "simulation.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(f"flower: rounds took {', '.join(f'{x:.1f}' for x in record['round_seconds'])} s (training phase "
          f"{', '.join(f'{x:.1f}' for x in record['train_phase_seconds'])} s); "
          f"{record['seconds_to_last_round']:.1f} s from process start to the end of round {s.rounds}")


# ----------------------------------------------------------------------------- scoring and table

def read_time_v(path):
    """Wall seconds and peak RSS (bytes) from `/usr/bin/time -v -o PATH`."""
    wall = rss = None
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().rpartition(": ")
            if key.startswith("Elapsed (wall clock) time"):
                wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(value.split(":"))))
            elif key == "Maximum resident set size (kbytes)":
                rss = int(value) * 1024
    return wall, rss


def fedpilot_figures(fedpilot_dir):
    events = [json.loads(line) for line in open(os.path.join(fedpilot_dir, "events.jsonl")) if line.startswith("{")]
    rounds = {e["round"]: e for e in events if e.get("type") == "round_completed"}
    finished = next(e for e in events if e.get("type") == "run_finished")
    trained = {(e["round"], e["client"]): e["train_seconds"] for e in events
               if e.get("type") == "client_update" and e.get("train_seconds")}
    wall, rss = read_time_v(os.path.join(fedpilot_dir, "time.txt"))
    return {
        "round_seconds": [rounds[r]["wall_seconds"] for r in sorted(rounds)],
        "reported_eval": {0: finished["base_eval_loss"]} | {r: rounds[r]["global_eval_loss"] for r in sorted(rounds)},
        "bytes_down_per_client": sum(e["bytes_down"] / len(e["selected"]) for e in rounds.values()) / len(rounds),
        "bytes_up_per_client": sum(e["bytes_up"] / len(e["aggregated"]) for e in rounds.values()) / len(rounds),
        "client_train_seconds": sum(trained.values()) / len(trained),
        "total_seconds": wall, "peak_rss_bytes": rss, "rounds": sorted(rounds),
    }


def steady(seconds):
    """Mean of the rounds after the first (the first one warms caches and threads up)."""
    later = seconds[1:] or seconds
    return sum(later) / len(later)


def score(args):
    from safetensors.torch import load_file

    torch.set_num_threads(args.cpus)
    s = load_settings(args.scenario)
    split = load_split(args.split)
    tokenizer, pad = load_tokenizer(args.model), pad_id(args.model)
    batches = {c["id"]: held_out_batch(args.split, c["id"], tokenizer, s, pad, split["max_examples_per_client"])
               for c in split["clients"]}
    weights = {c["id"]: max(1, c["train"]) for c in split["clients"]}
    model = load_model(args.model, s, s.seed)

    def score_adapter(directory):
        set_lora(model, load_file(os.path.join(directory, "adapter_model.safetensors")))
        return global_loss(model, batches, weights)

    with model.disable_adapter():
        base, base_clients = global_loss(model, batches, weights)
    flower_sim = json.load(open(os.path.join(args.out, "flower", "simulation.json")))
    fp = fedpilot_figures(args.fedpilot)
    flower_eval = {r: score_adapter(os.path.join(args.out, "flower", f"round-{r}")) for r in range(0, s.rounds + 1)}
    fedpilot_eval = {r: score_adapter(os.path.join(args.fedpilot, f"round-{r}")) for r in fp["rounds"]}

    flower_train = [c for r in flower_sim["train"].values() for c in r]
    flower_reported = {0: flower_sim["initial_eval"]["eval-loss"]} | {int(r): m["eval-loss"] for r, m in flower_sim["eval"].items()}
    mb = 1e6
    rows = [
        {"system": "FedPilot", "seconds_per_round_steady": steady(fp["round_seconds"]), "round_seconds": fp["round_seconds"],
         "total_seconds": fp["total_seconds"], "peak_rss_mb": fp["peak_rss_bytes"] / mb,
         "mb_down_per_client": fp["bytes_down_per_client"] / mb, "mb_up_per_client": fp["bytes_up_per_client"] / mb,
         "client_train_seconds": fp["client_train_seconds"],
         "payload": s.payload, "eval_loss": {r: fedpilot_eval[r][0] for r in fedpilot_eval},
         "reported_eval_loss": fp["reported_eval"]},
        {"system": "Flower", "seconds_per_round_steady": steady(flower_sim["round_seconds"]),
         "round_seconds": flower_sim["round_seconds"], "train_phase_seconds": flower_sim["train_phase_seconds"],
         "evaluate_phase_seconds": flower_sim["evaluate_phase_seconds"], "total_seconds": flower_sim["seconds_to_last_round"],
         "client_train_seconds": sum(c["train-seconds"] for c in flower_train) / len(flower_train),
         "seconds_to_last_round": flower_sim["seconds_to_last_round"], "peak_rss_mb": flower_sim["peak_rss_tree_bytes"] / mb,
         "mb_down_per_client": sum(c["bytes-down"] for c in flower_train) / len(flower_train) / mb,
         "mb_up_per_client": sum(c["bytes-up"] for c in flower_train) / len(flower_train) / mb,
         "serialized_mb_down_per_client": sum(c["serialized-down"] for c in flower_train) / len(flower_train) / mb,
         "serialized_mb_up_per_client": sum(c["serialized-up"] for c in flower_train) / len(flower_train) / mb,
         "payload": "fp32", "eval_loss": {r: flower_eval[r][0] for r in range(1, s.rounds + 1)},
         "reported_eval_loss": flower_reported, "initial_adapter_eval_loss": flower_eval[0][0]},
    ]
    time_file = os.path.join(args.out, "flower", "time.txt")
    if os.path.exists(time_file):
        rows[1]["total_seconds"], rows[1]["peak_rss_mb_time_v"] = read_time_v(time_file)
        rows[1]["peak_rss_mb_time_v"] /= mb
    check = {r: fedpilot_eval[r][0] - fp["reported_eval"][r] for r in fedpilot_eval}
    check[0] = base - fp["reported_eval"][0]
    results = {
        "scenario": args.scenario, "settings": vars(s), "base_eval_loss": base, "base_eval_loss_per_client": base_clients,
        "systems": rows, "per_client_eval": {"flower": {r: v[1] for r, v in flower_eval.items()},
                                              "fedpilot": {r: v[1] for r, v in fedpilot_eval.items()}},
        "fedpilot_scored_minus_reported": check,
        "flower_scored_minus_reported": {r: flower_eval[r][0] - flower_reported[r] for r in flower_eval},
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)

    losses = " ".join(f"{'r' + str(r):>7s}" for r in range(1, s.rounds + 1))
    print(f"\n{'system':9s} {'s/round':>8s} {'total s':>8s} {'train s':>8s} {'MB down':>8s} {'MB up':>8s} {'peak MB':>8s} "
          f"{'base':>7s} {losses}")
    for row in rows:
        print(f"{row['system']:9s} {row['seconds_per_round_steady']:8.1f} {row['total_seconds']:8.1f} "
              f"{row['client_train_seconds']:8.1f} "
              f"{row['mb_down_per_client']:8.2f} {row['mb_up_per_client']:8.2f} {row['peak_rss_mb']:8.0f} {base:7.4f} "
              + " ".join(f"{row['eval_loss'].get(r, math.nan):7.4f}" for r in range(1, s.rounds + 1)))
    print(f"\ns/round: mean of rounds 2..{s.rounds} (training + scoring the new global adapter on every client); "
          "total: process wall time, model load and the scoring of the initial adapter included")
    print(f"train s: one client's {s.steps} local steps, mean over clients and rounds; "
          f"Flower's training phase took {', '.join(f'{x:.1f}' for x in flower_sim['train_phase_seconds'])} s "
          f"of its rounds, scoring the rest")
    print(f"MB: per client and round, each way (FedPilot {s.payload} payload; Flower fp32 ndarrays, "
          f"serialized {rows[1]['serialized_mb_down_per_client']:.2f} down / {rows[1]['serialized_mb_up_per_client']:.2f} up)")
    print("peak MB: FedPilot's maximum RSS (/usr/bin/time); Flower's summed RSS of its process tree "
          "(driver, Ray, workers; sampled every 0.5 s)")
    print("eval loss: one PyTorch scoring of each global adapter (base: no adapter)")
    print("FedPilot scored minus FedPilot's own global_eval_loss: "
          + ", ".join(f"round {r}: {d:+.2e}" for r, d in sorted(check.items())))
    print("Flower scored minus Flower's own aggregated eval loss: "
          + ", ".join(f"round {r}: {d:+.2e}" for r, d in sorted(results["flower_scored_minus_reported"].items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["simulate", "score"])
    ap.add_argument("--scenario", default=DEFAULT_SCENARIO)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="Hugging Face checkpoint of the scenario's base model")
    ap.add_argument("--split", required=True, help="output of `fedpilot data split`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--fedpilot", help="score: directory with FedPilot's events.jsonl, time.txt and round-N exports")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the whole run (Ray's num_cpus)")
    ap.add_argument("--client-cpus", type=int, default=1, help="CPUs (and torch threads) per simulated client")
    args = ap.parse_args()
    if args.command == "simulate":
        simulate(args)
    else:
        if not args.fedpilot:
            ap.error("score needs --fedpilot DIR")
        score(args)


if __name__ == "__main__":
    # Run as the module `flower_parity`, importable by the simulation's worker processes (PYTHONPATH),
    # so that the apps' functions travel by reference and each worker keeps its model between messages.
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, here)
    import flower_parity
    flower_parity.main()
