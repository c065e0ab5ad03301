"""Produce golden reference fixtures for the Swift Llama engine from the reference stack
(PyTorch + transformers + peft), reading the same GGUF file the Swift code loads.

Usage (after `bash scripts/golden-venv.sh`):

    .venv-golden/bin/python scripts/make_golden.py [--model PATH] [--out DIR] [--no-lora]

Defaults: --model models/SmolLM2-135M-Instruct.Q4_1.gguf, --out Tests/LlamaTests/Fixtures.

Writes, into --out:

  golden.json
      model_file, model_sha256, library versions, `gguf_metadata` (read with gguf.GGUFReader),
      `config` (the HF config transformers builds from the GGUF), `adds_bos`, `prompts`
      (token ids, loss, top-5 logits at the last position, per-position NLL) and
      `tokenizer_cases` (ids with add_special_tokens=False, plus decode round trip).

  gemma3_golden.json      (only with --gemma3 PATH; the SmolLM2 fixtures are then left alone)
      Gemma 3 270M (Q4_K_M GGUF, scripts/fetch-gemma.sh): the config transformers builds from the
      GGUF, and per prompt the token ids (transformers' Gemma tokenizer from the GGUF, with BOS),
      the loss, the top-5 logits at the last position and at a middle position, and the logits of
      a few fixed ids there. See GEMMA3_NOTE below.

  qwen2_tiny/              (only with --qwen2-tiny; nothing else is written)
      A tiny random Qwen2ForCausalLM (q/k/v biases, untied head; seed 0) written three ways:
      config.json + model.safetensors (save_pretrained), qwen2_tiny.gguf (the same float32
      weights under llama.cpp's qwen2 names, written with the gguf package, q/k rows not
      permuted: llama.cpp runs qwen2 with NeoX RoPE) and golden.json (transformers' logits
      for two fixed token sequences). A few tens of KB.

  gemma3_tiny/             (only with --gemma3-tiny; nothing else is written)
      A tiny random Gemma3ForCausalLM (seed 0; window 3 shorter than the sequences, local and
      global layers with RoPE bases 1e4 / 1e6, query_pre_attn_scalar 12 != head_dim 8) as
      config.json + model.safetensors (save_pretrained: model_type gemma3_text, norms stored as w),
      as gemma3_tiny.gguf under llama.cpp's gemma3 names (norms stored as 1 + w), golden.json
      (transformers' logits for two fixed sequences, PEFT's loss) and lora_gradients.safetensors
      (PEFT's gradients of every lora_A/lora_B, r 4, alpha 8, all seven targets, values from
      lora_init_values, labels = input_ids). About 300 KB.

  lora_golden.safetensors + lora_golden.json      (skipped with --no-lora)
      Gradients of a fixed LoRA state on a fixed [2, 48] batch, unmasked and prompt-masked.
      The exact definition is in LORA_DEFINITION below and is copied into the JSON.

How the reference model is built
  * `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=float32)`. For the `llama`
    architecture transformers 5.x goes through its legacy GGUF loader
    (transformers/modeling_gguf_pytorch_utils.py: load_gguf_checkpoint), which dequantizes every
    tensor with `gguf.dequantize` (Q4_1 / Q8_0 -> float32) and un-permutes attn_q / attn_k with
    LlamaTensorProcessor._reverse_permute_weights (llama.cpp's convert script permutes the q/k rows
    for its interleaved RoPE; HF Llama uses the rotate-half layout).
  * The weights are then copied into a plain `LlamaForCausalLM` (same config, no
    quantization_config, eager attention, float32, CPU) so that nothing GGUF-specific remains in the
    forward/backward pass and PEFT sees an ordinary model.

How the reference tokenizer is built (IMPORTANT)
  * `AutoTokenizer.from_pretrained(dir, gguf_file=name)` builds a byte-level BPE from the GGUF vocab
    and merges, but transformers has no entry for the GGUF pre-tokenizer type "smollm", so it keeps
    GPT2Tokenizer's plain ByteLevel(use_regex=True) pre-tokenizer, which does NOT split digits
    individually.
  * SmolLM2's own tokenizer.json (and llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM: regexes "\\p{N}" then
    the GPT-2 pattern) first split every digit on its own. The reference tokenizer used for all ids in
    the fixtures therefore replaces the pre-tokenizer with
        Sequence([Digits(individual_digits=True),
                  ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    Every tokenizer case also records what the unpatched transformers-GGUF tokenizer gives
    (`ids_transformers_gguf`) and whether the two agree.
"""

import argparse
import hashlib
import json
import math
import os
import sys
from importlib.metadata import version

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(REPO_ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "LlamaTests", "Fixtures")
EXPECTED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------

