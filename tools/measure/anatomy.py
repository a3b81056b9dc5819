#!/usr/bin/env python3
"""What is alive at each phase's peak: one matrix run with the allocator's history recorded.

Replays torch.cuda.memory's allocation trace of the last step and, at the peak of its forward,
backward and optimizer phases, groups the live blocks by the Python line that allocated them.
This is how a term of the memory model is traced to the tensor behind it.

    python3 tools/measure/anatomy.py 1 5 61 > anatomy.txt

Run ids of tools/measure/sharded.py (201 and up) are rank 0 of their fake data-parallel world.
"""

import os
import sys

os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import measure  # noqa: E402
import sharded  # noqa: E402
from matrix import RUNS  # noqa: E402

MARK_BYTES = 512  # the phase-boundary marker, found by its frame
KEEP = ("transformers/", "peft/", "measure.py", "sharded.py", "torch/optim/", "torch/nn/functional",
        "torch/utils/checkpoint", "torch/distributed/fsdp", "torch/nn/parallel")


def phase_marker():
    torch.empty(MARK_BYTES, dtype=torch.uint8, device="cuda")


def where(frames, size: int) -> str:
    """The innermost frame in model, adapter, optimizer or harness code; else the block size."""
    for frame in frames:
        name = frame["filename"]
        if any(part in name for part in KEEP):
            short = name.split("site-packages/")[-1]
            return f"{short}:{frame['line']} {frame['name']}"
    return f"no model frame (autograd engine), blocks of {size / 2**20:.1f} MiB"


def anatomy(run: dict) -> str:
    torch.cuda.init()
    torch.cuda.memory._record_memory_history(max_entries=2_000_000, stacks="python")
    config = measure.resolved_config(run)
    if "data_parallel" in run:
        sharded.init_fake_world(run["world_size"])
        model = sharded.build_sharded_model(run, config)
        vocab = config["vocab_size"]
    else:
        model = measure.build_model(run, config)
        lm = model.get_base_model() if run["method"] == "lora" else model
        vocab = lm.get_output_embeddings().weight.shape[0]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = measure.build_optimizer(run, params)
    ids = torch.randint(0, vocab, (run["micro_batch_size"], run["sequence_length"]), device="cuda")
    if "data_parallel" in run:
        def loss_fn():
            with torch.autocast("cuda", dtype=torch.bfloat16,
                                enabled=run["precision"] == "bf16-autocast"):
                return model(input_ids=ids, labels=ids, use_cache=False).loss, None
    else:
        loss_fn = measure.make_loss_fn(run, model, ids, torch.roll(ids, -1, dims=1))
    for _ in range(measure.STEPS):
        phase_marker()
        loss, kept = loss_fn()
        phase_marker()
        loss.backward()
        del loss, kept
        phase_marker()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    phase_marker()
    torch.cuda.synchronize()
    snapshot = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    events = snapshot["device_traces"][0]

    alive, current = {}, 0
    boundaries = []  # event index of each marker
    for index, event in enumerate(events):
        if event["action"] == "alloc" and any(f["name"] == "phase_marker" for f in event["frames"]):
            boundaries.append(index)
    # The last step's three phases lie between the last four markers.
    last = boundaries[-4:]
    names = ["forward", "backward", "optimizer"]
    lines = [f"run {run['run_id']}: {run}"]
    peaks = {}
    for index, event in enumerate(events):
        action = event["action"]
        if action == "alloc":
            alive[event["addr"]] = (event["size"], where(event["frames"], event["size"]))
            current += event["size"]
        elif action == "free_completed" and event["addr"] in alive:
            current -= alive.pop(event["addr"])[0]
        for phase, (start, end) in zip(names, zip(last, last[1:])):
            if start < index < end and current > peaks.get(phase, (0,))[0]:
                peaks[phase] = (current, dict(alive))
    for phase in names:
        if phase not in peaks:
            continue
        total, blocks = peaks[phase]
        groups = {}
        for size, origin in blocks.values():
            count, bytes_ = groups.get(origin, (0, 0))
            groups[origin] = (count + 1, bytes_ + size)
        lines.append(f"  {phase} peak {total / 2**30:.3f} GiB")
        for origin, (count, bytes_) in sorted(groups.items(), key=lambda kv: -kv[1][1])[:22]:
            lines.append(f"    {bytes_ / 2**30:8.3f} GiB {count:6d} blocks  {origin}")
    return "\n".join(lines)


def main() -> None:
    for run_id in [int(x) for x in sys.argv[1:]]:
        run = next(r for r in RUNS + sharded.RUNS if r["run_id"] == run_id)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                text = anatomy(run)
            except Exception as error:  # reported, never hidden
                text = f"run {run_id}: failed: {type(error).__name__}: {error}"
            os.write(write, text.encode())
            os._exit(0)
        os.close(write)
        chunks = []
        while True:
            chunk = os.read(read, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        print(b"".join(chunks).decode(), flush=True)


if __name__ == "__main__":
    main()
