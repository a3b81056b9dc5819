// An accelerator of the catalog: capacity, throughput, bandwidth and price.
/** An accelerator of the catalog. */
export interface GpuSpec {
  id: string;
  name: string;
  /** What nvidia-smi reports as total, in bytes (MiB x 2^20). */
  memoryBytes: number;
  /** Dense bf16 tensor throughput, FLOP/s. */
  bf16FlopsPerSecond: number;
  /** HBM bandwidth, bytes/s. */
  memoryBandwidthBytesPerSecond: number;
  /** Intra-node interconnect bandwidth per GPU, one direction, bytes/s. */
  intraNodeBandwidthBytesPerSecond: number;
  interconnect: string;
  /** Indicative on-demand price, USD per GPU-hour. */
  pricePerGpuHour: number;
  priceProvider?: string;
  priceDate: string;
  priceSource: string;
  /** CUDA context + kernels outside the allocator on this card (bytes), where measured; the
   * default runtime.cudaContextBytes for plans on it. */
  cudaContextBytes?: number;
  /** Where cudaContextBytes was measured. */
  cudaContextNote?: string;
  fp8: boolean;
  /** Host memory of the catalog's reference node for this GPU (a cloud instance), bytes: what
   * optimizer and parameter offload are checked against. */
  hostMemoryBytes?: number;
  /** GPUs in that reference node: a node of fewer GPUs is taken to have its share. */
  hostMemoryGpus?: number;
  /** Where hostMemoryBytes comes from. */
  hostMemorySource?: string;
  /** CUDA compute capability (9.0 for Hopper): what PyTorch sizes some workspaces by. */
  computeCapability?: number;
  /** Streaming multiprocessors (cudaDeviceProp.multiProcessorCount): how a long reduction
   * splits its work and sizes its staging buffer (memory/autograd/reduce-buffer.ts). */
  multiprocessors?: number;
  /** Where multiprocessors comes from. */
  multiprocessorsSource?: string;
}
