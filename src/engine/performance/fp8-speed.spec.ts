// fp8's share of the step: the decoder layers' linear matmuls run at twice the bf16 rate.
import { H100_SXM } from '../../../test/support/gpus';
import { tinyArch, TINY, TINY_LAYER } from '../../../test/support/timeline';
import { normalizeRequest } from '../request/normalize';
import {
  attentionCoreForwardFlopsPerToken,
  fp8AdjustedFlops,
  trainingFlopsPerToken,
} from './performance';

const arch = tinyArch(4);
const active = 4 * TINY_LAYER + 2 * TINY.vocab * TINY.hidden + TINY.hidden;
const request = (fp8Recipe: 'none' | 'tensorwise') =>
  normalizeRequest(
    {
      model: 'tiny',
      cluster: { gpu: 'h100-80gb' },
      training: { sequenceLength: 2048 },
      runtime: { fp8Recipe },
    },
    H100_SXM,
  );

describe('fp8 step time', () => {
  it('halves the time of the layers linear matmuls and leaves the rest', () => {
    const r = request('tensorwise');
    const flops = trainingFlopsPerToken(r, arch, { active, trainable: active });
    // 6 FLOPs per weight per token (forward 2, backward 4); the layers' linears are
    // 4 x (4 h^2 + 3 h f) of the active weights, the head and embedding the rest
    const linears = 4 * (4 * TINY.hidden ** 2 + 3 * TINY.hidden * TINY.ffn);
    const attention = 3 * attentionCoreForwardFlopsPerToken(arch, 2048);
    expect(flops.hardware).toBe(6 * active + attention);
    expect(fp8AdjustedFlops(r, arch, flops, active)).toBeCloseTo(
      6 * active + attention - (6 * linears) / 2,
      0,
    );
  });

  it('changes nothing without fp8', () => {
    const r = request('none');
    const flops = trainingFlopsPerToken(r, arch, { active, trainable: active });
    expect(fp8AdjustedFlops(r, arch, flops, active)).toBe(flops.hardware);
  });
});
