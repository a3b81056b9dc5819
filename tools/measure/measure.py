#!/usr/bin/env python3
"""Measure real training memory on one CUDA GPU, one run of tools/measure/matrix.py at a time.

Each run builds its model from an architecture config with random weights (no downloads), takes
a few real training steps and records the allocator's peaks per phase, the weights-only figure
before the first step, what nvidia-smi shows as used, and the software versions. Every run is a
forked child of one process that imported torch but never touched CUDA, so each run starts with
a fresh CUDA context and an empty caching allocator: its nvidia-smi figure is its own.

    python3 tools/measure/measure.py --out results.jsonl [--runs 1,5,9] [--budget-seconds 540]
    python3 tools/measure/to_csv.py results.jsonl > data/calibration/measured-h100.csv
"""

import os

# torch.cuda.is_available() must not initialise CUDA in the parent, or forked children cannot.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import peft  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import RUNS  # noqa: E402

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
STEPS = 3  # step 1 creates the optimizer states; steps 2-3 are the steady state
CROSS_ENTROPY_CHUNKS = 8  # torchtune's CEWithChunkedOutputLoss default
RUN_TIMEOUT_SECONDS = 180


def layer_key(config: dict) -> str:
    return "n_layer" if "n_layer" in config else "num_hidden_layers"


def resolved_config(run: dict) -> dict:
    with open(os.path.join(CONFIG_DIR, run["model"] + ".json")) as handle:
        config = json.load(handle)
    if run["layers"]:
        config[layer_key(config)] = run["layers"]
    return config


def nvidia_smi() -> dict:
    """What nvidia-smi shows for GPU 0: memory used and total (MiB) and the driver."""
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used,memory.total,driver_version",
         "--format=csv,noheader,nounits", "-i", "0"],
        capture_output=True, text=True, timeout=30,
    )
    used, total, driver = (x.strip() for x in out.stdout.strip().split(","))
    return {"used_mib": int(used), "total_mib": int(total), "driver": driver}


def dense_model(run: dict, config_dict: dict):
    """The run's model with random weights on the GPU, in training mode: bf16 for pure bf16
    runs, fp32 otherwise; full checkpointing is non-reentrant, as HF's Trainer sets it."""
    fields = dict(config_dict)
    model_type = fields.pop("model_type")
    config = transformers.AutoConfig.for_model(model_type, **fields)
    config.use_cache = False
    dtype = torch.bfloat16 if run["precision"] == "bf16-pure" else torch.float32
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(
            config, attn_implementation=run["attention"], dtype=dtype
        )
    model.train()
    if run["checkpointing"] == "full":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def build_model(run: dict, config_dict: dict):
    model = dense_model(run, config_dict)
    model_type = config_dict["model_type"]
    if run["method"] == "lora":
        targets = run["lora_targets"]
        lora = peft.LoraConfig(
            r=run["lora_rank"],
            lora_alpha=2 * run["lora_rank"],
            lora_dropout=run["lora_dropout"],
            target_modules=targets if targets == "all-linear" else targets.split(","),
            task_type="CAUSAL_LM",
            fan_in_fan_out=model_type == "gpt2",  # GPT-2's Conv1D stores weights transposed
        )
        model = peft.get_peft_model(model, lora)
    return model


