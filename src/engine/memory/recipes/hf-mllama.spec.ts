// Mllama on text-only batches: MllamaTextModel.forward passes its cross-attention layers by
// (`continue` without cross_attention_states), so no module, hook or checkpoint of theirs runs.
import { loadCatalog } from '../../../catalog/catalog';
import { H100_SXM } from '../../../../test/support/gpus';
import { liveWhen } from '../../../../test/support/timeline';
import { firstLayers } from '../../model/layers';
import { countParameters } from '../../model/parameters';
import { splitLayers } from '../../model/placement';
import { normalizeRequest } from '../../request/normalize';
import { layoutOf } from '../../request/layout';
import { simulateRankOnce } from '../rank';
import { ALL_GATHER_STREAM } from '../sharding/fsdp2';

// Llama-3.2-11B-Vision's first five layers: layer 3 is its first cross-attention layer.
const arch = firstLayers(loadCatalog().findModel('llama-3.2-11b-vision')!, 5);

function simulate(recompute: 'full' | 'selective', gpus = 8, depth: 'full' | 'allocated' = 'full') {
  const input = {
    model: arch.id,
    cluster: { gpu: H100_SXM.id, nodes: 1, gpusPerNode: gpus },
    training: { sequenceLength: 256, activationCheckpointing: recompute },
    parallelism: { zeroStage: (gpus > 1 ? 3 : 0) as 0 | 3 },
  };
  const request = normalizeRequest(input, H100_SXM, arch);
  const placement = { chunks: [splitLayers(arch.numLayers, 1)[0]], rank: 0, virtualStages: 1 };
  const layout = layoutOf(request);
  return simulateRankOnce(request, arch, H100_SXM, layout, placement, Infinity, depth).log;
}

describe('Mllama without images', () => {
  it.each([['full' as const], ['selective' as const]])(
    'under %s checkpointing, nothing of the skipped layer runs and no step leaves more than the last',
    (recompute) => {
      const log = simulate(recompute);
      const at = (step: number) => liveWhen(log, (m) => m.step === step && m.phase === 'forward');
      expect(at(3)).toEqual(at(2));
      const ranLayers = new Set(log.moments.filter((m) => m.layer >= 0).map((m) => m.layer));
      expect([...ranLayers].sort()).toEqual([0, 1, 2, 4]);
      // FSDP2 prefetches in backward what the forward ran (post_forward_order): no all-gather
      // of the skipped layer waits past the backward.
      let gathered = 0;
      for (let i = 0; i < log.length; i++) {
        const m = log.moments[log.moment[i]];
        if (m.step === 3 && m.phase === 'forward') break;
        if (log.stream[i] === ALL_GATHER_STREAM) gathered += log.kind[i] * log.bytes[i];
      }
      expect(gathered).toBe(0);
    },
  );

  it('AdamW makes states only for what a backward reached: not the skipped layer, not the vision tower', () => {
    const log = simulate('full', 1);
    const states = liveWhen(log, (m) => m.step === 2).optimizerStates;
    const counts = countParameters(arch);
    const ran = [0, 1, 2, 4].reduce((sum, layer) => sum + counts.layers[layer].total, 0);
    const reached = ran + counts.embedding + counts.finalNorm + counts.outputHead;
    // torch.optim.AdamW's _init_group skips parameters without a .grad: exp_avg and exp_avg_sq
    // in fp32 for the rest (every tensor here a multiple of 512 bytes).
    expect(states).toBe(2 * 4 * reached);
    expect(counts.layers[3].total + counts.vision).toBeGreaterThan(0);
  });

  it("the search's probes run the first step too, so they make no more states than the plan", () => {
    const states = (depth: 'full' | 'allocated') =>
      liveWhen(simulate('full', 1, depth), (m) => m.step === 2 && m.phase === 'forward')
        .optimizerStates;
    expect(states('allocated')).toBe(states('full'));
  });
});
