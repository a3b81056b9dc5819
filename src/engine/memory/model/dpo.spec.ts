// TRL's DPO loss (trl/trainer/dpo_trainer.py DPOTrainer._compute_loss; trl/trainer/utils.py
// selective_log_softmax, entropy_from_logits) event by event on one pair: two sequences of S
// tokens, so the shifted logits are 2 (S - 1) rows of the vocabulary. Sizes are written out from
// that code; the per-token sums, labels and 0-d scalars are 512 B blocks and left out.
import { lmHeadSetUp, STANDARD_LOSS } from '../../../../test/support/lm-head';
import { deltasOf } from '../../../../test/support/event-log';
import { Nn } from '../autograd/nn';
import { FP32 } from '../autograd/ops';
import { Tensor } from '../autograd/runtime';
import { dpoLoss } from './dpo';
import { headLogits } from './loss';
import { LinearParams } from './rank-model';

const BF16 = 2;
const HIDDEN = 128;
const VOCAB = 1024;
const BLOCK = 512;
const SEQUENCES = 2; // one chosen and one rejected completion
const S = 4; // tokens a sequence
const TOKENS = SEQUENCES * S;
const SHIFTED = SEQUENCES * (S - 1); // logits[..., :-1, :]

/** outputs.logits: the head's, or where Accelerate wraps an autocast forward
 * (convert_outputs_to_fp32), the fp32 copy that replaces them once the forward returns. */
function policyLogits(nn: Nn, hidden: Tensor, head: LinearParams, wrapped = false): Tensor {
  const logits = headLogits(nn, hidden, head, STANDARD_LOSS);
  if (!wrapped) return logits;
  const float = nn.ops.to(logits, FP32);
  nn.rt.drop(logits);
  return float;
}

const setUp = () => lmHeadSetUp(TOKENS, HIDDEN, VOCAB);

const large = (deltas: number[]) => deltas.filter((bytes) => Math.abs(bytes) > BLOCK);

describe("TRL's DPO loss on 16-bit logits (no Accelerate wrapper: bf16 weights)", () => {
  const LOGITS = TOKENS * VOCAB * BF16; // 16,384 B
  const ROW = (S - 1) * VOCAB * BF16; // one sequence's shifted logits: 6,144 B
  const SHIFT = SHIFTED * VOCAB * BF16; // 12,288 B

  it("keeps each sequence's log_softmax for backward, copies the logits whole for the entropy, and frees the logits at return", () => {
    const { rt, nn, head, hidden, start } = setUp();
    dpoLoss(nn, policyLogits(nn, hidden, head), { objective: 'dpo', sequences: SEQUENCES });
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS, // lm_head
      ROW, // F.log_softmax(row_logits), chosen: kept by LogSoftmaxBackward0
      ROW, // and rejected
      SHIFT, // entropy_from_logits: logits.reshape(-1, V) of the non-contiguous view
      SHIFT, // the one 128-row chunk's log_softmax (6 rows here)
      SHIFT, // torch.exp(logps)
      SHIFT, // * logps
      -SHIFT, // the exp dies once multiplied
      -SHIFT, // the product once summed
      -SHIFT, // the chunk's logps at return
      -SHIFT, // flat_logits at return
      -LOGITS, // _compute_loss returns: outputs.logits was saved by nothing
    ]);
  });

  it("runs the reference's log-probabilities without a graph: each sequence's log_softmax freed after its gather", () => {
    const { rt, nn, head, hidden, start } = setUp();
    const reference = () => rt.tensor(TOKENS, VOCAB, BF16, false, 'logitsAndLoss');
    dpoLoss(nn, policyLogits(nn, hidden, head), {
      objective: 'dpo',
      sequences: SEQUENCES,
      reference,
    });
    expect(large(deltasOf(rt.log, start)).slice(0, 8)).toEqual([
      LOGITS, // the policy's lm_head
      ROW,
      ROW, // the policy's log-probabilities, kept
      LOGITS, // ref_outputs.logits, held until _compute_loss returns
      ROW, // the reference's chosen log_softmax under no_grad
      -ROW, // freed once gathered
      ROW,
      -ROW,
    ]);
    const deltas = large(deltasOf(rt.log, start));
    expect(deltas.slice(-2)).toEqual([-LOGITS, -LOGITS]); // both models' logits die at return
  });
});

describe("TRL's DPO loss under Accelerate's autocast wrapper (fp32 outputs)", () => {
  const LOGITS16 = TOKENS * VOCAB * BF16;
  const LOGITS32 = TOKENS * VOCAB * FP32; // 32,768 B
  const ROW = (S - 1) * VOCAB * FP32; // 12,288 B
  const SHIFT = SHIFTED * VOCAB * FP32; // 24,576 B

  it('takes logsumexp a sequence at a time and keeps the fp32 logits for backward (GatherBackward0 saves them)', () => {
    const { rt, nn, head, hidden, start } = setUp();
    dpoLoss(nn, policyLogits(nn, hidden, head, true), { objective: 'dpo', sequences: SEQUENCES });
    expect(large(deltasOf(rt.log, start))).toEqual([
      LOGITS16, // lm_head under autocast
      LOGITS32, // convert_outputs_to_fp32: .float()
      -LOGITS16, // the model's own output object is dropped
      ROW, // torch.logsumexp(chosen row): (self - maxes).exp_()
      -ROW,
      ROW, // rejected row
      -ROW,
      SHIFT, // entropy: the reshape's copy
      SHIFT, // the chunk's log_softmax
      SHIFT, // exp
      SHIFT, // product
      -SHIFT,
      -SHIFT,
      -SHIFT,
      -SHIFT,
    ]); // no -LOGITS32: the gather and each logsumexp keep views of the logits
  });

  it('backward: each row grad * (self - result).exp(), the rows stacked, the gather scattered, and the logits released once the gather has run', () => {
    const { rt, nn, head, hidden } = setUp();
    const loss = dpoLoss(nn, policyLogits(nn, hidden, head, true), {
      objective: 'dpo',
      sequences: SEQUENCES,
    });
    const start = rt.log.length;
    rt.backward(loss);
    expect(large(deltasOf(rt.log, start)).slice(0, 16)).toEqual([
      ROW, // rejected row (the last made runs first): self - result
      ROW, // .exp()
      ROW, // grad * ...: the row's gradient
      -ROW, // the expression's temporaries die
      -ROW,
      ROW, // chosen row, the same
      ROW,
      ROW,
      -ROW,
      -ROW,
      SHIFT, // UnbindBackward0: torch.stack of the two rows' gradients
      -ROW, // the rows' gradients freed
      -ROW,
      SHIFT, // GatherBackward0: zeros of the shifted logits, scattered
      -LOGITS32, // its saved logits released (the last node that kept them)
      -SHIFT, // summed into the first gradient in place
    ]);
  });
});
