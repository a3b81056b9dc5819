// TRL's KTO loss (trl/trainer/kto_trainer.py KTOTrainer._compute_loss and _compute_kl_logps,
// loss_type 'kto'): the policy scores the mismatched KL sequences under no_grad before its own
// forward; after it, the policy's per-token log-probabilities, the reference's over the KL
// sequences and then over the completions, the loss, and the entropy and logits metrics it
// logs. The log-probabilities and the entropy are DPO's (dpo.ts); only what is as large as the
// logits is planned, the per-sequence sums, labels and scalars being a few bytes a sequence.
import { FP32 } from '../autograd/ops';
import { Nn } from '../autograd/nn';
import { componentOf, Tensor } from '../autograd/runtime';
import {
  PreferenceStep,
  entropyFromLogits,
  noGradLogps,
  referenceLogps,
  selectiveLogSoftmax,
  shiftedLogits,
} from './dpo';

/** _compute_kl_logps: a model's forward over the KL sequences under no_grad (`forward`), their
 * log-probabilities summed per sequence; the logits and their log-probabilities are locals
 * that go as it returns. */
export function klLogps(nn: Nn, forward: () => Tensor, step: PreferenceStep): void {
  nn.rt.enter('forward', -1, 'kl sequences');
  const logits = forward();
  nn.rt.enter('forward', -1, 'kl log-probabilities');
  nn.rt.noGrad(() => nn.rt.drop(logits, ...noGradLogps(nn, logits, step.sequences)));
}

/** The KTO loss of one micro-batch from the logits the policy returned (outputs.logits), which
 * _compute_loss's locals hold until it returns the loss. */
export function ktoLoss(nn: Nn, logits: Tensor, step: PreferenceStep): Tensor {
  return nn.rt.scope(() => {
    const { rt } = nn;
    const shift = shiftedLogits(nn, logits, step.sequences); // outputs.logits[:, :-1, :]
    const logps = selectiveLogSoftmax(nn, shift, step.sequences);
    if (step.reference) {
      // ref_KL_logps = self._compute_kl_logps(self.ref_model, batch), then ref_outputs
      klLogps(nn, step.reference, step);
      referenceLogps(nn, step.reference, step.sequences, 'kto loss');
    }
    const loss = rt.tensor(1, 1, FP32, true, 'logitsAndLoss'); // losses.nanmean()
    rt.record([logps], [loss], [], () => nn.ops.give(logps, () => nn.ops.gradOf(logps)));
    rt.noGrad(() => {
      entropyFromLogits(nn, shift); // entropy_from_logits(shift_logits.detach())
      labelledLogits(nn, shift, step.sequences);
    });
    rt.drop(logits); // _compute_loss returns
    return loss;
  });
}

/** chosen_logits and rejected_logits: shift_logits.detach().index_select(0, idx) for each
 * label, copies of the rows that live until _compute_loss returns (together the shifted
 * logits once more). The labels' split is the data's: planned as half and half, the odd row
 * chosen. Their completion-masked selections (`chosen_logits[chosen_mask.bool()]`, gone with
 * the line that means them) are left out. */
function labelledLogits(nn: Nn, shift: Tensor, sequences: number): void {
  const rowsPerSequence = shift.rows / sequences;
  const chosen = Math.ceil(sequences / 2);
  for (const labelled of [chosen, sequences - chosen]) {
    if (labelled === 0) continue;
    const rows = labelled * rowsPerSequence;
    nn.rt.tensor(rows, shift.cols, shift.elementBytes, false, componentOf(shift));
  }
}
