// Reduce.cuh's staging buffer against the twelve H200 traces (data/calibration/allocator-traces):
// each size below is a block the real runs allocated in backward, right after a norm weight's or
// a bias's gradient and right before a semaphore array, then freed: one for every norm weight
// and bias in every step (trace-212: 99, three steps of 33 norms).
import { columnReduceBuffers, ReduceDevice } from './reduce-buffer';
import { simulateTiny } from '../../../../test/support/timeline';
import { H100_SXM } from '../../../../test/support/gpus';
import { EventLog } from './events';

// The H200 behind the traces: 132 SMs, 2,048 resident threads per SM, warps of 32.
const H200: ReduceDevice = {
  multiprocessors: 132,
  maxThreadsPerMultiprocessor: 2048,
  warpSize: 32,
};
const MIB = 2 ** 20;

describe("Reduce.cuh's staging buffer for a sum over the tokens", () => {
  it.each([
    // [trace, outputs (hidden or bias width), tokens summed, staging bytes the trace allocated]
    ['212: Llama-3.2-1B norm, 2,048 tokens', 2048, 2048, 32 * MIB],
    ['25: Llama-3.2-1B norm, 4,096 tokens', 2048, 4096, 64 * MIB],
    ['202: Llama-3.2-1B norm, 2 x 2,048 tokens', 2048, 4096, 64 * MIB],
    ['30: Llama-3.2-1B norm, 8,192 tokens', 2048, 8192, 128 * MIB],
    ['20: Llama-3.2-3B norm, 2 x 2,048 tokens', 3072, 4096, 96 * MIB],
    ['205: Llama-3.2-3B norm, 4,096 tokens', 3072, 4096, 96 * MIB],
    ['40: Qwen2.5-0.5B norm and q bias, 4 x 4,096 tokens', 896, 16384, 112 * MIB],
    ['40: Qwen2.5-0.5B k and v bias', 128, 16384, 16 * MIB],
    ['50: Qwen2.5-0.5B norm and q bias, 8,192 tokens', 896, 8192, 56 * MIB],
    ['50: Qwen2.5-0.5B k and v bias', 128, 8192, 8 * MIB],
  ])('trace-%s', (_run, outputs, tokens, bytes) => {
    expect(columnReduceBuffers(outputs, tokens, H200).globalBytes).toBe(bytes);
  });

  it('trace-212: a semaphore per block column, 64 bytes (2,048 outputs as 16 columns of 32 x 4)', () => {
    expect(columnReduceBuffers(2048, 2048, H200).semaphoreBytes).toBe(64);
  });

  it('trace-10: 512 tokens are summed within each block, no staging buffer', () => {
    expect(columnReduceBuffers(2048, 512, H200)).toEqual({ globalBytes: 0, semaphoreBytes: 0 });
  });

  it('fewer SMs split the tokens across fewer blocks once the grid fills them', () => {
    // 8,192 outputs are 64 block columns; the H200 fills 132 x 16 = 2,112 blocks with 33 per
    // column, an A100 1,728 with 27: 4 B x 8,192 x 27 x 128.
    const a100 = { ...H200, multiprocessors: 108 };
    expect(columnReduceBuffers(8192, 8192, H200).globalBytes).toBe(4 * 8192 * 33 * 128);
    expect(columnReduceBuffers(8192, 8192, a100).globalBytes).toBe(4 * 8192 * 27 * 128);
  });
});

/** Allocations in the second step's backward immediately followed by a semaphore array that
 * is freed before them: the staging buffers. */
function stagingBuffers(log: EventLog): number[] {
  const sizes: number[] = [];
  for (let i = 0; i + 3 < log.length; i++) {
    const moment = log.moments[log.moment[i]];
    if (moment.step !== 2 || moment.phase !== 'backward') continue;
    const pair = log.kind[i] === 1 && log.kind[i + 1] === 1 && log.bytes[i + 1] <= 4096;
    const freed = log.kind[i + 2] === -1 && log.key[i + 2] === log.key[i + 1];
    if (pair && freed && log.kind[i + 3] === -1 && log.key[i + 3] === log.key[i]) {
      sizes.push(log.bytes[i]);
    }
  }
  return sizes;
}

describe('the staging buffers in a simulated step', () => {
  const request = {
    training: { sequenceLength: 4096, precision: 'bf16-pure' as const },
    gpus: 1,
  };

  it("one per norm weight in backward: the tiny Llama's 4 layers x 2 and the final norm", () => {
    const h100 = { ...H100_SXM, computeCapability: 9.0, multiprocessors: 132 };
    // 1,024 outputs as 8 block columns, 4,096 tokens: 64 blocks each, 4 B x 1,024 x 64 x 128.
    expect(stagingBuffers(simulateTiny(request, 0, 4, 'full', h100).log)).toEqual(
      Array(9).fill(4 * 1024 * 64 * 128),
    );
  });

  it('none counted on a card whose SMs the catalog does not know', () => {
    const unknown = { ...H100_SXM, multiprocessors: undefined };
    expect(stagingBuffers(simulateTiny(request, 0, 4, 'full', unknown).log)).toEqual([]);
  });
});
