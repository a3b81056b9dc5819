// The documented range of every number a PlanRequest carries: each the largest value in
// published practice times a margin, so real plans fit while no request can make one plan
// cost seconds or overflow a count. The HTTP DTOs and the CLI check requests against these.
import { MAX_PARAMETERS, MAX_POSITIONS } from '../model/limits';

export interface RequestRange {
  min: number;
  max: number;
  example: number;
}

const range = (min: number, max: number, example: number): RequestRange => ({ min, max, example });

/** GPUs in all (nodes x gpusPerNode): ~5x the largest announced cluster, xAI's 200,000-GPU
 * Colossus (2025), rounded to 2^20. */
export const MAX_GPUS = 1_048_576;
/** Bytes any one setting may name: 1 TiB, above any card's memory (B200: 192 GB) by 5x. */
const MAX_SETTING_BYTES = 2 ** 40;
/** Sequences in one micro-batch or serving batch: 65,536, ~16x the 4,096-sequence global
 * batches of the largest published runs (Llama 3: 16M tokens of 4,096). */
const MAX_BATCH = 65_536;

export const REQUEST_LIMITS = {
  nodes: range(1, MAX_GPUS, 1),
  /** The largest NVLink domain announced (Rubin Ultra NVL576), rounded up to 2^10. */
  gpusPerNode: range(1, 1_024, 8),
  microBatchSize: range(1, MAX_BATCH, 1),
  sequenceLength: range(1, MAX_POSITIONS, 4096),
  /** Micro-batches per step: a 16M-token batch of 256-token micro-batches, x16. */
  gradientAccumulationSteps: range(1, MAX_BATCH, 1),
  /** Parallel degrees: never more than the GPUs (tensor and pipeline are also bounded by the
   * model's heads and layers, which the engine checks). */
  parallelDegree: range(1, MAX_GPUS, 1),
  /** LoRA rank: never above the widest hidden size a model may have. */
  loraRank: range(1, 65_536, 16),
  /** LoRA alpha scales the update; published recipes use 8-256. */
  loraAlpha: range(0, 1e6, 32),
  /** Tokens of a whole run: 36T (Qwen3) is the most published, x~300. */
  tokensToTrain: range(0, 1e16, 1e9),
  settingBytes: range(0, MAX_SETTING_BYTES, 536870912),
  /** Reduce/allgather bucket: DeepSpeed's default 5e8 elements, x2000. */
  bucketElements: range(1, 1e12, 5e8),
  zero3LiveParameters: range(0, MAX_PARAMETERS, 1e9),
  /** USD per GPU-hour: on-demand H100s list at ~$2-12; $10,000 is no price anyone pays. */
  pricePerGpuHour: range(0, 10_000, 2.5),
  /** Bytes/s per GPU between nodes: 10 TB/s, ~5x NVLink 5's 1.8 TB/s. */
  interNodeBandwidthBytesPerSecond: range(0, 1e13, 50e9),
  batchSize: range(1, MAX_BATCH, 1),
  promptLength: range(1, MAX_POSITIONS, 1024),
  outputLength: range(1, MAX_POSITIONS, 256),
  /** Quantisation groups: 32-128 published; never wider than the widest hidden size. */
  quantGroupSize: range(1, 65_536, 128),
  prefillChunkTokens: range(1, MAX_POSITIONS, 8192),
  /** Images per sample of a vision-language model: published recipes use 1-16 (video frames
   * more), so 1,024 is far beyond any. */
  imagesPerSample: range(0, 1_024, 1),
  /** Layers the embedding or the head count as in a pipeline split: the frameworks use 0 or 1
   * (torchtitan, Megatron), and no model has 100,000 layers. */
  stageLessLayers: range(0, 100_000, 1),
  /** Sequences per optimizer step in a search: 2^24, ~4,000x the largest published (4,096). */
  globalBatchSize: range(1, MAX_POSITIONS, 512),
} as const;
