// data/calibration/measured-h100.csv (our own harness, tools/measure/) as calibration rows: each
// run rebuilt as the PlanRequest that describes it, scored on the allocator peak it measured.
import { readFileSync } from 'fs';
import { join } from 'path';
import type { PlanRequestInput } from '../src/engine';
import type { OptimizerKind, Precision, Recompute } from '../src/engine';
import { CalibrationRow, repositoryRoot } from './calibration-rows';
import { parseCsv } from './csv';

export const MEASURED_H100_FILE = join('data', 'calibration', 'measured-h100.csv');
/** tools/measure/sharded.py: rank 0 of FSDP2 or DDP, the other ranks a fake process group. */
export const MEASURED_H100_SHARDED_FILE = join('data', 'calibration', 'measured-h100-sharded.csv');
export const H100_SOURCE = 'own H100 runs (tools/measure)';

/** The harness's precision names: bf16 autocast runs over fp32 weights (AMP). */
const PRECISIONS: Record<string, Precision> = {
  fp32: 'fp32',
  'bf16-autocast': 'bf16-mixed',
  'bf16-pure': 'bf16-pure',
  'fsdp2-mixed': 'bf16-mixed', // fp32 shards gathered as bf16, gradients reduced in fp32
};

/** A simulated world of `world_size` ranks as nodes of up to 8 GPUs (one rank per GPU). */
function simulatedCluster(worldSize: number): { nodes: number; gpusPerNode: number } {
  const gpusPerNode = Math.min(worldSize, 8);
  return { nodes: worldSize / gpusPerNode, gpusPerNode };
}

/** The model config as Hugging Face reads it; unset (null) fields are left out. */
function modelConfig(json: string): Record<string, unknown> {
  const config = JSON.parse(json) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== null));
}

/** PEFT's target names, which the planner reads as PEFT does (GPT-2's c_attn included). */
function targetModules(targets: string): string[] | 'all-linear' {
  return targets === 'all-linear' ? 'all-linear' : targets.split(',');
}

/** The catalog GPU a harness run ran on, from the device name it recorded. */
function gpuOf(run: Record<string, string>): string {
  return /H200/.test(run.gpu ?? '') ? 'h200' : 'h100-80gb';
}

/** The PlanRequest that describes one harness run (tools/measure/measure.py). */
export function h100Request(run: Record<string, string>): PlanRequestInput {
  const lora = run.method === 'lora';
  const sharded = run.data_parallel === 'fsdp2';
  return {
    name: `h100 run ${run.run_id}`,
    model: modelConfig(run.config_json),
    cluster: {
      gpu: gpuOf(run),
      ...(run.world_size ? simulatedCluster(Number(run.world_size)) : { nodes: 1, gpusPerNode: 1 }),
    },
    training: {
      method: lora ? 'lora' : 'full',
      precision: PRECISIONS[run.precision],
      optimizer: run.optimizer as OptimizerKind,
      microBatchSize: Number(run.micro_batch_size),
      sequenceLength: Number(run.sequence_length),
      activationCheckpointing: run.checkpointing as Recompute,
      ...(lora
        ? {
            lora: {
              rank: Number(run.lora_rank),
              alpha: Number(run.lora_alpha),
              dropout: Number(run.lora_dropout),
              targetModules: targetModules(run.lora_targets),
            },
          }
        : {}),
    },
    parallelism: { zeroStage: sharded ? 3 : 0 },
    runtime: {
      preset: 'hf-transformers',
      ...(run.precision === 'fsdp2-mixed' ? { mixedPrecisionStyle: 'fsdp2' as const } : {}),
      ...(run.embedding_units === 'True' ? { fsdpEmbeddingUnits: true } : {}),
      // sharded.py builds the whole model, wraps it, then empties the cache.
      ...(run.data_parallel ? { materializeBeforeSharding: true } : {}),
      attention: run.attention === 'eager' ? 'eager' : 'flash',
      crossEntropy: run.cross_entropy === 'chunked' ? 'chunked' : 'standard',
      retainLogits: run.retain_logits === 'True',
      foreachOptimizer: run.optimizer_impl === 'foreach',
    },
  };
}

function assumptions(run: Record<string, string>): string[] {
  const notes = [
    `measured by tools/measure/measure.py on ${run.gpu} (torch ${run.torch}, transformers ${run.transformers}, peft ${run.peft}, driver ${run.driver}): random weights from the config, ${run.steps} steps, peak over all steps`,
    `optimizer torch.optim ${run.optimizer} (${run.optimizer_impl} implementation)`,
    run.cross_entropy === 'chunked'
      ? 'loss: the head runs in 8 chunks, each chunk cross-entropy in fp32, logits deleted before backward (torchtune style)'
      : `loss: Hugging Face's ForCausalLMLoss (logits.float()); the loop ${run.retain_logits === 'True' ? 'keeps the model output through backward' : 'keeps only the loss, as the HF Trainer does'}`,
  ];
  if (run.data_parallel) {
    notes.push(
      `rank 0 of ${run.data_parallel === 'ddp' ? 'DDP' : 'FSDP2 (fully_shard per decoder layer and the root, the last layer kept gathered after forward)'} over a simulated world of ${run.world_size} (tools/measure/sharded.py: PyTorch's fake process group allocates every collective buffer without moving data; NCCL's own buffers are not counted)`,
    );
    if (run.embedding_units === 'True')
      notes.push('embedding and output head wrapped as FSDP units of their own');
  }
  if (run.method === 'lora') {
    notes.push(
      `PEFT LoRA r ${run.lora_rank}, alpha ${run.lora_alpha}, dropout ${run.lora_dropout}, targets ${run.lora_targets}; adapters in ${run.trainable_dtype} (PEFT's autocast_adapter_dtype)`,
    );
  }
  return notes;
}

