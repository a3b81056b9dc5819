// The staging buffer of a large reduction: aten/src/ATen/native/cuda/Reduce.cuh gpu_reduce_kernel
// splits a long reduction across thread blocks and has them meet in global memory (`buffer =
// allocator.allocate(config.global_memory_size())`, then `semaphores`), both freed when the
// launch returns. It is what summing a broadcast gradient to its input's shape costs: a norm's
// weight, a linear's bias (engine.cpp validate_outputs: at::sum_to over the tokens). In the
// H200 traces (data/calibration/allocator-traces) every full fine-tune of 2,048 or more tokens
// allocates one per norm weight and bias in backward: 32 MiB on Llama-3.2-1B at 2,048 tokens,
// 128 MiB at 8,192, 112 MiB on Qwen2.5-0.5B's q bias at 16,384 tokens, 16 MiB on its k bias.

/** What setReduceConfig reads of the device (cudaDeviceProp). */
export interface ReduceDevice {
  /** multiProcessorCount. */
  multiprocessors: number;
  /** maxThreadsPerMultiProcessor. */
  maxThreadsPerMultiprocessor: number;
  /** at::cuda::warp_size(). */
  warpSize: number;
}

/** The transient allocations of one reduction launch, in the order it makes them. */
export interface ReduceBuffers {
  globalBytes: number;
  semaphoreBytes: number;
}

// Reduce.cuh mnt_wrapper<T>::MAX_NUM_THREADS for every real dtype.
const MAX_NUM_THREADS = 512;
// setReduceConfig's min_values_per_thread and max_values_per_thread.
const MIN_VALUES_PER_THREAD = 16;
const MAX_VALUES_PER_THREAD = 256;
// ReduceConfig::input_vec_size: get_output_vec_size starts from 4 and halves until it divides.
const MAX_OUTPUT_VEC = 4;
// sizeof(arg_t): sums of fp32, bf16 and fp16 accumulate in float (at::opmath_type).
const ACCUMULATOR_BYTES = 4;
// semaphore_size: one int per block column.
const SEMAPHORE_BYTES = 4;

const divUp = (a: number, b: number) => Math.ceil(a / b);

/** Reduce.cuh last_pow2: the largest power of two not above n (at least 1). */
function lastPow2(n: number): number {
  return Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, n))));
}

/** get_output_vec_size: the widest of 4, 2, 1 dividing the outputs (an aligned base). */
function outputVecSize(outputs: number): number {
  let size = MAX_OUTPUT_VEC;
  while (outputs % size !== 0) size /= 2;
  return size;
}

/**
 * The global buffer of summing an [inputsPerOutput, outputs] tensor over its leading dimension
 * (the reduction is not along the fastest-moving dimension: "vectorize along output"), as
 * setReduceConfig sizes it. Zero when the launch reduces within each block.
 */
export function columnReduceBuffers(
  outputs: number,
  inputsPerOutput: number,
  device: ReduceDevice,
): ReduceBuffers {
  const none = { globalBytes: 0, semaphoreBytes: 0 };
  const vec = outputVecSize(outputs);
  const maxThreads = MAX_NUM_THREADS / vec;
  const dim0 = outputs / vec;
  const pow2 = (dim: number) => (dim < maxThreads ? lastPow2(dim) : maxThreads);
  // ReduceConfig::set_block_dimension
  let blockWidth = Math.min(pow2(dim0), device.warpSize);
  const blockHeight = Math.min(pow2(inputsPerOutput), Math.floor(maxThreads / blockWidth));
  blockWidth = Math.min(pow2(dim0), Math.floor(maxThreads / blockHeight));
  const threads = blockWidth * blockHeight;
  // The outputs split across lanes; the inputs across warps once each thread keeps 16 values.
  const splitsInput =
    inputsPerOutput >= blockHeight * MIN_VALUES_PER_THREAD ||
    inputsPerOutput >= MAX_VALUES_PER_THREAD;
  if (!splitsInput) return none;
  const valuesPerThread = divUp(inputsPerOutput, blockHeight);
  const targetGrid =
    device.multiprocessors * Math.floor(device.maxThreadsPerMultiprocessor / threads);
  const grid = divUp(dim0, blockWidth);
  if (valuesPerThread < MAX_VALUES_PER_THREAD || grid > targetGrid) return none;
  const ctasPerOutput = Math.max(
    Math.min(divUp(targetGrid, grid), divUp(valuesPerThread, MIN_VALUES_PER_THREAD)),
    divUp(valuesPerThread, MAX_VALUES_PER_THREAD),
  );
  if (ctasPerOutput <= 1) return none;
  // global_memory_size without a block-x reduction: times block.x * output_vec_size.
  return {
    globalBytes: ACCUMULATOR_BYTES * outputs * ctasPerOutput * blockWidth * vec,
    semaphoreBytes: SEMAPHORE_BYTES * grid,
  };
}
