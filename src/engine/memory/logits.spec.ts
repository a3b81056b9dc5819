import { logitsAndLoss } from './logits';
import { normalizeRequest } from '../request/normalize';
import { loadCatalog } from '../../catalog/catalog';
import { PlanRequest } from '../vocabulary';

const catalog = loadCatalog();
const gemma2 = catalog.findModel('gemma-2-9b')!;

function request(
  precision: PlanRequest['training']['precision'],
  runtime: Partial<PlanRequest['runtime']> = {},
): PlanRequest {
  return normalizeRequest({
    model: 'gemma-2-9b',
    cluster: { gpu: 'h100-80gb' },
    training: { precision, microBatchSize: 1, sequenceLength: 2048 },
    runtime: { preset: 'hf-transformers', retainLogits: false, ...runtime },
  });
}

// Gemma-2-9B's 256,000-token vocabulary over 2,048 tokens.
const V = 256_000;
const T = 2_048;
const h = 3_584;

describe('logits and loss of an unchunked cross-entropy (HF ForCausalLMLoss)', () => {
  const uncapped = { ...gemma2, finalLogitSoftcapping: undefined };
  it('keeps the fp32 log-softmax (4VT) and the final norm’s input and output (2 x 2hT)', () => {
    const loss = logitsAndLoss(uncapped, request('bf16-pure'), V);
    expect(loss.saved).toBe(4 * V * T + 2 * 2 * h * T);
  });
  it('Gemma-2’s cap x tanh(logits / cap) also keeps tanh’s 16-bit output: 2VT more', () => {
    const capped = logitsAndLoss(gemma2, request('bf16-pure'), V);
    const plain = logitsAndLoss(uncapped, request('bf16-pure'), V);
    expect(capped.saved - plain.saved).toBe(2 * V * T);
  });
  it('the head’s weight gradient meets only the logits’ 16-bit gradient, not the loss’s fp32 ones', () => {
    const loss = logitsAndLoss(uncapped, request('bf16-pure'), V);
    expect(loss.headBackward).toBe(2 * 2 * h * T + 2 * V * T);
    expect(loss.backwardTransient).toBe(2 * 4 * V * T);
  });
  it('PyTorch before 1.11 also keeps log-softmax’s input, the fp32 upcast: 4VT more saved', () => {
    const old = logitsAndLoss(uncapped, request('bf16-pure', { softmaxSavesInput: true }), V);
    const now = logitsAndLoss(uncapped, request('bf16-pure'), V);
    expect(old.saved - now.saved).toBe(4 * V * T);
    expect(now.forwardTransient - old.forwardTransient).toBe(4 * V * T);
  });
});

describe('logits a model returns in fp32 (torchtune and torchtitan: self.output(h).float())', () => {
  const uncapped = { ...gemma2, finalLogitSoftcapping: undefined };
  const loss = (runtime: Partial<PlanRequest['runtime']>) =>
    logitsAndLoss(uncapped, request('bf16-pure', runtime), V);
  it('a loop that keeps them holds 4VT beside the fp32 log-softmax, not the 2VT of 16-bit logits', () => {
    const kept = loss({ fp32Logits: true, retainLogits: true });
    expect(kept.saved).toBe(4 * V * T + 4 * V * T + 2 * 2 * h * T);
    expect(kept.retained).toBe(4 * V * T);
    // backward through the loss: both fp32 gradients beside them, four fp32 V x T buffers
    expect(kept.saved + kept.backwardTransient).toBe(4 * 4 * V * T + 2 * 2 * h * T);
  });
  it('a loop that drops them holds them only in forward, with no second fp32 copy in the loss', () => {
    const dropped = loss({ fp32Logits: true, retainLogits: false });
    expect(dropped.saved).toBe(4 * V * T + 2 * 2 * h * T);
    expect(dropped.forwardTransient).toBe(4 * V * T);
    // HF's loss upcasts a copy of the 16-bit logits it is handed: 4VT + 2VT alive in forward
    expect(loss({ retainLogits: false }).forwardTransient).toBe(4 * V * T + 2 * V * T);
  });
});
