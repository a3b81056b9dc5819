// What each engine keeps of a tiny Mixtral (4 layers, 8 experts of h x f) over 8 data-parallel
// ranks with expert parallelism: a rank holds 8 / EP experts, and its states shard the dense
// parameters over all 8 ranks and its experts over the 8 / EP ranks holding the same ones.
import { liveWhen, simulateTiny, TINY } from '../../../../test/support/timeline';

const { hidden: h, ffn: f, vocab: V } = TINY;
const EXPERTS = 8;
const MIXTRAL = {
  architectures: ['MixtralForCausalLM'],
  model_type: 'mixtral',
  num_local_experts: EXPERTS,
  num_experts_per_tok: 2,
};
// Per layer: q, k, v, o (no grouped K/V), the router (8 x h) and two norms; the embedding, the
// untied head and the final norm.
const ROUTER = EXPERTS * h;
const DENSE = 4 * (4 * h * h + ROUTER + 2 * h) + 2 * V * h + h;
/** Experts' elements on a rank: 8 / EP experts of w1, w2, w3 (h x f each) in every layer. */
const expertsOnRank = (ep: number) => 4 * (EXPERTS / ep) * 3 * h * f;
// Parameters (FSDP2 keeps each one's state, with AdamW's 4-byte step in a 512-byte block): per
// layer q, k, v, o, the router, the experts' gate_up_proj and down_proj, two norms; the
// embedding, the head and the final norm.
const PARAMETERS = 4 * 9 + 3;
const STEP_BLOCK = 512;
/** Elements this rank's states cover: the dense ones over 8 ranks, its experts over 8 / EP. */
const stateElements = (ep: number) => DENSE / 8 + expertsOnRank(ep) / (8 / ep);
// Each tensor rounds up to a 512-byte block: a few KiB beyond the arithmetic.
const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThan(8 * 1024);
const atStep = (m: { step: number; phase: string }) => m.step === 2 && m.phase === 'optimizer';

function liveAtStep(ep: number, zeroStage: 1 | 3, runtime: Record<string, unknown>) {
  const parallelism = { zeroStage, expertParallel: ep };
  const input = { training: { sequenceLength: 1024 }, gpus: 8, config: MIXTRAL, parallelism };
  return liveWhen(simulateTiny({ ...input, runtime } as never).log, atStep);
}

describe('states of routed experts shard over the ranks that hold the same experts', () => {
  it.each([1, 2, 4, 8])(
    'FSDP2 (torchtitan), EP %i: fp32 shards and AdamW states of dense / 8 + experts / (8 / EP)',
    (ep) => {
      const live = liveAtStep(ep, 3, { preset: 'torchtitan' });
      near(live.weights, 4 * stateElements(ep));
      near(live.optimizerStates, 8 * stateElements(ep) + PARAMETERS * STEP_BLOCK);
    },
  );

  it.each([2, 4])('DeepSpeed ZeRO-1, EP %i: the fp32 partition of each group', (ep) => {
    const live = liveAtStep(ep, 1, { preset: 'deepspeed' });
    // split_params_into_different_moe_groups_for_optimizer: the experts' group is partitioned
    // over the expert data-parallel ranks, the rest over all 8.
    near(live.masterWeights, 4 * stateElements(ep));
    near(live.optimizerStates, 8 * stateElements(ep));
    near(live.weights, 2 * (DENSE + expertsOnRank(ep))); // the bf16 model stays whole
  });

  it('DeepSpeed ZeRO-3, EP 4: partitions of 1/8 of the dense and 1/2 of the experts, small ones whole', () => {
    const live = liveAtStep(4, 3, { preset: 'deepspeed', zero3LiveParameters: 0 });
    // Norms and routers are under stage3_param_persistence_threshold (1e5 elements).
    const whole = 9 * h + 4 * ROUTER;
    near(live.weights, 2 * ((DENSE - whole) / 8 + expertsOnRank(4) / 2 + whole));
    near(live.masterWeights, 4 * stateElements(4));
  });

  it("Megatron's distributed optimizer, EP 4: the main parameters' shard of each group", () => {
    const live = liveAtStep(4, 1, { preset: 'megatron' });
    near(live.masterWeights, 4 * stateElements(4));
    near(live.optimizerStates, 8 * stateElements(4));
  });
});
