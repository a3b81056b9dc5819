// TRL's DPO loss after the policy's forward (trl/trainer/dpo_trainer.py DPOTrainer._compute_loss,
// trl/trainer/utils.py selective_log_softmax and entropy_from_logits): the policy's per-token
// log-probabilities, the reference's under no_grad, the loss over the pairs, then the entropy
// and logits metrics it logs. Only what is as large as the logits is planned; the per-sequence
// sums, masks and scalars are a few bytes a token.
import { FP32 } from '../autograd/ops';
import { Nn } from '../autograd/nn';
import { ReferenceScoredObjective } from '../../vocabulary';
import { componentOf, Tensor } from '../autograd/runtime';

/** What the step needs beside the policy's own logits (kto.ts's step too). */
export interface PreferenceStep {
  objective: ReferenceScoredObjective;
  /** Rows of the micro-batch: DPO's chosen completions, then as many rejected ones; KTO's
   * labelled completions (and as many KL sequences in forwards of their own). */
  sequences: number;
  /** The reference model's forward under no_grad, returning its logits; absent where the
   * reference log-probabilities come with the batch (precompute_ref_log_probs). */
  reference?: () => Tensor;
}

// entropy_from_logits(logits, chunk_size=128): rows of the flattened logits per chunk.
const ENTROPY_CHUNK_ROWS = 128;

/** The DPO loss of one micro-batch from the logits the policy returned (outputs.logits), which
 * die with _compute_loss's locals (Trainer.compute_loss keeps only the loss) unless backward
 * needs them. */
export function dpoLoss(nn: Nn, logits: Tensor, step: PreferenceStep): Tensor {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const shift = shiftedLogits(nn, logits, step.sequences); // outputs.logits[..., :-1, :]
    const logps = selectiveLogSoftmax(nn, shift, step.sequences);
    if (step.reference) referenceLogps(nn, step.reference, step.sequences, 'dpo loss');
    const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss'); // -logsigmoid(beta * delta).mean()
    rt.record([logps], [loss], [], () => nn.ops.give(logps, () => nn.ops.gradOf(logps)));
    rt.noGrad(() => entropyFromLogits(nn, shift)); // per_token_entropy of shift_logits.detach()
    rt.drop(logits); // _compute_loss returns
    return loss;
  });
}

/** `logits[..., :-1, :]`: a view of every sequence but its last position; SliceBackward0 writes
 * the gradient into zeros of the logits' whole size (slice_backward). */
export function shiftedLogits(nn: Nn, logits: Tensor, sequences: number): Tensor {
  return nn.ops.sliceRows(logits, logits.rows - sequences);
}

/** selective_log_softmax(logits, labels): the label's log-probability at each position. */
export function selectiveLogSoftmax(nn: Nn, shift: Tensor, sequences: number): Tensor {
  return shift.elementBytes >= FP32
    ? logsumexpLogps(nn, shift, sequences)
    : rowLogSoftmaxLogps(nn, shift, sequences);
}

/** fp32 logits: torch.gather of the labels' logits (GatherBackward0 keeps the logits: its
 * formula takes self), minus torch.logsumexp over each sequence in turn (iterating the tensor
 * unbinds it). Each logsumexp makes (self - maxes), a sequence's worth of logits, and keeps its
 * input (a view) and result; the difference of two (s x 1) columns is the log-probabilities. */
function logsumexpLogps(nn: Nn, shift: Tensor, sequences: number): Tensor {
  const { ops, rt } = nn;
  const selected = rt.tensor(shift.rows, 1, FP32, shift.requiresGrad, 'logitsAndLoss');
  rt.record([shift], [selected], [shift], () => ops.give(shift, () => ops.gradOf(shift)));
  const rows = ops.chunkRows(shift, sequences); // UnbindBackward0 stacks the rows' gradients
  const sums = rows.map((row) => logsumexp(nn, row));
  rt.drop(...rows);
  const stacked = ops.catRows(sums); // torch.stack(...)
  rt.drop(...sums);
  const logps = ops.sub(selected, stacked); // selected_logits - logsumexp_values.unsqueeze(-1)
  rt.drop(selected, stacked);
  return logps;
}