def build_optimizer(run: dict, params):
    impl = run["optimizer_impl"]
    flags = {"foreach": impl == "foreach"}
    if run["optimizer"] == "adamw":
        if impl == "fused":
            flags = {"fused": True}
        return torch.optim.AdamW(params, lr=1e-5, **flags)
    if run["optimizer"] == "sgd-momentum":
        return torch.optim.SGD(params, lr=1e-4, momentum=0.9, **flags)
    if run["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=1e-4, **flags)
    if run["optimizer"] == "adafactor":
        return torch.optim.Adafactor(params, lr=1e-3, **flags)
    raise ValueError(f"unknown optimizer {run['optimizer']}")


def make_loss_fn(run: dict, model, input_ids: torch.Tensor, targets: torch.Tensor):
    autocast = run["precision"] == "bf16-autocast"

    def standard():
        # Hugging Face's own loss: logits.float() then cross_entropy (ForCausalLMLoss).
        out = model(input_ids=input_ids, labels=input_ids, use_cache=False)
        return out.loss, (out if run["retain_logits"] else None)

    def chunked():
        # torchtune's CEWithChunkedOutputLoss: the head runs per chunk, each chunk's loss in fp32,
        # and the recipe deletes the logits before backward.
        lm = model.get_base_model() if run["method"] == "lora" else model
        decoder = getattr(lm, lm.base_model_prefix)
        hidden = decoder(input_ids=input_ids, use_cache=False).last_hidden_state
        head = lm.get_output_embeddings()
        logits = [head(chunk) for chunk in hidden.chunk(CROSS_ENTROPY_CHUNKS, dim=1)]
        total = 0.0
        for chunk, labels in zip(logits, targets.chunk(CROSS_ENTROPY_CHUNKS, dim=1)):
            total = total + F.cross_entropy(
                chunk.float().flatten(0, 1), labels.flatten(), reduction="sum"
            )
        del logits
        return total / targets.numel(), None

    body = chunked if run["cross_entropy"] == "chunked" else standard

    def loss_fn():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            return body()

    return loss_fn


class PhaseRecorder:
    """Peak and end-of-phase allocator figures per phase, the maximum over all steps."""

    def __init__(self):
        self.phases = {}
        self.current = None

    def run(self, name: str, fn):
        self.current = name
        torch.cuda.reset_peak_memory_stats()
        result = fn()
        torch.cuda.synchronize()
        self.record(name)
        return result

    def record(self, name: str):
        stats = torch.cuda.memory_stats()
        seen = self.phases.setdefault(
            name, {"peak_allocated": 0, "peak_reserved": 0, "peak_active": 0, "end_allocated": 0}
        )
        seen["peak_allocated"] = max(seen["peak_allocated"], stats["allocated_bytes.all.peak"])
        seen["peak_reserved"] = max(seen["peak_reserved"], stats["reserved_bytes.all.peak"])
        seen["peak_active"] = max(seen["peak_active"], stats["active_bytes.all.peak"])
        seen["end_allocated"] = stats["allocated_bytes.all.current"]


def measure_one(run: dict) -> dict:
    result = {"run": run, "status": "ok"}
    config_dict = resolved_config(run)
    result["config"] = config_dict
    before = nvidia_smi()
    result["smi_used_before_cuda_mib"] = before["used_mib"]
    torch.cuda.init()
    result["versions"] = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "driver": before["driver"],
        "gpu_total_mib": before["total_mib"],
    }
    recorder = PhaseRecorder()
    try:
        model = build_model(run, config_dict)
        params = [p for p in model.parameters() if p.requires_grad]
        result["parameters_total"] = sum(p.numel() for p in model.parameters())
        result["parameters_trainable"] = sum(p.numel() for p in params)
        result["trainable_dtype"] = str(params[0].dtype)
        optimizer = build_optimizer(run, params)
        vocab = model.get_output_embeddings().weight.shape[0] if run["method"] == "full" else (
            model.get_base_model().get_output_embeddings().weight.shape[0]
        )
        shape = (run["micro_batch_size"], run["sequence_length"])
        input_ids = torch.randint(0, vocab, shape, device="cuda")
        targets = torch.roll(input_ids, -1, dims=1)
        loss_fn = make_loss_fn(run, model, input_ids, targets)
        torch.cuda.synchronize()
        result["weights_allocated"] = torch.cuda.memory_allocated()
        train_steps(result, recorder, loss_fn, optimizer)
    except torch.OutOfMemoryError as error:
        record_oom(result, recorder, error)
    return finish(result, recorder)


def train_steps(result: dict, recorder: "PhaseRecorder", loss_fn, optimizer) -> None:
    """STEPS training steps, each phase's peaks recorded; loss_fn returns (loss, kept)."""
    for _ in range(STEPS):
        loss, kept = recorder.run("forward", loss_fn)
        recorder.run("backward", loss.backward)
        result["loss"] = float(loss.detach())
        del loss, kept

        def step():
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        recorder.run("optimizer", step)
    result["states_allocated"] = torch.cuda.memory_allocated()


