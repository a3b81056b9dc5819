// A training plan's notes where the card's figures alone would mislead: paged 8-bit AdamW's
// states sit in CUDA managed memory, which pages out to the host when the card runs out (QLoRA
// paper, "Paged Optimizers"), so a rank over the card by less than them runs, paging.
import { H100_SXM } from '../../test/support/gpus';
import { architectureFromConfig } from './model/architecture';
import { planFromRequest } from './plan';
import { normalizeRequest } from './request/normalize';

const arch = architectureFromConfig('tiny-llama', {
  model_type: 'llama',
  hidden_size: 1024,
  intermediate_size: 2048,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 8,
  vocab_size: 8192,
});

// LoRA r 256 on q, k, v, o (1024 -> 1024): an A of r x 1024 and a B of 1024 x r each, 4 layers;
// paged 8-bit AdamW keeps two 8-bit moments and an fp32 absmax per 2,048 elements of each.
const loraParameters = 4 * 4 * 256 * (1024 + 1024);
const pagedBytes = loraParameters * 2 * (1 + 4 / 2048);

function planWithMargin(safetyMarginBytes: number) {
  const input = {
    model: 'tiny-llama',
    cluster: { gpu: H100_SXM.id },
    training: {
      method: 'lora' as const,
      optimizer: 'paged-adamw-8bit' as const,
      sequenceLength: 512,
      lora: { rank: 256, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    },
    runtime: { safetyMarginBytes },
  };
  return planFromRequest(normalizeRequest(input, H100_SXM, arch), arch, H100_SXM);
}

const pagingNote = /paged 8-bit AdamW states .* page them out, slower, rather than fail/;

describe('the plan notes a rank over the card by less than its paged optimizer states', () => {
  // Margins that leave the card short of the rank's figure by three quarters of the paged states
  // and by twice them. The allocator's budget shrinks with the margin, and a tighter one can make
  // it free cached blocks, so each case checks the plan's own headroom too.
  const used = planWithMargin(0).memory.perGpu.deviceUsedBytes;
  const marginOver = (over: number) => H100_SXM.memoryBytes - used + over;

  it.each([
    ['three quarters of them', true, 0.75],
    ['twice them', false, 2],
  ])('over by %s: noted %s', (_, noted, share) => {
    const plan = planWithMargin(marginOver(share * pagedBytes));
    const rank = plan.memory.perGpu;
    expect(rank.fits).toBe(false);
    expect(-rank.headroomBytes <= pagedBytes).toBe(noted);
    expect(plan.assumptions.some((note) => pagingNote.test(note))).toBe(noted);
  });

  it('no note where the rank fits', () => {
    const plan = planWithMargin(0);
    expect(plan.memory.perGpu.fits).toBe(true);
    expect(plan.assumptions.some((note) => pagingNote.test(note))).toBe(false);
  });
});
