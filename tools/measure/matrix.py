"""The measurement matrix: each run chosen to separate one term of the memory model.

A run is a dict of the fields below; `run_id` is stable, so results can be joined to it.
Fields left out take DEFAULTS. Groups:
  A  model states: optimizers and precisions at short sequences, where activations are small
  B  activations: sequence, micro-batch, checkpointing, attention kernel and precision
  C  logits and loss: chunked cross-entropy, logits kept by the loop
  D  LoRA: ranks, target sets, dropout, precision, checkpointing
  E  big runs near (or past) the card: out-of-memory is recorded, not hidden
  V  validation after the planner was corrected against A-E
  W  validation on three architectures A-V never used (Gemma-2, Qwen3, Phi-3)
"""

DEFAULTS = {
    "layers": None,  # None keeps the config's num_hidden_layers
    "method": "full",  # full | lora
    "lora_rank": 0,
    "lora_targets": "",  # comma list or all-linear
    "lora_dropout": 0.0,
    "precision": "bf16-pure",  # fp32 | bf16-autocast (fp32 weights) | bf16-pure
    "optimizer": "adamw",  # adamw | sgd | sgd-momentum | adafactor
    "optimizer_impl": "fused",  # foreach | fused | for-loop
    "checkpointing": "none",  # none | full
    "attention": "sdpa",  # sdpa | eager
    "sequence_length": 512,
    "micro_batch_size": 1,
    "cross_entropy": "standard",  # standard (HF loss) | chunked (8 chunks, torchtune-style)
    "retain_logits": False,  # the loop keeps the model output (logits) through backward
}


