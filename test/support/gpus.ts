// One GpuSpec per card, from its datasheet, for every spec that needs a card's figures; the
// catalog spec holds data/gpus.json to the same figures, so a spec and the catalog cannot drift.
import type { GpuSpec } from '../../src/engine';

const MIB = 2 ** 20;

/** RunPod Community's on-demand price list of 2026-09-25, the catalog's price source. */
const RUNPOD_2026_09_25 = {
  priceProvider: 'RunPod Community',
  priceDate: '2026-09-25',
  priceSource:
    'tgarg01/silybench-data derived/csv/gpu_prices.csv (transcribed from https://www.runpod.io/pricing, checked_at 2026-09-25)',
};

/** NVIDIA H100 SXM5 80GB datasheet: 989 TFLOP/s dense bf16, 3.35 TB/s HBM3, NVLink 4 at
 * 900 GB/s both ways (450 GB/s one way); nvidia-smi shows 81,559 MiB. */
export const H100_SXM: GpuSpec = {
  id: 'h100-80gb',
  name: 'NVIDIA H100 80GB SXM5',
  memoryBytes: 81_559 * MIB,
  // nvidia-smi used minus max_memory_reserved in our own H100 runs (data/calibration/measured-h100.csv).
  cudaContextBytes: 768 * MIB,
  bf16FlopsPerSecond: 989e12,
  memoryBandwidthBytesPerSecond: 3.35e12,
  intraNodeBandwidthBytesPerSecond: 900e9 / 2,
  interconnect: 'NVLink 4',
  fp8: true,
  pricePerGpuHour: 2.69, // RunPod Community, 2026-09-25
  ...RUNPOD_2026_09_25,
};

/** NVIDIA H200 SXM datasheet: the H100's 989 TFLOP/s and NVLink 4, with 141 GB of HBM3e at
 * 4.8 TB/s; nvidia-smi shows 143,771 MiB. */
export const H200: GpuSpec = {
  id: 'h200',
  name: 'NVIDIA H200 141GB SXM',
  memoryBytes: 143_771 * MIB,
  bf16FlopsPerSecond: 989e12,
  memoryBandwidthBytesPerSecond: 4.8e12,
  intraNodeBandwidthBytesPerSecond: 900e9 / 2,
  interconnect: 'NVLink 4',
  fp8: true,
  pricePerGpuHour: 3.59, // RunPod Community, 2026-09-25
  ...RUNPOD_2026_09_25,
};

/** NVIDIA A100 SXM4 80GB datasheet: 312 TFLOP/s dense bf16, 2.039 TB/s HBM2e, NVLink 3 at
 * 600 GB/s both ways (300 GB/s one way); nvidia-smi shows 81,920 MiB. */
export const A100_80GB: GpuSpec = {
  id: 'a100-80gb',
  name: 'NVIDIA A100 80GB SXM4',
  memoryBytes: 81_920 * MIB,
  bf16FlopsPerSecond: 312e12,
  memoryBandwidthBytesPerSecond: 2.039e12,
  intraNodeBandwidthBytesPerSecond: 600e9 / 2,
  interconnect: 'NVLink 3',
  fp8: false,
  pricePerGpuHour: 1.39, // RunPod Community, 2026-09-25
  ...RUNPOD_2026_09_25,
};

/** Every card above, for specs that hold the catalog to them. */
export const GPU_FIXTURES = [H100_SXM, H200, A100_80GB];