PROMPTS = [
    ("clinical_note",
     "Pt is a 67yo M w/ hx of HTN, DM2 presenting with SOB and CP x2d. BP 158/94, HR 102. "
     "Troponin pending; started on ASA 325mg and NTG SL."),
    ("aml_alert",
     "AML ALERT #A-2291: acct 4471-0093 got 14 cash deposits of $9,500 (03/01-03/12), "
     "just under the CTR threshold, then wired $128,000 to a new beneficiary in Cyprus."),
    ("it_ticket",
     "Ticket #48213 [P2] VPN drops every ~15 min on Windows 11 laptop (Dell Latitude 7440). "
     "Error: \"The network connection to the VPN server was interrupted.\" Reinstalled client "
     "v5.2.1, issue persists."),
    ("python_code",
     "def moving_average(xs, k=3):\n"
     "    \"\"\"Return the k-point moving average.\"\"\"\n"
     "    out = []\n"
     "    for i in range(len(xs) - k + 1):\n"
     "        out.append(sum(xs[i:i + k]) / k)\n"
     "    return out\n"),
    ("multilingual",
     "Le patient présente une fièvre élevée depuis trois jours. "
     "Der Patient hat seit drei Tagen hohes Fieber. 患者已经发烧三天了。"),
    ("chatml",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
     "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
     "<|im_start|>assistant\n"),
    ("plain_english", "The capital of France is"),
]
MAX_PROMPT_TOKENS = 80

TOKENIZER_CASES = [
    "",
    "Hello world",
    " hello",
    "hello ",
    "hello   ",
    "a    b",
    "   ",
    "\n",
    "  leading two spaces",
    "12345 and 3.14159",
    "In 2024, 1,000,000 users paid $19.99.",
    "a   1",
    "x  2024 y",
    "don't I'll we've they're she's I'm he'd",
    "DON'T I'LL WE'VE",
    "\n\n  x",
    "x  \n  y",
    "line1\nline2\r\nline3",
    "\tindented\twith\ttabs\t",
    "def f(x):\n    return x * 2\n",
    "if (a != b && c <= d) { return -1; }",
    "🙂👍🏽",
    "I ❤️ emoji 🎉!",
    "中文分词测试：你好，世界。",
    "日本語のテキスト",
    "한국어 텍스트",
    "café naïve résumé façade",
    "e\u0301 (combining acute)",
    "Straße Ärger Öl Übermut",
    "Привет, мир!",
    "\u00a0non-breaking\u00a0space",
    "ℌ𝔢𝔩𝔩𝔬 𝟙𝟚𝟛",
    "<|im_start|>user\nHello<|im_end|>\n",
    "Say <|im_end|> in the middle",
    "<|endoftext|>",
    "<im_start> is not special",
    "!!!???...;;;",
    "https://example.com/path?q=1&b=2#frag",
    "user@example.org",
    "CamelCaseIdentifier snake_case_name SHOUTING",
    "MiXeD cAsE TeXt",
    "Pt is a 67yo M w/ hx of HTN, DM2",
    "BP 158/94, HR 102, SpO2 94% on RA.",
    "$1,234.56 USD -> €1.130,00 EUR",
    "ACCT#0042-7781 wire 2024-03-15T14:22:05Z",
    "The quick brown fox jumps over the lazy dog.",
]

# ----------------------------------------------------------------------------------------------
# LoRA golden definition (the Swift training engine reproduces exactly this)
# ----------------------------------------------------------------------------------------------

LORA_R = 8
LORA_ALPHA = 16
LORA_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_SEQ_LEN = 48
LORA_MASKED_PREFIX = 16

LORA_TEXTS = [
    # clinical note
    "Patient is a 58-year-old female with a history of type 2 diabetes, hypertension and chronic "
    "kidney disease stage 3, admitted for community-acquired pneumonia. On arrival she was febrile "
    "to 38.9 C, tachycardic at 112 bpm, with oxygen saturation of 89% on room air. Chest X-ray showed "
    "right lower lobe consolidation. Started on ceftriaxone and azithromycin.",
    # IT support ticket
    "Hello support team, since this morning none of the users in the finance department can open "
    "the shared drive. When they click on the mapped network folder they get an access denied error, "
    "although nothing was changed on our side. We already restarted the file server and cleared the "
    "cached credentials on two laptops, but the problem persists. Please advise urgently.",
]