/** The statistics the harness records: allocator peaks, and nvidia-smi's used memory. */
export type H100Statistic = 'allocated' | 'reserved' | 'device';

function measuredBytes(run: Record<string, string>, statistic: H100Statistic): number {
  if (statistic === 'reserved') return Number(run.max_reserved_bytes);
  // nvidia-smi read after the last step: the context plus the pool, which never shrinks by itself.
  if (statistic === 'device') return Number(run.nvidia_smi_used_mib) * 2 ** 20;
  return Number(run.max_allocated_bytes);
}

/** Group V of tools/measure/matrix.py was chosen and measured only after the planner had been
 * corrected against groups A-E: it is the held-out part of these runs. Groups W (new
 * architectures) and X (sharded.py's data-parallel ranks) were measured blind too, but the
 * planner was then corrected against them. */
export const H100_HELD_OUT_GROUP = 'V';

/** The allocator-traced runs on an H200 (results.jsonl, as tools/measure/measure.py writes it)
 * in the CSV's column names. */
export const H200_TRACED_FILE = join('data', 'calibration', 'allocator-traces', 'results.jsonl');

interface TracedRecord {
  run: Record<string, unknown>;
  config: unknown;
  versions?: Record<string, unknown>;
  [field: string]: unknown;
}

function tracedRun(record: TracedRecord): Record<string, string> {
  const run = record.run;
  const text = (value: unknown) =>
    typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value ?? '');
  const fields = Object.fromEntries(Object.entries(run).map(([k, v]) => [k, text(v)]));
  return {
    ...fields,
    data_parallel: run.data_parallel ? text(run.data_parallel) : '',
    world_size: run.data_parallel ? text(run.world_size) : '',
    embedding_units: text(run.embedding_units ?? false),
    lora_alpha: text(2 * Number(run.lora_rank ?? 0)), // measure.py: lora_alpha = 2 x r
    config_json: JSON.stringify(record.config),
    status: text(record.status),
    max_allocated_bytes: text(record.max_allocated),
    max_reserved_bytes: text(record.max_reserved),
    nvidia_smi_used_mib: text(record.smi_used_mib),
    trainable_dtype: text(record.trainable_dtype),
    ...Object.fromEntries(
      ['torch', 'transformers', 'peft', 'gpu', 'driver'].map((k) => [
        k,
        text(record.versions?.[k]),
      ]),
    ),
    steps: '3',
  };
}

export function loadTracedRuns(): Record<string, string>[] {
  const text = readFileSync(join(repositoryRoot(), H200_TRACED_FILE), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => tracedRun(JSON.parse(line) as TracedRecord));
}

/** Every harness run as a calibration row scored on `statistic` (allocated by default):
 * the H100 runs, and with `traced` the H200 runs whose allocator events were recorded. */
export function loadMeasuredH100Rows(
  statistic: H100Statistic = 'allocated',
  traced = false,
): CalibrationRow[] {
  const runs = traced
    ? loadTracedRuns()
    : [MEASURED_H100_FILE, MEASURED_H100_SHARDED_FILE].flatMap((file) =>
        parseCsv(readFileSync(join(repositoryRoot(), file), 'utf8')),
      );
  return runs.map((run): CalibrationRow => {
    const base = {
      id: `${traced ? 'h200' : 'h100'}-${run.run_id}`,
      source: H100_SOURCE,
      group: run.group,
      category: run.data_parallel
        ? ('multi-gpu' as const)
        : run.method === 'lora'
          ? ('lora' as const)
          : ('full' as const),
      unitNote: 'bytes, as torch.cuda reports them',
      reported: {
        value: run.max_allocated_bytes,
        unit: 'bytes',
        metric: 'torch.cuda.max_memory_allocated over all steps',
      },
      heldOut: run.group === H100_HELD_OUT_GROUP,
      assumptions: assumptions(run),
    };
    if (run.status === 'ok') {
      return {
        ...base,
        use: 'score',
        statistic,
        measuredBytes: measuredBytes(run, statistic),
        unitBytes: 1,
        tier: 'clean',
        tolerance: 0.15,
        request: h100Request(run),
      };
    }
    if (run.status === 'oom') {
      return {
        ...base,
        use: 'fit-only',
        excludedReason: `ran out of memory on the 80 GB card: ${run.error}`,
        expectFits: false,
        request: h100Request(run),
      };
    }
    return { ...base, use: 'excluded', excludedReason: `the run failed: ${run.error}` };
  });
}