def _runs():
    L1, L3, Q, G, M = "llama-3.2-1b", "llama-3.2-3b", "qwen2.5-0.5b", "gpt2", "mixtral-small"
    runs = []

    def add(group, model, **fields):
        runs.append({"group": group, "model": model, **fields})

    # A: model states
    for precision in ("fp32", "bf16-autocast"):
        add("A", L1, precision=precision, optimizer="adamw", optimizer_impl="foreach")
        add("A", L1, precision=precision, optimizer="adamw", optimizer_impl="fused")
        add("A", L1, precision=precision, optimizer="sgd-momentum", optimizer_impl="foreach")
        add("A", L1, precision=precision, optimizer="adafactor", optimizer_impl="for-loop")
    add("A", L1, precision="bf16-pure", optimizer="adamw", optimizer_impl="foreach")
    add("A", L1, precision="bf16-pure", optimizer="adamw", optimizer_impl="fused")
    add("A", L1, precision="fp32", optimizer="sgd", optimizer_impl="foreach")
    add("A", L1, precision="fp32", optimizer="adafactor", optimizer_impl="foreach")
    add("A", Q, precision="fp32", optimizer="adamw", optimizer_impl="foreach")
    add("A", Q, precision="bf16-autocast", optimizer="adamw", optimizer_impl="fused")
    add("A", Q, precision="bf16-pure", optimizer="adamw", optimizer_impl="fused")
    add("A", G, precision="fp32", optimizer="adamw", optimizer_impl="foreach", sequence_length=1024)
    add("A", G, precision="bf16-autocast", optimizer="adamw", optimizer_impl="foreach",
        sequence_length=1024, micro_batch_size=4)
    add("A", G, precision="bf16-pure", sequence_length=1024, micro_batch_size=8)
    add("A", L3, layers=8, precision="bf16-autocast")
    add("A", L3, layers=8, precision="bf16-pure", optimizer_impl="foreach", sequence_length=2048,
        micro_batch_size=2)
    add("A", M, precision="bf16-autocast")
    add("A", M, precision="bf16-pure", optimizer_impl="foreach", sequence_length=2048,
        micro_batch_size=2)

    # B: activations (pure bf16, fused AdamW, unless the run varies it)
    for seq, mbs in ((1024, 1), (2048, 1), (4096, 1), (8192, 1), (2048, 4), (1024, 8)):
        add("B", L1, sequence_length=seq, micro_batch_size=mbs)
    for seq, mbs in ((2048, 1), (8192, 1), (2048, 4), (8192, 4)):
        add("B", L1, checkpointing="full", sequence_length=seq, micro_batch_size=mbs)
    for seq, mbs in ((512, 1), (1024, 2), (2048, 1)):
        add("B", L1, attention="eager", sequence_length=seq, micro_batch_size=mbs)
    add("B", L1, precision="bf16-autocast", sequence_length=2048, micro_batch_size=2)
    add("B", L1, precision="bf16-autocast", checkpointing="full", sequence_length=4096)
    add("B", L1, precision="fp32", sequence_length=2048)
    add("B", Q, sequence_length=4096, micro_batch_size=2)
    add("B", Q, precision="bf16-autocast", checkpointing="full", sequence_length=4096,
        micro_batch_size=4)
    add("B", Q, attention="eager", sequence_length=1024, micro_batch_size=2)
    add("B", L3, layers=8, sequence_length=4096)
    add("B", L3, layers=8, precision="bf16-autocast", checkpointing="full", sequence_length=8192)
    add("B", G, precision="fp32", attention="eager", sequence_length=1024, micro_batch_size=2)
    add("B", G, precision="bf16-autocast", checkpointing="full", sequence_length=1024,
        micro_batch_size=8)
    add("B", M, sequence_length=4096)
    add("B", M, precision="bf16-autocast", checkpointing="full", sequence_length=2048,
        micro_batch_size=4)

    # C: logits and loss
    add("C", L1, cross_entropy="chunked", sequence_length=4096)
    add("C", L1, precision="bf16-autocast", cross_entropy="chunked", sequence_length=4096,
        micro_batch_size=2)
    add("C", Q, cross_entropy="chunked", sequence_length=8192)
    add("C", L1, retain_logits=True, sequence_length=4096)
    add("C", L1, precision="bf16-autocast", retain_logits=True, sequence_length=2048)

    # D: LoRA (PEFT; adapters upcast to fp32 by PEFT's default, base frozen)
    qv, all_linear = "q_proj,v_proj", "all-linear"
    lora = {"method": "lora", "optimizer_impl": "foreach"}
    add("D", L3, **lora, lora_rank=8, lora_targets=qv, sequence_length=2048)
    add("D", L3, **lora, lora_rank=8, lora_targets=qv, precision="bf16-autocast",
        sequence_length=2048)
    add("D", L3, **lora, lora_rank=16, lora_targets=all_linear, lora_dropout=0.1,
        precision="bf16-autocast", sequence_length=2048)
    add("D", L3, **lora, lora_rank=16, lora_targets=all_linear, lora_dropout=0.1,
        sequence_length=2048, micro_batch_size=2)
    add("D", L3, **lora, lora_rank=64, lora_targets=all_linear, checkpointing="full",
        sequence_length=4096)
    add("D", L3, **lora, lora_rank=8, lora_targets=qv, precision="fp32", sequence_length=1024)
    add("D", L1, **lora, lora_rank=8, lora_targets=qv, sequence_length=4096, micro_batch_size=2)
    add("D", L1, **lora, lora_rank=8, lora_targets=qv, lora_dropout=0.1, sequence_length=4096,
        micro_batch_size=2)
    add("D", L1, **lora, lora_rank=32, lora_targets=all_linear, sequence_length=4096,
        micro_batch_size=2)
    add("D", L1, **lora, lora_rank=32, lora_targets=all_linear, lora_dropout=0.1,
        sequence_length=4096, micro_batch_size=2)
    add("D", L1, **lora, lora_rank=16, lora_targets=all_linear, precision="bf16-autocast",
        checkpointing="full", sequence_length=8192)
    add("D", L1, **lora, lora_rank=16, lora_targets="q_proj,k_proj,v_proj,o_proj",
        attention="eager", sequence_length=1024, micro_batch_size=4)
    add("D", Q, **lora, lora_rank=16, lora_targets=all_linear, lora_dropout=0.05,
        sequence_length=4096, micro_batch_size=4)
    add("D", Q, **lora, lora_rank=8, lora_targets=qv, precision="bf16-autocast",
        sequence_length=2048, micro_batch_size=8)
    add("D", G, **lora, lora_rank=8, lora_targets="c_attn", precision="bf16-autocast",
        sequence_length=1024, micro_batch_size=8)
    add("D", M, **lora, lora_rank=8, lora_targets="q_proj,k_proj,v_proj,o_proj",
        sequence_length=2048, micro_batch_size=2)
    add("D", L3, **lora, lora_rank=16, lora_targets=all_linear, checkpointing="full",
        cross_entropy="chunked", sequence_length=8192)

    # E: near or past the card
    add("E", L1, precision="bf16-autocast", optimizer_impl="foreach", sequence_length=8192,
        micro_batch_size=4)
    add("E", L3, sequence_length=2048)
    add("E", L3, precision="bf16-autocast", sequence_length=1024)
    add("E", L1, precision="bf16-autocast", optimizer_impl="foreach", attention="eager",
        sequence_length=1024)

    # V: validation, chosen and measured only after the planner was corrected against A-E, with
    # two model shapes A-E never used (an untied Mistral, Qwen2.5-1.5B)
    MI, Q15 = "mistral-7b", "qwen2.5-1.5b"
    add("V", Q15, sequence_length=2048, micro_batch_size=2)
    add("V", Q15, precision="bf16-autocast", optimizer_impl="foreach", sequence_length=1024)
    add("V", Q15, **lora, lora_rank=16, lora_targets=all_linear, lora_dropout=0.05,
        sequence_length=4096, micro_batch_size=2)
    add("V", Q15, **lora, lora_rank=8, lora_targets=qv, precision="bf16-autocast",
        checkpointing="full", sequence_length=8192)
    add("V", MI, layers=8, sequence_length=4096)
    add("V", MI, layers=8, precision="fp32", optimizer_impl="foreach", sequence_length=1024)
    add("V", MI, layers=8, precision="bf16-autocast", optimizer="sgd-momentum",
        optimizer_impl="foreach", sequence_length=2048, micro_batch_size=2)
    add("V", MI, layers=8, **lora, lora_rank=32, lora_targets=all_linear, lora_dropout=0.1,
        precision="bf16-autocast", sequence_length=2048, micro_batch_size=2)
    add("V", MI, layers=8, **lora, lora_rank=16, lora_targets="q_proj,k_proj,v_proj,o_proj",
        attention="eager", sequence_length=1024, micro_batch_size=2)
    add("V", L1, optimizer_impl="foreach", checkpointing="full", cross_entropy="chunked",
        sequence_length=8192, micro_batch_size=2)
    add("V", L1, precision="bf16-autocast", optimizer="adafactor", optimizer_impl="foreach",
        sequence_length=2048)
    add("V", L3, **lora, lora_rank=8, lora_targets=qv, checkpointing="full",
        sequence_length=4096, micro_batch_size=4)
    add("V", L3, layers=8, precision="fp32", optimizer="sgd", optimizer_impl="foreach",
        sequence_length=1024)
    add("V", G, precision="bf16-autocast", attention="eager", sequence_length=1024,
        micro_batch_size=4)
    add("V", G, **lora, lora_rank=16, lora_targets="c_attn", lora_dropout=0.1,
        sequence_length=1024, micro_batch_size=8)
    add("V", Q, retain_logits=True, sequence_length=4096, micro_batch_size=2)
    add("V", M, checkpointing="full", sequence_length=4096, micro_batch_size=2)
    add("V", Q, **lora, lora_rank=8, lora_targets=all_linear, precision="fp32",
        sequence_length=2048, micro_batch_size=2)
    add("V", L1, **lora, lora_rank=16, lora_targets=qv, cross_entropy="chunked",
        sequence_length=8192)
    add("V", MI, layers=8, optimizer_impl="foreach", checkpointing="full", sequence_length=8192)

    # W: three architectures A-V never used, measured before the planner was checked against them:
    # Gemma-2 (logit soft-capping, four norms per layer, a 256k tied vocabulary), Qwen3 (q/k
    # norms) and Phi-3 (fused qkv and gate/up projections)
    GE, Q3, PH = "gemma-2-9b", "qwen3-8b", "phi-3-mini"
    add("W", GE, layers=4, attention="eager", sequence_length=2048)
    add("W", GE, layers=4, sequence_length=4096)
    add("W", GE, layers=4, **lora, lora_rank=16, lora_targets=all_linear,
        precision="bf16-autocast", sequence_length=2048, micro_batch_size=2)
    add("W", Q3, layers=8, sequence_length=4096)
    add("W", Q3, layers=8, **lora, lora_rank=8, lora_targets="q_proj,k_proj,v_proj,o_proj",
        sequence_length=4096, micro_batch_size=2)
    add("W", Q3, layers=8, precision="bf16-autocast", optimizer_impl="foreach",
        checkpointing="full", sequence_length=8192)
    add("W", PH, layers=8, sequence_length=4096, micro_batch_size=2)
    add("W", PH, layers=8, **lora, lora_rank=16, lora_targets=all_linear, lora_dropout=0.05,
        precision="bf16-autocast", sequence_length=2048, micro_batch_size=4)
    add("W", PH, layers=8, attention="eager", sequence_length=2048)

    for index, run in enumerate(runs, start=1):
        run["run_id"] = index
        for key, value in DEFAULTS.items():
            run.setdefault(key, value)
    return runs


RUNS = _runs()
