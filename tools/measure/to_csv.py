#!/usr/bin/env python3
"""Turn measure.py's (or sharded.py's) JSON lines into a CSV of data/calibration, one row per run.

    python3 tools/measure/to_csv.py results.jsonl > data/calibration/measured-h100.csv
    python3 tools/measure/to_csv.py sharded.jsonl > data/calibration/measured-h100-sharded.csv

Runs measured more than once keep their last result. Needs no torch: it runs anywhere.
"""

import csv
import json
import sys

RUN_FIELDS = [
    "run_id", "group", "model", "method", "lora_rank", "lora_targets", "lora_dropout",
    "precision", "optimizer", "optimizer_impl", "checkpointing", "attention",
    "sequence_length", "micro_batch_size", "cross_entropy", "retain_logits",
]
# sharded.py's runs add how the data-parallel ranks are simulated and how many there are.
SHARDED_FIELDS = ["data_parallel", "world_size", "embedding_units"]
PHASES = ["forward", "backward", "optimizer"]


def row(result: dict) -> dict:
    run = result["run"]
    out = {field: run[field] for field in RUN_FIELDS}
    out.update({field: run[field] for field in SHARDED_FIELDS if field in run})
    out["lora_alpha"] = 2 * run["lora_rank"] if run["method"] == "lora" else 0
    out["config_json"] = json.dumps(result.get("config", {}), separators=(",", ":"))
    out["status"] = result["status"]
    out["parameters_total"] = result.get("parameters_total", "")
    out["parameters_trainable"] = result.get("parameters_trainable", "")
    out["trainable_dtype"] = result.get("trainable_dtype", "").replace("torch.", "")
    out["weights_allocated_bytes"] = result.get("weights_allocated", "")
    phases = result.get("phases", {})
    for phase in PHASES:
        seen = phases.get(phase, {})
        out[f"{phase}_peak_allocated_bytes"] = seen.get("peak_allocated", "")
        out[f"{phase}_end_allocated_bytes"] = seen.get("end_allocated", "")
    out["max_allocated_bytes"] = result.get("max_allocated", "")
    out["max_reserved_bytes"] = result.get("max_reserved", "")
    out["max_active_bytes"] = result.get("max_active", "")
    out["nvidia_smi_used_mib"] = result.get("smi_used_mib", "")
    out["reserved_at_smi_bytes"] = result.get("reserved_at_smi", "")
    versions = result.get("versions", {})
    for key in ("torch", "cuda", "transformers", "peft", "gpu", "driver"):
        out[key] = versions.get(key, "")
    out["steps"] = 3
    out["error"] = result.get("error", "")
    return out


def main() -> None:
    latest = {}
    with open(sys.argv[1]) as handle:
        for line in handle:
            result = json.loads(line)
            latest[result["run"]["run_id"]] = result
    rows = [row(latest[k]) for k in sorted(latest)]
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main()
