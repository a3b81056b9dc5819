// The last stage's final norm, logits and loss (memory-model.md section 4, "Ends of the network").
import { ModelArchitecture, PlanRequest } from '../vocabulary';

export interface LogitsMemory {
  /** Saved until backward reaches the head (final norm output, logits, log-softmax). */
  saved: number;
  /** Extra while the loss is computed in forward (the fp32 upcast of the logits). */
  forwardTransient: number;
  /** Extra while backward runs through the loss and the head (gradients of the logits). */
  backwardTransient: number;
  /** Still held when backward has left the head (logits the training loop keeps referenced). */
  retained: number;
  /** Alive while the head computes its weight gradient: for an unchunked loss only the logits'
   * gradient (the loss's fp32 buffers are freed by then); chunked losses interleave the two. */
  headBackward: number;
}

// torchtune's CEWithChunkedOutputLoss splits the logits into 8 chunks.
export const CROSS_ENTROPY_CHUNKS = 8;
// litgpt's training loop applies its head to 128 positions at a time (lm_head_chunk_size).
const LITGPT_HEAD_CHUNK = 128;

/** How many times the loss applies the output head: once, or once per chunk. */
export function headApplications(request: PlanRequest): number {
  const { runtime, training } = request;
  if (runtime.crossEntropy !== 'chunked') return 1;
  if (runtime.modelCode === 'litgpt') return Math.ceil(training.sequenceLength / LITGPT_HEAD_CHUNK);
  return CROSS_ENTROPY_CHUNKS;
}

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
  const logits = e * vocab * tokens; // the head's output in the compute dtype
  const retained = runtime.retainLogits ? logits : 0; // what the loop keeps referenced
  // cap * tanh(logits / cap) (HF Gemma-2, torchtune per chunk) keeps tanh's output until the
  // loss's backward reaches it; a compiled loss recomputes the tanh instead (pointwise).
  const softcapped = arch.finalLogitSoftcapping ? logits : 0;
  if (arch.sequenceClassificationLabels) {
    // A pooled classifier: one row of labels per sequence, in fp32 for the loss.
    const perSequence = 4 * arch.sequenceClassificationLabels * 3;
    const saved = perSequence * training.microBatchSize;
    return { saved, forwardTransient: 0, backwardTransient: 0, retained: 0, headBackward: saved };
  }

  switch (runtime.crossEntropy) {
    case 'fused': {
      // Liger fused linear cross-entropy: logits never materialise; the hidden-state gradient
      // is computed in forward, plus the head's weight gradient when the head trains.
      const headTrains = training.method === 'full';
      const weightGrad = headTrains ? vocab * h * e : 0;
      const saved = (finalNorm + e * h) * tokens + weightGrad;
      return {
        saved,
        forwardTransient: 4 * h * tokens, // one chunk of fp32 logits, about BT*h/V tokens x V
        backwardTransient: 0,
        retained: 0,
        headBackward: saved,
      };
    }
    case 'chunked': {
      const upcast = 4 * vocab * tokens;
      if (runtime.fusedKernels || e === 4) {
        // A compiled (or fp32) per-chunk loss saves the chunk as it is and fuses the upcast into
        // its kernels: backward writes one chunk's 16-bit gradient while freeing that chunk.
        const saved = finalNorm * tokens + logits;
        const backwardTransient = logits / CROSS_ENTROPY_CHUNKS;
        return {
          saved,
          forwardTransient: 0,
          backwardTransient,
          retained,
          headBackward: saved + backwardTransient,
        };
      }
      // Eager: each chunk's fp32 log-softmax is saved; the upcast and its two fp32 gradients
      // exist one chunk at a time; every chunk's 16-bit logits live until the loss is summed
      // (torchtune deletes them only then; H100 runs 48-50).
      // PyTorch < 1.11's log-softmax also kept each chunk's fp32 upcast, its input.
      const upcastSaved = runtime.softmaxSavesInput ? upcast : 0;
      const saved = finalNorm * tokens + upcast + retained + softcapped + upcastSaved;
      const backwardTransient = (2 * upcast) / CROSS_ENTROPY_CHUNKS;
      return {
        saved,
        forwardTransient: (upcast - upcastSaved) / CROSS_ENTROPY_CHUNKS + (logits - retained),
        backwardTransient,
        retained,
        headBackward: saved + backwardTransient,
      };
    }
    case 'standard': {
      // cross_entropy over fp32 logits: the fp32 log-softmax is saved; the loop's logits too while
      // it holds them (HF outputs); backward makes two fp32 gradients (of the log-softmax and of
      // the logits) before casting back. The head's weight gradient comes once those buffers are
      // freed, beside the logits' own gradient in the compute dtype (H100 anatomy of runs 94, 95).
      const fp32 = 4 * vocab * tokens;
      // The model returns fp32 logits when it upcasts them itself (torchtune's and torchtitan's
      // decoders end in self.output(h).float()) or computes in fp32; otherwise the loss makes
      // its own fp32 copy (HF's ForCausalLMLoss: logits.float()), alive while the loss runs.
      const returnsFp32 = e === 4 || runtime.fp32Logits;
      const returned = returnsFp32 ? fp32 : logits;
      const held = runtime.retainLogits ? returned : 0;
      const lossCopy = returnsFp32 ? 0 : fp32;
      // PyTorch < 1.11's log-softmax also kept its input: the loss's fp32 copy, or the fp32
      // logits that the loop would otherwise drop.
      const inputSaved = runtime.softmaxSavesInput ? (returnsFp32 ? returned - held : lossCopy) : 0;
      return {
        saved: finalNorm * tokens + fp32 + held + softcapped + inputSaved,
        forwardTransient: lossCopy + (returned - held) - inputSaved,
        backwardTransient: 2 * fp32,
        retained: held,
        headBackward: finalNorm * tokens + held + logits,
      };
    }
  }
}