LORA_DEFINITION = f"""\
Model: the GGUF loaded by transformers (dequantized to float32, attn_q/attn_k reverse-permuted),
copied into a plain LlamaForCausalLM, float32, CPU, eager attention, eval mode (no dropout anywhere).
PEFT: LoraConfig(r={LORA_R}, lora_alpha={LORA_ALPHA}, lora_dropout=0.0,
  target_modules={LORA_MODULES}, bias="none", task_type="CAUSAL_LM"); get_peft_model freezes every
  base weight, only lora_A / lora_B are trainable. LoRA forward: y = W x + (alpha/r) * B (A x),
  alpha/r = {LORA_ALPHA / LORA_R}.
LoRA state: for layer L (0-based) and module index m in the order {LORA_MODULES}:
  lora_A has shape [r, in_features]; element at flat row-major index i = 0.02*sin(0.1*i + L + 0.5*m)
  lora_B has shape [out_features, r]; element at flat row-major index i = 0.01*cos(0.07*i + L + 0.3*m)
  computed in float64, then cast to float32.
Batch: the two texts, each tokenized with add_special_tokens=False (reference SmolLM2 tokenizer,
  digits split individually) and truncated to the first {LORA_SEQ_LEN} tokens; input_ids shape
  [2, {LORA_SEQ_LEN}]; no padding, attention over all positions (causal), position ids 0..{LORA_SEQ_LEN - 1}.
Case "unmasked": labels = input_ids; loss = model(input_ids, labels=labels).loss, i.e. the mean
  next-token cross-entropy (float32 logits) over all 2*{LORA_SEQ_LEN - 1} shifted positions.
Case "masked": labels = input_ids with labels[:, :{LORA_MASKED_PREFIX}] = -100; the loss is the mean over
  the 2*{LORA_SEQ_LEN - LORA_MASKED_PREFIX} shifted positions whose target label is not -100
  (targets at positions {LORA_MASKED_PREFIX}..{LORA_SEQ_LEN - 1}).
Each case: gradients zeroed, one forward, loss.backward() once. Gradients are d(loss)/d(param) of
  every lora_A / lora_B weight, float32, stored under PEFT's saved-adapter names (the adapter name
  ".default" removed), e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight and
  base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight; the masked case under the same
  names prefixed with "masked.".
"""

