// The end of the network: the output head and the loss, per implementation. Each names the
// code it follows; the logits are the largest tensors of most steps.
import { softcapped } from '../autograd/attention';
import { FP32 } from '../autograd/ops';
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { LinearParams } from './rank-model';

export interface LossSettings {
  kind: 'standard' | 'chunked' | 'fused';
  /** Chunks the chunked loss applies the head in (torchtune: 8; litgpt: 128-token chunks). */
  chunks: number;
  /** The model itself returns fp32 logits (torchtune/torchtitan: self.output(h).float()). */
  fp32Logits: boolean;
  /** cap * tanh(logits / cap) before the loss (Gemma-2's final_logit_softcapping). */
  softcap: boolean;
  /** The loop keeps the model's logits referenced until after backward (HF outputs). */
  retainLogits: boolean;
  /** PyTorch before 1.11: log_softmax kept its input as well as its output. */
  softmaxSavesInput: boolean;
}

export interface LossOutput {
  loss: Tensor;
  /** The logits the model returned, which the loop may keep referenced. */
  logits: Tensor[];
}

/** The output head and the loss on the last stage. */
export function headAndLoss(
  nn: Nn,
  hidden: Tensor,
  head: LinearParams,
  settings: LossSettings,
): LossOutput {
  const [loss, ...logits] =
    settings.kind === 'chunked'
      ? chunkedLoss(nn, hidden, head, settings)
      : standardLoss(nn, hidden, head, settings);
  return { loss, logits };
}

/** cross_entropy over fp32 logits (F.cross_entropy: log_softmax, saved, then nll_loss); the
 * backward of nll_loss writes a full-size fp32 gradient (nll_loss_backward zeros + scatter). */
function crossEntropy(nn: Nn, logits32: Tensor, settings: LossSettings): Tensor {
  const { ops, rt } = nn;
  const logProbabilities = settings.softmaxSavesInput
    ? savingBoth(nn, logits32)
    : ops.unarySavingOutput(logits32);
  const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss');
  rt.record([logProbabilities], [loss], [], () =>
    ops.give(logProbabilities, () => ops.gradOf(logProbabilities)),
  );
  rt.drop(logProbabilities);
  return loss;
}

/** log_softmax of PyTorch < 1.11: its input was saved beside its output. */
function savingBoth(nn: Nn, x: Tensor): Tensor {
  const out = nn.ops.empty(x, x.requiresGrad);
  nn.rt.record([x], [out], [x, out], () => nn.ops.give(x, () => nn.ops.gradOf(x)));
  return out;
}

/** Hugging Face's ForCausalLMLoss (transformers loss/loss_utils.py): lm_head in the compute
 * dtype, logits.float(), cross_entropy. With fp32 logits from the model the copy is its own. */
function standardLoss(nn: Nn, hidden: Tensor, head: LinearParams, settings: LossSettings) {
  return nn.rt.scope((): Tensor[] => {
    const { ops, rt } = nn;
    let logits = nn.linear(hidden, head);
    if (settings.softcap) {
      const capped = softcapped(nn, logits); // Gemma-2's final_logit_softcapping
      rt.drop(logits);
      logits = capped;
    }
    if (settings.fp32Logits) {
      const float = ops.to(logits, FP32); // the model's own self.output(h).float()
      rt.drop(logits);
      logits = float;
    }
    const logits32 = ops.to(logits, FP32);
    const loss = crossEntropy(nn, logits32, settings);
    rt.drop(logits32);
    return [loss, logits];
  });
}

/** The head applied chunk by chunk along the sequence, each chunk's cross-entropy in fp32
 * (torchtune CEWithChunkedOutputLoss): every chunk's logits live until the loss is summed. */
function chunkedLoss(nn: Nn, hidden: Tensor, head: LinearParams, settings: LossSettings) {
  return nn.rt.scope((): Tensor[] => {
    const { ops, rt } = nn;
    const pieces = ops.chunkRows(hidden, settings.chunks);
    const chunks = pieces.map((piece) => nn.linear(piece, head));
    rt.drop(...pieces);
    let total: Tensor | undefined;
    for (const chunk of chunks) {
      const float = ops.to(chunk, FP32);
      const loss = crossEntropy(nn, float, settings);
      rt.drop(float);
      total = total ? ops.add(total, loss) : loss;
    }
    return [total!, ...chunks];
  });
}
