// A bf16 language-model head on a fresh runtime, for the loss specs: the head's weight already
// allocated, a hidden state of `tokens` rows that requires grad, and the loss settings of Hugging
// Face's standard loss with every option off.
import { Nn } from '../../src/engine/memory/autograd/nn';
import { Ops } from '../../src/engine/memory/autograd/ops';
import { Param, Runtime, Tensor } from '../../src/engine/memory/autograd/runtime';
import { LossSettings } from '../../src/engine/memory/model/loss';
import { LinearParams } from '../../src/engine/memory/model/rank-model';

const BF16 = 2;

export const STANDARD_LOSS: LossSettings = {
  kind: 'standard',
  fused: 'liger',
  chunks: 8,
  chunkFp32: true,
  compiled: false,
  fp32Logits: false,
  logitsCastBack: false,
  outputsToFp32: false,
  scaleLogits: false,
  logitsBiasBytes: 0,
  inLogitsDtype: false,
  autocast: false,
  softcap: false,
  retainLogits: false,
  classifierDropout: 0,
};

/** The runtime, its modules, an `lm_head` of `vocab` x `hidden` and the hidden state; `start` is
 * the log's length once they exist. */
export function lmHeadSetUp(tokens: number, hidden: number, vocab: number) {
  const rt = new Runtime();
  const nn = new Nn(new Ops(rt), { matmul: BF16, autocast: false, quantization: 'bitsandbytes' });
  const weight: Param = {
    name: 'lm_head',
    elements: vocab * hidden,
    storedBytes: BF16,
    trainable: true,
    gradientBytes: BF16,
  };
  weight.storage = rt.allocate(vocab * hidden * BF16, 'weights');
  const head: LinearParams = {
    name: 'lm_head',
    weight,
    inFeatures: hidden,
    outFeatures: vocab,
    quantized: false,
  };
  const state: Tensor = rt.tensor(tokens, hidden, BF16, true);
  return { rt, nn, head, hidden: state, start: rt.log.length };
}