# ----------------------------------------------------------------------------------------------


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_gguf_metadata(path):
    """Key metadata straight from the file with the gguf package's reader."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    fields = reader.fields

    def get(key):
        field = fields.get(key)
        if field is None:
            return None
        value = field.contents()
        if isinstance(value, float):
            value = float(np.float32(value))  # keep the float32 value the file stores
        return value

    arch = get("general.architecture")
    keys = [
        "general.architecture", "general.name", "general.file_type", "general.quantization_version",
        f"{arch}.context_length", f"{arch}.embedding_length", f"{arch}.block_count",
        f"{arch}.feed_forward_length", f"{arch}.attention.head_count", f"{arch}.attention.head_count_kv",
        f"{arch}.rope.freq_base", f"{arch}.rope.dimension_count",
        f"{arch}.attention.layer_norm_rms_epsilon", f"{arch}.vocab_size",
        "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token",
        "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
        "tokenizer.chat_template",
    ]
    meta = {k: get(k) for k in keys if k in fields}
    tokens = fields["tokenizer.ggml.tokens"].contents()
    token_types = fields["tokenizer.ggml.token_type"].contents()
    meta["tokenizer.ggml.tokens.count"] = len(tokens)
    meta["tokenizer.ggml.merges.count"] = len(fields["tokenizer.ggml.merges"].data)
    meta["control_tokens"] = {str(i): tokens[i] for i, t in enumerate(token_types) if t == 3}
    type_counts = {}
    for t in reader.tensors:
        type_counts[t.tensor_type.name] = type_counts.get(t.tensor_type.name, 0) + 1
    meta["tensor_count"] = len(reader.tensors)
    meta["tensor_type_counts"] = type_counts
    meta["tensor_types_layer0"] = {
        t.name: t.tensor_type.name for t in reader.tensors
        if t.name.startswith("blk.0.") or not t.name.startswith("blk.")
    }
    meta["has_output_weight"] = any(t.name == "output.weight" for t in reader.tensors)
    return meta


def load_tokenizers(model_path):
    """(reference SmolLM2 tokenizer, unpatched transformers-GGUF tokenizer). See the file header."""
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    d, name = os.path.split(model_path)
    raw = AutoTokenizer.from_pretrained(d, gguf_file=name)
    ref = AutoTokenizer.from_pretrained(d, gguf_file=name)
    ref.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    return ref, raw


def load_model(model_path):
    """GGUF -> transformers (dequantized) -> plain float32 LlamaForCausalLM with eager attention."""
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    d, name = os.path.split(model_path)
    loaded = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
    cfg = loaded.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg.pop("_name_or_path", None)
    cfg.pop("_model_name_or_path", None)
    config = LlamaConfig(**cfg)
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config).to(torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # lm_head is tied to embed_tokens and may or may not appear in the state dict.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise RuntimeError(f"state dict mismatch: missing={missing} unexpected={unexpected}")
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.eval()
    del loaded
    return model


def config_summary(config):
    rope = getattr(config, "rope_parameters", None) or {}
    rope_theta = rope.get("rope_theta", getattr(config, "rope_theta", None))
    return {
        "model_type": config.model_type,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": getattr(config, "head_dim", config.hidden_size // config.num_attention_heads),
        "intermediate_size": config.intermediate_size,
        "vocab_size": config.vocab_size,
        "rope_theta": rope_theta,
        "rope_type": rope.get("rope_type", "default"),
        "rms_norm_eps": config.rms_norm_eps,
        "max_position_embeddings": config.max_position_embeddings,
        "tie_word_embeddings": config.tie_word_embeddings,
        "hidden_act": config.hidden_act,
        "attention_bias": config.attention_bias,
        "mlp_bias": config.mlp_bias,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "pad_token_id": config.pad_token_id,
    }


def tokenizer_section(tok):
    bt = json.loads(tok.backend_tokenizer.to_str())
    return {k: bt.get(k) for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder")}


@torch.no_grad()
def prompt_record(model, tok, name, text):
    ids = tok(text)["input_ids"]
    if len(ids) > MAX_PROMPT_TOKENS:
        raise ValueError(f"prompt {name} has {len(ids)} tokens (> {MAX_PROMPT_TOKENS})")
    input_ids = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids, labels=input_ids)
    logits = out.logits[0].float()  # [T, V]
    last = logits[-1]
    top = torch.topk(last, 5)
    # Per-position NLL of the next token: position t predicts ids[t + 1].
    logp = torch.log_softmax(logits[:-1], dim=-1)
    nll = -logp.gather(1, input_ids[0, 1:, None])[:, 0]
    return {
        "name": name,
        "text": text,
        "num_tokens": len(ids),
        "token_ids": ids,
        "top": [
            {"id": int(i), "logit": float(v), "text": tok.decode([int(i)])}
            for v, i in zip(top.values, top.indices)
        ],
        "last_logsumexp": float(torch.logsumexp(last, dim=0)),
        "last_logits_first8": [float(x) for x in last[:8]],
        "loss": float(out.loss),
        "nll_per_position": [float(x) for x in nll],
    }


def tokenizer_case(ref, raw, text):
    ids = ref(text, add_special_tokens=False)["input_ids"]
    raw_ids = raw(text, add_special_tokens=False)["input_ids"]
    decoded = ref.decode(ids)
    case = {
        "text": text,
        "ids": ids,
        "tokens": ref.convert_ids_to_tokens(ids),
        "decoded": decoded,
        "round_trip": decoded == text,
        "matches_transformers_gguf": ids == raw_ids,
    }
    if ids != raw_ids:
        case["ids_transformers_gguf"] = raw_ids
    return case


# ----------------------------------------------------------------------------------------------
# LoRA
# ----------------------------------------------------------------------------------------------


def lora_init_values(shape, layer, module_index, kind):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    if kind == "A":
        v = 0.02 * np.sin(0.1 * i + layer + 0.5 * module_index)
    else:
        v = 0.01 * np.cos(0.07 * i + layer + 0.3 * module_index)
    return torch.from_numpy(v.reshape(shape).astype(np.float32))


def saved_name(param_name):
    """PEFT parameter name -> saved-adapter name (drop the adapter name)."""
    return param_name.replace(".lora_A.default.", ".lora_A.").replace(".lora_B.default.", ".lora_B.")


def make_lora(model, ref_tok, out_dir):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file

    config = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0, target_modules=LORA_MODULES,
                        bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    peft_model.eval()

    # Deterministic LoRA state.
    lora_params = {}
    with torch.no_grad():
        for layer_idx, layer in enumerate(peft_model.base_model.model.model.layers):
            for m, mod_name in enumerate(LORA_MODULES):
                parent = layer.self_attn if mod_name.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) \
                    else layer.mlp
                mod = getattr(parent, mod_name)
                a = mod.lora_A["default"].weight
                b = mod.lora_B["default"].weight
                assert a.shape == (LORA_R, mod.in_features) and b.shape == (mod.out_features, LORA_R)
                a.copy_(lora_init_values(tuple(a.shape), layer_idx, m, "A"))
                b.copy_(lora_init_values(tuple(b.shape), layer_idx, m, "B"))
                assert mod.scaling["default"] == LORA_ALPHA / LORA_R
    for name, p in peft_model.named_parameters():
        if p.requires_grad:
            assert "lora_" in name, name
            lora_params[saved_name(name)] = p
    assert len(lora_params) == 2 * len(LORA_MODULES) * model.config.num_hidden_layers
    n_trainable = sum(p.numel() for p in lora_params.values())

    rows = []
    for text in LORA_TEXTS:
        ids = ref_tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) < LORA_SEQ_LEN:
            raise ValueError(f"LoRA text too short: {len(ids)} tokens")
        rows.append(ids[:LORA_SEQ_LEN])
    input_ids = torch.tensor(rows, dtype=torch.long)

    with torch.no_grad(), peft_model.disable_adapter():
        base_loss = float(peft_model(input_ids=input_ids, labels=input_ids).loss)

    def run(labels):
        peft_model.zero_grad(set_to_none=True)
        loss = peft_model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        grads = {n: p.grad.detach().clone().contiguous() for n, p in lora_params.items()}
        return loss.item(), grads

    loss, grads = run(input_ids.clone())
    masked_labels = input_ids.clone()
    masked_labels[:, :LORA_MASKED_PREFIX] = -100
    masked_loss, masked_grads = run(masked_labels)

    tensors = dict(grads)
    tensors.update({"masked." + n: g for n, g in masked_grads.items()})
    names = list(grads.keys())
    st_path = os.path.join(out_dir, "lora_golden.safetensors")
    # One metadata key only: safetensors writes the metadata map in hash order, so several keys would
    # make the file bytes differ between runs. The tensors themselves are written sorted by name.
    save_file(tensors, st_path, metadata={"format": "pt"})
    os.chmod(st_path, 0o644)  # safetensors creates the file 0600

    def global_norm(gs):
        return math.sqrt(sum(float(g.double().pow(2).sum()) for g in gs.values()))

    q = "base_model.model.model.layers.0.self_attn.q_proj"
    meta = {
        "definition": LORA_DEFINITION,
        "r": LORA_R,
        "lora_alpha": LORA_ALPHA,
        "scaling": LORA_ALPHA / LORA_R,
        "target_modules": LORA_MODULES,
        "seq_len": LORA_SEQ_LEN,
        "masked_prefix": LORA_MASKED_PREFIX,
        "texts": LORA_TEXTS,
        "input_ids": rows,
        "loss": loss,
        "masked_loss": masked_loss,
        "base_loss_without_lora": base_loss,
        "num_loss_positions": 2 * (LORA_SEQ_LEN - 1),
        "num_masked_loss_positions": 2 * (LORA_SEQ_LEN - LORA_MASKED_PREFIX),
        "trainable_parameters": n_trainable,
        "grad_global_l2": global_norm(grads),
        "masked_grad_global_l2": global_norm(masked_grads),
        "weight_samples": {
            f"{q}.lora_A.weight[:5] (row 0)": [float(x) for x in lora_params[f"{q}.lora_A.weight"].detach().flatten()[:5]],
            f"{q}.lora_B.weight[:5] (flat)": [float(x) for x in lora_params[f"{q}.lora_B.weight"].detach().flatten()[:5]],
        },
        "grad_samples": {
            f"{q}.lora_A.weight[:5]": [float(x) for x in grads[f"{q}.lora_A.weight"].flatten()[:5]],
            f"{q}.lora_B.weight[:5]": [float(x) for x in grads[f"{q}.lora_B.weight"].flatten()[:5]],
            f"masked.{q}.lora_A.weight[:5]": [float(x) for x in masked_grads[f"{q}.lora_A.weight"].flatten()[:5]],
            f"masked.{q}.lora_B.weight[:5]": [float(x) for x in masked_grads[f"{q}.lora_B.weight"].flatten()[:5]],
        },
        "safetensors_file": "lora_golden.safetensors",
        "names": names,
        "shapes": {n: list(g.shape) for n, g in grads.items()},
    }
    with open(os.path.join(out_dir, "lora_golden.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"LoRA: loss={loss:.6f} masked_loss={masked_loss:.6f} base_loss={base_loss:.6f} "
          f"trainable={n_trainable} grad_l2={meta['grad_global_l2']:.6e} "
          f"masked_grad_l2={meta['masked_grad_global_l2']:.6e}")
    print("LoRA weight samples:", json.dumps(meta["weight_samples"]))
    # Undo the wrapping so the caller's model is unchanged.
    peft_model.unload()


# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Gemma 3 (--gemma3 PATH)
# ----------------------------------------------------------------------------------------------

GEMMA3_EXPECTED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA3_PROMPTS = ["plain_english", "clinical_note", "python_code", "multilingual"]
GEMMA3_PROBE_IDS = [0, 1, 2, 107, 1000, 262143]
GEMMA3_NOTE = (
    "transformers 5.x reads the gemma3 GGUF with its legacy loader (modeling_gguf_pytorch_utils): every "
    "tensor dequantized with gguf.dequantize to float32, and 1 subtracted from every '*norm.weight' "
    "(llama.cpp's converter stores Gemma's (1 + w) norm scales with the 1 added). What the GGUF does not "
    "say comes from Gemma3TextConfig defaults: layer_types (5 sliding, 1 full, repeated), the sliding "
    "window's RoPE base 10000, query_pre_attn_scalar 256. Gemma3ForCausalLM, eager attention, float32, CPU.")


def load_gemma3(model_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d, name = os.path.split(model_path)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    return model, tok


@torch.no_grad()
def gemma3_prompt_record(model, tok, name, text):
    ids = tok(text)["input_ids"]
    input_ids = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids, labels=input_ids)
    logits = out.logits[0].float()  # [T, V]

    def position(t):
        row = logits[t]
        top = torch.topk(row, 5)
        return {
            "position": t,
            "top": [{"id": int(i), "logit": float(v)} for v, i in zip(top.values, top.indices)],
            "probe_logits": {str(i): float(row[i]) for i in GEMMA3_PROBE_IDS},
            "logsumexp": float(torch.logsumexp(row, dim=0)),
        }

    return {
        "name": name,
        "text": text,
        "num_tokens": len(ids),
        "token_ids": ids,
        "loss": float(out.loss),
        "positions": [position(len(ids) // 2), position(len(ids) - 1)],
    }


def make_gemma3(model_path, out_dir):
    sha = sha256_file(model_path)
    if sha != GEMMA3_EXPECTED_SHA256:
        print(f"WARNING: gemma3 sha256 {sha} differs from the expected {GEMMA3_EXPECTED_SHA256}", file=sys.stderr)
    model, tok = load_gemma3(model_path)
    c = model.config
    golden = {
        "generator": "scripts/make_golden.py --gemma3",
        "model_file": os.path.basename(model_path),
        "model_sha256": sha,
        "versions": {d: version(d) for d in ("torch", "transformers", "gguf", "numpy")},
        "note": GEMMA3_NOTE,
        "config": {
            "model_type": c.model_type, "hidden_size": c.hidden_size, "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads, "num_key_value_heads": c.num_key_value_heads,
            "head_dim": c.head_dim, "intermediate_size": c.intermediate_size, "vocab_size": c.vocab_size,
            "rms_norm_eps": c.rms_norm_eps, "sliding_window": c.sliding_window, "layer_types": c.layer_types,
            "rope_parameters": c.rope_parameters, "query_pre_attn_scalar": c.query_pre_attn_scalar,
            "hidden_activation": c.hidden_activation, "final_logit_softcapping": c.final_logit_softcapping,
            "attn_logit_softcapping": c.attn_logit_softcapping, "tie_word_embeddings": c.tie_word_embeddings,
            "max_position_embeddings": c.max_position_embeddings,
        },
        "attn_implementation": "eager",
        "dtype": "float32",
        "prompts": [],
    }
    texts = dict(PROMPTS)
    for name in GEMMA3_PROMPTS:
        rec = gemma3_prompt_record(model, tok, name, texts[name])
        golden["prompts"].append(rec)
        last = rec["positions"][-1]["top"]
        tops = ", ".join(f"{t['id']}:{tok.decode([t['id']])!r}:{t['logit']:.3f}" for t in last)
        print(f"gemma3 prompt {name:14s} tokens={rec['num_tokens']:3d} loss={rec['loss']:.6f}  top5: {tops}")
    out_json = os.path.join(out_dir, "gemma3_golden.json")
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", out_json)


# ----------------------------------------------------------------------------------------------
# Tiny random Qwen2 (--qwen2-tiny)
# ----------------------------------------------------------------------------------------------

QWEN2_TINY_SEQUENCES = [[1, 5, 9, 13, 17, 21, 25, 29], [60, 2, 2, 41, 3, 8, 63, 0]]


def tiny_gguf_writer(path, arch, name, config):
    """A GGUF writer for a tiny random checkpoint with the shape keys both tiny families share."""
    import gguf
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_block_count(config.num_hidden_layers)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(config.num_key_value_heads)
    return w


def write_tiny_gguf_tensors(w, model, config, names, per_layer, convert=lambda hf, value: value):
    """Adds the model's tensors under llama.cpp's names (`names` global, `per_layer` per block,
    each Hugging Face name -> GGUF name), `convert` applied to each, and writes the file."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    names = dict(names)
    for i in range(config.num_hidden_layers):
        for hf, gg in per_layer.items():
            names[f"model.layers.{i}.{hf}"] = f"blk.{i}.{gg}"
    for hf, gg in names.items():
        w.add_tensor(gg, convert(hf, sd[hf]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@torch.no_grad()
def make_qwen2_tiny(out_dir):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
                         bos_token_id=1, eos_token_id=2)
    config._attn_implementation = "eager"
    model = Qwen2ForCausalLM(config).to(torch.float32)
    # Random init leaves biases and norms at 0 / 1; make them matter.
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            p.normal_(0, 0.5)
        elif "norm" in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.normal_(0, 0.1)
    model.eval()
    d = os.path.join(out_dir, "qwen2_tiny")
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)

    w = tiny_gguf_writer(os.path.join(d, "qwen2_tiny.gguf"), "qwen2", "qwen2-tiny-random", config)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(config.vocab_size)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                 "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
                 "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
                 "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
                 "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
                 "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}
    write_tiny_gguf_tensors(w, model, config, names, per_layer)

    records = []
    for ids in QWEN2_TINY_SEQUENCES:
        logits = model(torch.tensor([ids])).logits[0]
        records.append({"token_ids": ids, "logits": [[float(x) for x in row] for row in logits]})
    with open(os.path.join(d, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/make_golden.py --qwen2-tiny",
                   "versions": {k: version(k) for k in ("torch", "transformers", "gguf", "safetensors")},
                   "sequences": records}, f)
        f.write("\n")
    print("wrote", d)


