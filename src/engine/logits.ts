// The last stage's final norm, logits and loss (memory-model.md section 4, "Ends of the network").
import { ModelArchitecture, PlanRequest } from './types';

export interface LogitsMemory {
  /** Saved until backward reaches the head (final norm output, logits, log-softmax). */
  saved: number;
  /** Extra while the loss is computed in forward (the fp32 upcast of the logits). */
  forwardTransient: number;
  /** Extra at the start of backward (fp32 gradients of the log-softmax and the logits). */
  backwardTransient: number;
}

// torchtune's CEWithChunkedOutputLoss splits the logits into 8 chunks.
const CROSS_ENTROPY_CHUNKS = 8;

/** Logits and loss memory on a rank that holds the output head. */
export function logitsAndLoss(
  arch: ModelArchitecture,
  request: PlanRequest,
  paddedVocab: number,
): LogitsMemory {
  const { training, parallelism, runtime } = request;
  const e = training.precision === 'fp32' ? 4 : 2;
  const tokens = (training.microBatchSize * training.sequenceLength) / parallelism.contextParallel;
  const vocab = paddedVocab / parallelism.tensorParallel; // vocab-parallel head
  const h = arch.hiddenSize;
  const finalNorm = 2 * e * h; // final norm's input and output (the head's input)

  switch (runtime.crossEntropy) {
    case 'fused': {
      // Liger fused linear cross-entropy: logits never materialise; the hidden-state gradient
      // is computed in forward, plus the head's weight gradient when the head trains.
      const headTrains = training.method === 'full';
      const weightGrad = headTrains ? vocab * h * e : 0;
      return {
        saved: (finalNorm + e * h) * tokens + weightGrad,
        forwardTransient: 4 * h * tokens, // one chunk of fp32 logits, about BT*h/V tokens x V
        backwardTransient: 0,
      };
    }
    case 'chunked': {
      // 16-bit logits chunks and each chunk's fp32 log-softmax are saved; upcasts are per chunk.
      // Compiled (fused) losses recompute the fp32 log-softmax from the 16-bit chunk instead.
      const upcast = 4 * vocab * tokens;
      const savedLogSoftmax = runtime.fusedKernels || e === 4 ? 0 : upcast;
      return {
        saved: finalNorm * tokens + e * vocab * tokens + savedLogSoftmax,
        forwardTransient: upcast / CROSS_ENTROPY_CHUNKS,
        backwardTransient: (2 * upcast) / CROSS_ENTROPY_CHUNKS,
      };
    }
    case 'standard': {
      // HF-style logits.float() + cross_entropy: the 16-bit logits (held by the output) and the
      // fp32 log-softmax are saved; the fp32 copy lives while the loss runs; backward makes two
      // fp32 gradients (of the log-softmax output and of the logits) before casting back.
      const fp32Copy = e === 4 ? 0 : 4 * vocab * tokens;
      return {
        saved: finalNorm * tokens + (e + 4) * vocab * tokens,
        forwardTransient: fp32Copy,
        backwardTransient: 2 * 4 * vocab * tokens,
      };
    }
  }
}