/** torch.logsumexp(row, -1) (ReduceOps.cpp logsumexp_out_impl: (self - maxes).exp_() summed):
 * one row-sized temporary. Backward (logsumexp_backward) is grad * (self - result).exp(), the
 * difference and its exp living to the end of the expression beside the gradient it makes. */
function logsumexp(nn: Nn, row: Tensor): Tensor {
  const { ops, rt } = nn;
  const result = rt.tensor(row.rows, 1, FP32, row.requiresGrad, 'logitsAndLoss');
  ops.scratch(row.bytes, 'logitsAndLoss');
  rt.record([row], [result], [row, result], () => {
    const difference = rt.allocate(row.bytes, componentOf(row));
    const exp = rt.allocate(row.bytes, componentOf(row));
    ops.give(row, () => ops.gradOf(row));
    rt.release(exp);
    rt.release(difference);
  });
  return result;
}

/** 16-bit logits: per sequence, F.log_softmax (LogSoftmaxBackward0 keeps its output, so every
 * sequence's log-probabilities live until backward) and the labels' gather from it (its
 * backward scatters into a row of zeros); the per-row picks stacked. */
function rowLogSoftmaxLogps(nn: Nn, shift: Tensor, sequences: number): Tensor {
  const { ops, rt } = nn;
  const rows = ops.chunkRows(shift, sequences); // for row_logits in logits: unbind
  const picks = rows.map((row) => {
    const logProbabilities = ops.softmax(row);
    const pick = rt.tensor(row.rows, 1, row.elementBytes, logProbabilities.requiresGrad);
    rt.record([logProbabilities], [pick], [logProbabilities], () =>
      ops.give(logProbabilities, () => ops.gradOf(logProbabilities)),
    );
    rt.drop(logProbabilities);
    return pick;
  });
  rt.drop(...rows);
  const logps = ops.catRows(picks); // torch.stack(per_token_logps)
  rt.drop(...picks);
  return logps;
}

/** The reference's forward under no_grad, its logits held as `ref_outputs` until
 * _compute_loss returns, and their log-probabilities (no graph: each temporary freed); the
 * loss's moment (`loss`) resumes after it. */
export function referenceLogps(
  nn: Nn,
  reference: () => Tensor,
  sequences: number,
  loss: string,
): void {
  nn.rt.enter('forward', -1, 'reference model');
  const logits = reference();
  nn.rt.noGrad(() => nn.rt.drop(...noGradLogps(nn, logits, sequences)));
  nn.rt.enter('forward', -1, loss);
}

/** selective_log_softmax of logits under no_grad: the shifted view and the per-token
 * log-probabilities, for the caller to free. */
export function noGradLogps(nn: Nn, logits: Tensor, sequences: number): Tensor[] {
  const shift = shiftedLogits(nn, logits, sequences);
  return [shift, selectiveLogSoftmax(nn, shift, sequences)];
}

/** entropy_from_logits: logits.reshape(-1, V) copies the non-contiguous shifted view whole, then
 * each 128-row chunk's log_softmax (rebound each turn, so the last one lives while the next is
 * made), its exp and their product die with the line that sums them. The boolean-masked copies
 * of the chosen and rejected rows for the logged means come after, each at most half this copy,
 * and are not planned. */
export function entropyFromLogits(nn: Nn, shift: Tensor): void {
  const { rt } = nn;
  const component = componentOf(shift);
  const flat = rt.tensor(shift.rows, shift.cols, shift.elementBytes, false, component);
  let previous: Tensor | undefined;
  for (let start = 0; start < shift.rows; start += ENTROPY_CHUNK_ROWS) {
    const rows = Math.min(ENTROPY_CHUNK_ROWS, shift.rows - start);
    const chunkBytes = rows * shift.cols * shift.elementBytes;
    const logps = rt.tensor(rows, shift.cols, shift.elementBytes, false, component);
    rt.drop(previous);
    previous = logps;
    // -(torch.exp(logps) * logps).sum(-1): the exp dies once the product is made, the product
    // once it is summed.
    const exp = rt.allocate(chunkBytes, component);
    const product = rt.allocate(chunkBytes, component);
    rt.release(exp);
    rt.release(product);
  }
  rt.drop(previous, flat);
}