def record_oom(result: dict, recorder: "PhaseRecorder", error: Exception) -> None:
    result["status"] = "oom"
    result["oom_phase"] = recorder.current
    result["error"] = str(error).splitlines()[0][:300]
    if recorder.current:
        recorder.record(recorder.current)


def finish(result: dict, recorder: "PhaseRecorder") -> dict:
    """The peaks over all phases, and what nvidia-smi shows once the run is done."""
    result["phases"] = recorder.phases
    result["max_allocated"] = max((p["peak_allocated"] for p in recorder.phases.values()), default=0)
    result["max_reserved"] = max((p["peak_reserved"] for p in recorder.phases.values()), default=0)
    result["max_active"] = max((p["peak_active"] for p in recorder.phases.values()), default=0)
    # The allocator never returns memory on its own, so what nvidia-smi shows now is the CUDA
    # context plus the reserved pool at its largest.
    torch.cuda.synchronize()
    result["reserved_at_smi"] = torch.cuda.memory_reserved()
    result["smi_used_mib"] = nvidia_smi()["used_mib"]
    return result


def child(run: dict, path: str, measure=None) -> None:
    try:
        result = (measure or measure_one)(run)
    except Exception as error:  # recorded, never hidden: the run is listed with its error
        result = {"run": run, "status": "error", "error": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc()[-2000:]}
    with open(path, "w") as handle:
        json.dump(result, handle)


def run_isolated(run: dict, fork: bool, target=None) -> dict:
    """One run in its own process: forked (fast) or a fresh interpreter (if forking breaks CUDA).
    `target(run, path)` measures in the forked child (default: this file's single-GPU child)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = handle.name
    if fork:
        pid = os.fork()
        if pid == 0:
            try:
                (target or child)(run, path)
            finally:
                os._exit(0)
    else:
        pid = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--single", str(run["run_id"]),
             "--result", path]
        ).pid
    started = time.time()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() - started > RUN_TIMEOUT_SECONDS:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"run": run, "status": "error", "error": "timed out"}
        time.sleep(0.05)
    try:
        with open(path) as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        result = {"run": run, "status": "error", "error": f"child exited with status {status}"}
    os.unlink(path)
    result["seconds"] = round(time.time() - started, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON-lines file the results are appended to")
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--runs", default="", help="comma list of run_ids (default: all)")
    parser.add_argument("--budget-seconds", type=float, default=540,
                        help="start no new run after this many seconds")
    args = parser.parse_args()
    if args.single:
        child(next(r for r in RUNS if r["run_id"] == args.single), args.result)
        return
    fork = True

    def isolated(run: dict) -> dict:
        nonlocal fork
        result = run_isolated(run, fork)
        if fork and result["status"] == "error" and "CUDA" in result.get("error", ""):
            print(f"run {run['run_id']}: CUDA failed in a forked child; using fresh processes")
            fork = False
            result = run_isolated(run, fork)
        return result

    run_all(RUNS, args, isolated)


def run_all(all_runs: list, args, isolated) -> None:
    """The runs named by --runs (all by default), one isolated process each, appended to --out
    as JSON lines until --budget-seconds is spent."""
    assert not torch.cuda.is_initialized(), "the parent must not initialise CUDA"
    wanted = {int(x) for x in args.runs.split(",") if x}
    runs = [r for r in all_runs if not wanted or r["run_id"] in wanted]
    started = time.time()
    with open(args.out, "a") as out:
        for run in runs:
            if time.time() - started > args.budget_seconds:
                print(f"run {run['run_id']}: skipped (budget spent)", flush=True)
                continue
            result = isolated(run)
            out.write(json.dumps(result) + "\n")
            out.flush()
            gib = result.get("max_allocated", 0) / 2**30
            print(f"run {run['run_id']:3d} {result['status']:5s} {gib:7.2f} GiB allocated "
                  f"{result.get('seconds', 0):6.1f}s {result.get('error', '')[:300]}", flush=True)


if __name__ == "__main__":
    main()
