#!/usr/bin/env python3
"""Measure one rank of data-parallel training (FSDP2 or DDP) on one CUDA GPU, run by run.

The other ranks are simulated by PyTorch's fake process group (the `fake` backend of
torch.testing._internal.distributed.fake_pg): every collective returns at once without moving
data, but each buffer FSDP2 or DDP allocates for it (all-gather outputs, reduce-scatter inputs,
DDP's gradient buckets) is allocated for real by the caching allocator, with the shard sizes of
the stated world size. So rank 0's allocator peaks are those of a real run of that world size;
only NCCL's own buffers, which live outside the allocator, are missing. Weights are random and
the values the collectives leave are garbage: the loss is meaningless, the memory is not.

    python3 tools/measure/sharded.py --out sharded.jsonl [--runs 201,202] [--budget-seconds 540]
    python3 tools/measure/to_csv.py sharded.jsonl > data/calibration/measured-h100-sharded.csv
"""

import os

os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import transformers  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

STEPS = measure.STEPS

DEFAULTS = {
    "layers": None,
    "method": "full",
    "lora_rank": 0,
    "lora_targets": "",
    "lora_dropout": 0.0,
    # fsdp2-mixed: fp32 shards, bf16 compute, fp32 reduce (torchtitan's MixedPrecisionPolicy);
    # bf16-pure: bf16 everywhere; bf16-autocast: fp32 weights under autocast (DDP + AMP).
    "precision": "fsdp2-mixed",
    "optimizer": "adamw",
    "optimizer_impl": "fused",
    "checkpointing": "none",
    "attention": "sdpa",
    "sequence_length": 2048,
    "micro_batch_size": 1,
    "cross_entropy": "standard",
    "retain_logits": False,
    "data_parallel": "fsdp2",  # fsdp2 (fully_shard per decoder layer and the root) | ddp
    "world_size": 8,
    # FSDP2 also wraps the token embedding and the output head as units of their own
    # (torchtune's custom_sharded_layers ['tok_embeddings', 'output']); untied models only
    "embedding_units": False,
}


def _runs():
    L1, L3, Q15, Q05, MI = "llama-3.2-1b", "llama-3.2-3b", "qwen2.5-1.5b", "qwen2.5-0.5b", "mistral-7b"
    runs = []

    def add(model, **fields):
        runs.append({"group": "X", "model": model, **fields})

    # FSDP2 as torchtitan sets it up (fp32 shards, bf16 compute, fp32 reduce), world sizes 2-64
    add(L1, world_size=2, micro_batch_size=2)
    add(L1, world_size=8, micro_batch_size=2)
    add(L1, world_size=64, micro_batch_size=2)
    add(L1, world_size=8, checkpointing="full", sequence_length=4096, micro_batch_size=2)
    add(L3, world_size=8, checkpointing="full", sequence_length=4096)
    add(L3, world_size=4, sequence_length=2048)
    add(Q15, world_size=4, micro_batch_size=2)
    add(MI, layers=8, world_size=8, sequence_length=4096, checkpointing="full")
    add(MI, layers=8, world_size=16, sequence_length=2048)
    # FSDP2 over bf16 weights, no mixed-precision policy (pure bf16 training)
    add(L1, world_size=4, precision="bf16-pure", micro_batch_size=2)
    add(Q05, world_size=8, precision="bf16-pure", optimizer_impl="foreach", sequence_length=4096)
    # DDP: the reducer's flat gradient buckets beside .grad
    add(L1, data_parallel="ddp", world_size=8, precision="bf16-pure")
    add(Q05, data_parallel="ddp", world_size=2, precision="bf16-autocast", optimizer_impl="foreach")
    add(L3, layers=8, data_parallel="ddp", world_size=4, precision="bf16-pure",
        checkpointing="full", sequence_length=4096)
    # FSDP2 with the embedding and the head as units of their own (runs 208 and 209 otherwise)
    add(MI, layers=8, world_size=8, sequence_length=4096, checkpointing="full", embedding_units=True)
    add(MI, layers=8, world_size=16, sequence_length=2048, embedding_units=True)
    return [{"run_id": 201 + i, **DEFAULTS, **r} for i, r in enumerate(runs)]


