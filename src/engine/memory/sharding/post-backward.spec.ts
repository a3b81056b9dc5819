// When a sharded unit's post-backward runs: after its backward, once every parameter its graph
// used has a gradient (FSDP2's RegisterPostBackwardFunction, DeepSpeed's
// post_sub_module_backward_function). A parameter the forward never used gets no gradient:
// gpt-oss's attention sinks and expert biases, whose ops the plan leaves out (they are tiny),
// and a vision tower on text-only batches.
import { architectureFromConfig, normalizeRequest, PlanRequestInput } from '../..';
import { H100_SXM } from '../../../../test/support/gpus';
import { liveWhen } from '../../../../test/support/timeline';
import { splitLayers } from '../../model/placement';
import { layoutOf } from '../../request/layout';
import { ALLOCATED_COMPONENTS } from '../autograd/events';
import { simulateRankOnce } from '../rank';

const GPT_OSS = {
  model_type: 'gpt_oss',
  hidden_size: 256,
  intermediate_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
  num_local_experts: 4,
  num_experts_per_tok: 2,
  vocab_size: 1024,
  max_position_embeddings: 2048,
};

function simulate(runtime: PlanRequestInput['runtime']) {
  const arch = architectureFromConfig('spec', GPT_OSS);
  const input = {
    model: 'spec',
    cluster: { gpu: H100_SXM.id, nodes: 1, gpusPerNode: 8 },
    training: { sequenceLength: 512 },
    parallelism: { zeroStage: 3 as const },
    runtime,
  };
  const request = normalizeRequest(input, H100_SXM, arch);
  const placement = { chunks: [splitLayers(arch.numLayers, 1)[0]], rank: 0, virtualStages: 1 };
  return simulateRankOnce(request, arch, H100_SXM, layoutOf(request), placement).log;
}

describe("a sharded unit's post-backward", () => {
  it("FSDP2 reduce-scatters each layer's gradients in that layer's backward, though the sinks and expert biases get none", () => {
    const log = simulate({ preset: 'torchtitan' });
    const gradients = ALLOCATED_COMPONENTS.indexOf('gradients');
    const reducedIn = new Set<string>();
    for (let i = 0; i < log.length; i++) {
      const m = log.moments[log.moment[i]];
      // foreach_reduce's output: the sharded gradients, on the reduce-scatter stream
      if (log.kind[i] > 0 && log.stream[i] !== 0 && log.component[i] === gradients)
        reducedIn.add(`${m.step}|${m.phase}|${m.what}|${m.layer}`);
    }
    expect(reducedIn).toContain('2|backward|layer|1');
    expect(reducedIn).toContain('2|backward|layer|0');
  });

  it('DeepSpeed ZeRO-3 releases each layer after its backward: the second and third steps begin alike', () => {
    // stage3_max_reuse_distance (zero3LiveParameters) below a layer: nothing is kept for reuse.
    const log = simulate({ preset: 'deepspeed', zero3LiveParameters: 1000 });
    const at = (step: number) => liveWhen(log, (m) => m.step === step && m.phase === 'forward');
    expect(at(3)).toEqual(at(2));
  });
});