GEMMA3_TINY_SEQUENCES = [[2, 5, 9, 13, 17, 21, 25, 29, 33, 37], [2, 40, 3, 7, 11, 50, 60, 1, 44, 12]]


def make_gemma3_tiny(out_dir):
    """A tiny random Gemma 3 (window 3 < sequence length, two RoPE bases, query_pre_attn_scalar 12
    != head_dim 8, layers local/global/local) as GGUF under llama.cpp's gemma3 names (norms stored
    as 1 + w, q/k rows unpermuted), with transformers' logits and PEFT's LoRA gradients (all seven
    targets, r 4, alpha 8, the A/B values of lora_init_values) for the same two sequences."""
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, max_position_embeddings=128, rms_norm_eps=1e-6,
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
        query_pre_attn_scalar=12, sliding_window=3,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        final_logit_softcapping=None, attn_logit_softcapping=None, tie_word_embeddings=True,
        pad_token_id=0, eos_token_id=1, bos_token_id=2)
    config._attn_implementation = "eager"
    model = Gemma3ForCausalLM(config).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(0.1 * torch.randn_like(p))  # Gemma's norms scale by 1 + w
            else:
                p.normal_(0, 0.1)
    model.eval()
    assert [l.self_attn.sliding_window for l in model.model.layers] == [3, None, 3]

    d = os.path.join(out_dir, "gemma3_tiny")
    os.makedirs(d, exist_ok=True)
    # The same weights as transformers writes them (model_type gemma3_text, norms stored as w, the
    # tied head left out), before PEFT wraps the model below.
    model.save_pretrained(d, safe_serialization=True)
    os.chmod(os.path.join(d, "model.safetensors"), 0o644)
    os.remove(os.path.join(d, "generation_config.json"))  # not read by FedPilot
    w = tiny_gguf_writer(os.path.join(d, "gemma3_tiny.gguf"), "gemma3", "gemma3-tiny-random", config)
    w.add_key_length(config.head_dim)
    w.add_value_length(config.head_dim)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_rope_freq_base(1000000.0)
    w.add_sliding_window(config.sliding_window)
    w.add_uint32("gemma3.attention.sliding_window_pattern", 2)  # layer i global when (i + 1) % 2 == 0
    w.add_float32("gemma3.rope.freq_base_swa", 10000.0)
    w.add_float32("gemma3.attention.query_pre_attn_scalar", float(config.query_pre_attn_scalar))
    w.add_vocab_size(config.vocab_size)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    per_layer = {"input_layernorm.weight": "attn_norm.weight", "pre_feedforward_layernorm.weight": "ffn_norm.weight",
                 "post_attention_layernorm.weight": "post_attention_norm.weight",
                 "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
                 "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
                 "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
                 "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
                 "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
                 "mlp.down_proj.weight": "ffn_down.weight"}
    # llama.cpp's converter stores Gemma's norm scales with the 1 added.
    write_tiny_gguf_tensors(w, model, config, names, per_layer,
                            convert=lambda hf, value: value + 1 if hf.endswith("norm.weight") else value)

    input_ids = torch.tensor(GEMMA3_TINY_SEQUENCES, dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids).logits
    r, alpha = 4, 8
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=LORA_MODULES,
                                                  bias="none", task_type="CAUSAL_LM"))
    params = {}
    with torch.no_grad():
        for layer_idx, layer in enumerate(peft_model.base_model.model.model.layers):
            for m, mod_name in enumerate(LORA_MODULES):
                parent = layer.self_attn if mod_name.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else layer.mlp
                mod = getattr(parent, mod_name)
                a, b = mod.lora_A["default"].weight, mod.lora_B["default"].weight
                a.copy_(lora_init_values(tuple(a.shape), layer_idx, m, "A"))
                b.copy_(lora_init_values(tuple(b.shape), layer_idx, m, "B"))
    for name, p in peft_model.named_parameters():
        if p.requires_grad:
            assert "lora_" in name, name
            params[saved_name(name)] = p
    assert len(params) == 2 * len(LORA_MODULES) * config.num_hidden_layers
    loss = peft_model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    loss = loss.item()
    save_file({n: p.grad.detach().clone().contiguous() for n, p in params.items()},
              os.path.join(d, "lora_gradients.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(d, "lora_gradients.safetensors"), 0o644)
    with open(os.path.join(d, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/make_golden.py --gemma3-tiny",
                   "versions": {k: version(k) for k in ("torch", "transformers", "peft", "gguf", "safetensors")},
                   "lora": {"r": r, "lora_alpha": alpha, "target_modules": LORA_MODULES, "loss": loss,
                            "init": "lora_init_values (A: 0.02 sin(0.1 i + layer + 0.5 m), B: 0.01 cos(0.07 i + layer + 0.3 m))"},
                   "sequences": [{"token_ids": ids, "logits": [[float(x) for x in row] for row in logits[k]]}
                                 for k, ids in enumerate(GEMMA3_TINY_SEQUENCES)]}, f)
        f.write("\n")
    print(f"wrote {d}: LoRA loss {loss:.6f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-lora", action="store_true", help="skip the LoRA gradient golden")
    ap.add_argument("--qwen2-tiny", action="store_true",
                    help="write only qwen2_tiny/ (a tiny random Qwen2 as safetensors and GGUF, with logits)")
    ap.add_argument("--gemma3", metavar="PATH",
                    help="write only gemma3_golden.json, from this Gemma 3 270M GGUF (scripts/fetch-gemma.sh)")
    ap.add_argument("--gemma3-tiny", action="store_true",
                    help="write only gemma3_tiny/ (a tiny random Gemma 3 as safetensors and GGUF, with logits and PEFT LoRA gradients)")
    args = ap.parse_args()

    if args.gemma3_tiny:
        os.makedirs(args.out, exist_ok=True)
        make_gemma3_tiny(args.out)
        return
    if args.qwen2_tiny:
        os.makedirs(args.out, exist_ok=True)
        make_qwen2_tiny(args.out)
        return
    if args.gemma3:
        os.makedirs(args.out, exist_ok=True)
        make_gemma3(os.path.abspath(args.gemma3), args.out)
        return

    torch.manual_seed(0)
    torch.set_grad_enabled(True)
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.abspath(args.model)

    sha = sha256_file(model_path)
    if sha != EXPECTED_SHA256:
        print(f"WARNING: model sha256 {sha} differs from the expected {EXPECTED_SHA256}", file=sys.stderr)

    gguf_meta = read_gguf_metadata(model_path)
    print("GGUF metadata:")
    for k, v in gguf_meta.items():
        if k in ("tokenizer.chat_template", "control_tokens", "tensor_types_layer0"):
            continue
        print(f"  {k}: {v!r}")

    ref_tok, raw_tok = load_tokenizers(model_path)
    model = load_model(model_path)

    bos = ref_tok.bos_token_id
    probe = "Hello"
    adds_bos = ref_tok(probe)["input_ids"][:1] == [bos] and \
        ref_tok(probe, add_special_tokens=False)["input_ids"][:1] != [bos]

    golden = {
        "generator": "scripts/make_golden.py",
        "model_file": os.path.basename(model_path),
        "model_sha256": sha,
        "versions": {d: version(d) for d in ("torch", "transformers", "tokenizers", "gguf", "peft",
                                              "safetensors", "numpy")},
        "gguf_metadata": gguf_meta,
        "config": config_summary(model.config),
        "attn_implementation": "eager",
        "dtype": "float32",
        "adds_bos": adds_bos,
        "special_tokens": {
            "bos": [ref_tok.bos_token, bos], "eos": [ref_tok.eos_token, ref_tok.eos_token_id],
            "pad": [ref_tok.pad_token, ref_tok.pad_token_id], "unk": [ref_tok.unk_token, ref_tok.unk_token_id],
        },
        "tokenizer_note": (
            "ids come from the GGUF-converted transformers tokenizer with its pre-tokenizer replaced by "
            "Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)] "
            "(SmolLM2's tokenizer.json and llama.cpp's 'smollm' pre-tokenizer). transformers itself "
            "leaves plain ByteLevel for pre type 'smollm'; its ids are in ids_transformers_gguf where "
            "they differ."),
        "tokenizer_reference": tokenizer_section(ref_tok),
        "tokenizer_transformers_gguf": tokenizer_section(raw_tok),
        "prompts": [],
        "tokenizer_cases": [],
    }

    for name, text in PROMPTS:
        rec = prompt_record(model, ref_tok, name, text)
        rec["matches_transformers_gguf"] = rec["token_ids"] == raw_tok(text)["input_ids"]
        golden["prompts"].append(rec)
        tops = ", ".join(f"{t['id']}:{t['text']!r}:{t['logit']:.3f}" for t in rec["top"])
        print(f"prompt {name:14s} tokens={rec['num_tokens']:3d} loss={rec['loss']:.6f}  top5: {tops}")

    for text in TOKENIZER_CASES:
        golden["tokenizer_cases"].append(tokenizer_case(ref_tok, raw_tok, text))
    bad_rt = [c["text"] for c in golden["tokenizer_cases"] if not c["round_trip"]]
    diff = [c["text"] for c in golden["tokenizer_cases"] if not c["matches_transformers_gguf"]]
    print(f"tokenizer cases: {len(golden['tokenizer_cases'])}; round-trip failures: {bad_rt!r}; "
          f"differ from unpatched transformers-GGUF tokenizer: {diff!r}")

    out_json = os.path.join(args.out, "golden.json")
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", out_json)

    if not args.no_lora:
        make_lora(model, ref_tok, args.out)
        print("wrote", os.path.join(args.out, "lora_golden.safetensors"), "and lora_golden.json")


if __name__ == "__main__":
    main()
