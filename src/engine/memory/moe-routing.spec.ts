// Tokens per routed expert, written out: Mixtral-like routing of 8,192 tokens to 2 of 8 experts.
import { MoeConfig } from '../vocabulary';
import { expertRouting } from './moe-routing';

const moe: MoeConfig = {
  numExperts: 8,
  expertsPerToken: 2,
  expertIntermediateSize: 14336,
  sharedExperts: 0,
  sharedExpertIntermediateSize: 0,
  firstDenseLayers: 0,
  routerBias: false,
};
const knobs = { moeCapacityFactor: 0, moePadToCapacity: false, moeRoutingImbalance: 1 };

describe('tokens an expert computes', () => {
  it('balanced and dropless: tokens x k / E = 8192 x 2 / 8 = 2048', () => {
    expect(expertRouting(moe, 8192, 1, knobs)).toEqual({
      topK: 2,
      experts: 8,
      tokensPerExpert: 2048,
      router: 'softmax',
      renormalize: true,
      denseExperts: false,
      sharedFirst: false,
      biased: false, // routerBias, passed on to the router
    });
  });

  it('expert parallel 4: 2 experts per rank, each fed by the 4 ranks: 4 x 8192 x 2 / 8 = 8192', () => {
    expect(expertRouting(moe, 8192, 4, knobs)).toEqual({
      topK: 2,
      experts: 2,
      tokensPerExpert: 8192,
      router: 'softmax',
      renormalize: true,
      denseExperts: false,
      sharedFirst: false,
      biased: false, // routerBias, passed on to the router
    });
  });

  it('imbalance 1.5: the busiest expert takes 1.5 x 2048 = 3072', () => {
    const routing = expertRouting(moe, 8192, 1, { ...knobs, moeRoutingImbalance: 1.5 });
    expect(routing.tokensPerExpert).toBe(3072);
  });

  it('capacity factor 1.25 caps it at 2560 and drops the rest; padding computes 2560 always', () => {
    const capped = { ...knobs, moeRoutingImbalance: 1.5, moeCapacityFactor: 1.25 };
    expect(expertRouting(moe, 8192, 1, capped).tokensPerExpert).toBe(2560);
    const padded = { ...knobs, moeCapacityFactor: 1.25, moePadToCapacity: true };
    expect(expertRouting(moe, 8192, 1, padded).tokensPerExpert).toBe(2560);
    expect(expertRouting(moe, 8192, 1, { ...knobs, moeCapacityFactor: 1.25 }).tokensPerExpert).toBe(
      2048,
    );
  });
});