RUNS = _runs()


def init_fake_world(world_size: int) -> None:
    from torch.testing._internal.distributed.fake_pg import FakeStore

    dist.init_process_group("fake", rank=0, world_size=world_size, store=FakeStore())


def all_reduce_in_bucket(world_size: int, bucket):
    """DDP's default hook (divide, all-reduce the flat bucket in place), written in Python: the
    fake group's future carries no tensor, which DDP's C++ default hook rejects."""
    buffer = bucket.buffer()
    buffer.div_(world_size)
    return dist.all_reduce(buffer, async_op=True).get_future().then(lambda _: buffer)


def build_sharded_model(run: dict, config_dict: dict):
    model = measure.dense_model(run, config_dict)
    if run["data_parallel"] == "ddp":
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[0])
        ddp.register_comm_hook(run["world_size"], all_reduce_in_bucket)
        return ddp
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy()
    if run["precision"] == "fsdp2-mixed":
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    decoder = getattr(model, model.base_model_prefix)
    if run["embedding_units"]:
        fully_shard(decoder.embed_tokens, mp_policy=policy)
        fully_shard(model.lm_head, mp_policy=policy)
    layers = decoder.layers
    for index, layer in enumerate(layers):
        # torchtitan keeps the last layer unsharded after forward: backward needs it at once.
        fully_shard(layer, mp_policy=policy, reshard_after_forward=index < len(layers) - 1)
    fully_shard(model, mp_policy=policy)
    return model


def measure_one(run: dict) -> dict:
    result = {"run": run, "status": "ok"}
    config_dict = measure.resolved_config(run)
    result["config"] = config_dict
    before = measure.nvidia_smi()
    torch.cuda.init()
    torch.cuda.set_device(0)
    result["versions"] = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": "",
        "gpu": torch.cuda.get_device_name(0),
        "driver": before["driver"],
        "gpu_total_mib": before["total_mib"],
    }
    recorder = measure.PhaseRecorder()
    try:
        init_fake_world(run["world_size"])
        model = build_sharded_model(run, config_dict)
        params = [p for p in model.parameters() if p.requires_grad]
        inner = model.module if run["data_parallel"] == "ddp" else model
        result["parameters_total"] = sum(p.numel() for p in inner.parameters())
        result["parameters_trainable"] = result["parameters_total"]
        result["trainable_dtype"] = str(params[0].dtype)
        optimizer = measure.build_optimizer(run, params)
        vocab = inner.config.vocab_size
        shape = (run["micro_batch_size"], run["sequence_length"])
        input_ids = torch.randint(0, vocab, shape, device="cuda")
        autocast = run["precision"] == "bf16-autocast"

        def forward():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                # HF's own loss (logits.float() then cross_entropy); only the loss is kept.
                return model(input_ids=input_ids, labels=input_ids, use_cache=False).loss, None

        # The full-size weights built before sharding are freed: start from an empty pool.
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        result["weights_allocated"] = torch.cuda.memory_allocated()
        measure.train_steps(result, recorder, forward, optimizer)
    except torch.OutOfMemoryError as error:
        measure.record_oom(result, recorder, error)
    return measure.finish(result, recorder)


def child(run: dict, path: str) -> None:
    measure.child(run, path, measure=measure_one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON-lines file the results are appended to")
    parser.add_argument("--runs", default="", help="comma list of run_ids (default: all)")
    parser.add_argument("--budget-seconds", type=float, default=540,
                        help="start no new run after this many seconds")
    args = parser.parse_args()
    measure.run_all(RUNS, args, lambda run: measure.run_isolated(run, fork=True, target=child))


if __name__ == "__main__":
    main()
