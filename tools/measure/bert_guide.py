#!/usr/bin/env python3
"""Re-run the Hugging Face single-GPU guide's BERT-large runs (calibration rows 77-85) on one GPU.

The guide (2022, V100) reports nvidia-smi after training. Its micro-batch-4 rows sat 7-13% above
the planner's device figure while its micro-batch-1 rows agreed within 3%. Run on an H100 with
torch 2.11 (data/calibration/bert-guide-h100.jsonl), the allocator's peaks match the planner
within 3.5% and the guide's excess grows by one fp32 score matrix per layer and sequence: the
softmax input that PyTorch before 1.11 saved (runtime.softmaxSavesInput). Random weights from
bert-large-uncased's config, no downloads.

    python3 tools/measure/bert_guide.py > data/calibration/bert-guide-h100.jsonl

Compare each line's max_allocated with the planner's allocated peak for the same row, e.g. 80:

    node -e 'console.log(JSON.stringify(require("./data/calibration/published.json")
      .find((r) => r.id === 80).request))' > row80.json && node bin/shardplan.js plan --file row80.json

Each run is a fresh interpreter so each nvidia-smi reading is that run's own.
"""

import json
import subprocess
import sys

# bert-large-uncased's config.json (the guide loads it with AutoModelForSequenceClassification).
BERT_LARGE = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "num_labels": 2,
}

# (calibration row, precision, micro-batch, gradient checkpointing): the guide's AdamW rows.
RUNS = [
    (77, "fp32", 4, False),
    (78, "fp32", 1, False),
    (79, "fp32", 1, True),
    (80, "fp16-amp", 4, False),
    (81, "fp16-amp", 1, True),
]
SEQUENCE = 512
STEPS = 3  # the first step creates the optimizer states


def run_one(row: int, precision: str, batch: int, checkpointing: bool) -> dict:
    import torch
    import transformers

    config = transformers.BertConfig(**BERT_LARGE)
    # 2022 BERT had no SDPA path: eager attention keeps the fp32 probabilities.
    model = transformers.BertForSequenceClassification._from_config(
        config, attn_implementation="eager"
    ).cuda().train()
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    # transformers.AdamW of 2022 looped over parameters one at a time: foreach off.
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, foreach=False)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16-amp")
    input_ids = torch.randint(0, config.vocab_size, (batch, SEQUENCE), device="cuda")
    labels = torch.randint(0, 2, (batch,), device="cuda")
    peaks = {}
    for _ in range(STEPS):
        for phase in ("forward", "backward", "optimizer"):
            torch.cuda.reset_peak_memory_stats()
            if phase == "forward":
                with torch.autocast("cuda", dtype=torch.float16, enabled=precision == "fp16-amp"):
                    loss = model(input_ids=input_ids, labels=labels).loss
            elif phase == "backward":
                scaler.scale(loss).backward()
                del loss
            else:
                # Trainer: unscale, clip to norm 1.0, step, then model.zero_grad() (kept as zeros).
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=False)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=False)
            torch.cuda.synchronize()
            stats = torch.cuda.memory_stats()
            seen = peaks.setdefault(phase, {"allocated": 0, "reserved": 0})
            seen["allocated"] = max(seen["allocated"], stats["allocated_bytes.all.peak"])
            seen["reserved"] = max(seen["reserved"], stats["reserved_bytes.all.peak"])
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
        capture_output=True, text=True, timeout=30,
    ).stdout.strip()
    return {
        "row": row, "precision": precision, "micro_batch_size": batch,
        "checkpointing": checkpointing, "phases": peaks,
        "max_allocated": max(p["allocated"] for p in peaks.values()),
        "max_reserved": max(p["reserved"] for p in peaks.values()),
        "smi_used_mib": int(smi), "torch": torch.__version__,
        "transformers": transformers.__version__, "gpu": torch.cuda.get_device_name(0),
    }


def main() -> None:
    if len(sys.argv) == 2:
        print(json.dumps(run_one(*json.loads(sys.argv[1]))), flush=True)
        return
    for run in RUNS:
        done = subprocess.run([sys.executable, __file__, json.dumps(run)], capture_output=True,
                              text=True, timeout=300)
        print(done.stdout.strip() or json.dumps({"row": run[0], "error": done.stderr[-800:]}),
              flush=True)


if __name__ == "__main__":
    main()
