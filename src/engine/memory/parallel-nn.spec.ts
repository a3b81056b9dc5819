// Tensor-parallel collectives around the linears, written out for 1,024 tokens, h = 512, two
// ranks: a sequence shard is 512 x 512 bf16, the gathered input 1,024 x 512.
import { STORED_WEIGHTS } from './autograd/nn';
import { Ops } from './autograd/ops';
import { Runtime, Tensor } from './autograd/runtime';
import { makeParam } from './model/rank-model';
import { ParallelNn } from './parallel-nn';

const tokens = 1024;
const h = 512;
const shardBytes = (tokens / 2) * h * 2;
const fullBytes = tokens * h * 2;

function setup(engine: 'pytorch' | 'megatron', sequenceParallel = true) {
  const rt = new Runtime();
  const precision = { matmul: 2, autocast: false, quantization: 'bitsandbytes' as const };
  const nn = new ParallelNn(new Ops(rt), precision, STORED_WEIGHTS, undefined, {
    degree: 2,
    sequenceParallel,
    engine,
    rowParallel: new Set(['o_proj']),
    tokens,
  });
  const weight = (name: string, out: number, inFeatures: number) => {
    const p = makeParam(name, out * inFeatures, true, 2);
    p.shape = [out, inFeatures];
    p.storage = rt.allocate(out * inFeatures * 2, 'weights');
    return p;
  };
  const live = () => {
    let bytes = 0;
    for (let i = 0; i < rt.log.length; i++) bytes += rt.log.kind[i] * rt.log.bytes[i];
    return bytes;
  };
  return { rt, nn, weight, live };
}

describe('sequence parallelism (torchtitan)', () => {
  it('q, k and v read one all-gathered input, saved for their backward', () => {
    const { rt, nn, weight, live } = setup('pytorch');
    const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((n) => weight(n, 256, h));
    const x = rt.tensor(tokens / 2, h, 2, true);
    const before = live();
    const outs = [q, k, v].map((w) => nn.plainLinear(x, { weight: w, outFeatures: 256 }));
    // one gathered input, three outputs of 1,024 x 256
    expect(live() - before).toBe(fullBytes + 3 * tokens * 256 * 2);
    expect(outs.every((o: Tensor) => o.rows === tokens)).toBe(true);
  });

  it("o_proj's partial output is reduce-scattered to the sequence shard", () => {
    const { rt, nn, weight, live } = setup('pytorch');
    const o = weight('o_proj', h, 256);
    const context = rt.tensor(tokens, 256, 2, true);
    const before = live();
    const out = nn.plainLinear(context, { weight: o, outFeatures: h });
    expect(out.rows).toBe(tokens / 2);
    expect(live() - before).toBe(shardBytes); // the 1,024-row partial output freed
  });
});

describe('sequence parallelism (Megatron)', () => {
  it('saves the shard and gathers into one global buffer, kept for the run', () => {
    const { rt, nn, weight, live } = setup('megatron');
    const [q, k] = ['q_proj', 'k_proj'].map((n) => weight(n, 256, h));
    const x = rt.tensor(tokens / 2, h, 2, true);
    const before = live();
    nn.plainLinear(x, { weight: q, outFeatures: 256 });
    nn.plainLinear(x, { weight: k, outFeatures: 256 });
    expect(live() - before).toBe(fullBytes + 2 * tokens * 256 * 2);
  });
});

describe('tensor parallelism without sequence parallelism', () => {
  it('torchtitan all-reduces the partial output out of place; Megatron in place', () => {
    const peak = (engine: 'pytorch' | 'megatron') => {
      const { rt, nn, weight, live } = setup(engine, false);
      const o = weight('o_proj', h, 256);
      const context = rt.tensor(tokens, 256, 2, true);
      const before = live();
      nn.plainLinear(context, { weight: o, outFeatures: h });
      let level = 0;
      let max = 0;
      for (let i = 0; i < rt.log.length; i++) {
        level += rt.log.kind[i] * rt.log.bytes[i];
        max = Math.max(max, level);
      }
      return { peak: max - before, after: live() - before };
    };
    expect(peak('pytorch')).toEqual({ peak: 2 * fullBytes, after: fullBytes });
    expect(peak('megatron')).toEqual({ peak: fullBytes, after: fullBytes });
  });
});

describe('context parallelism (ring attention)', () => {
  // 4,096 tokens on this rank, 8 heads and 2 K/V heads of 128, bf16
  const q = 4096 * 8 * 128;
  const kv = 4096 * 2 * 128;
  const lse = 4096 * 8;

  function ring() {
    const rt = new Runtime();
    const precision = { matmul: 2, autocast: false, quantization: 'bitsandbytes' as const };
    const tp = {
      degree: 1,
      sequenceParallel: false,
      engine: 'pytorch' as const,
      rowParallel: new Set<string>(),
      tokens: 4096,
    };
    const cp = {
      queryElements: q,
      keyElements: kv,
      lseElements: lse,
      computeBytes: 2,
      attentionOutputs: new Set(['o_proj']),
    };
    const nn = new ParallelNn(new Ops(rt), precision, STORED_WEIGHTS, undefined, tp, cp);
    const o = makeParam('o_proj', 1024 * 1024, true, 2);
    o.shape = [1024, 1024];
    o.storage = rt.allocate(1024 * 1024 * 2, 'weights');
    const context = rt.tensor(4096, 1024, 2, true);
    const start = rt.log.length;
    const out = nn.plainLinear(context, { weight: o, outFeatures: 1024 });
    const forwardEnd = rt.log.length;
    rt.backward(out, rt.allocate(out.bytes, 'activations'));
    const spike = (from: number, to: number) => {
      let level = 0;
      let max = 0;
      for (let i = from; i < to; i++) {
        level += rt.log.kind[i] * rt.log.bytes[i];
        max = Math.max(max, level);
      }
      return max;
    };
    return { forward: spike(start, forwardEnd), backward: spike(forwardEnd, rt.log.length) };
  }

  it("forward: K and V's send and receive buffers, the fp32 output and log-sum-exp accumulators", () => {
    const buffers = 2 * (2 * kv * 2) + q * 4 + lse * 4;
    // the spike comes before o_proj's own output (4,096 x 1,024 bf16)
    expect(ring().forward).toBe(Math.max(buffers, 4096 * 1024 * 2));
  });

  it('backward: fp32 dQ, dK and dV, the K/V rotation and the fp32 dK/dV rotation', () => {
    const ringBackward = q * 4 + 2 * kv * 4 + 2 * (2 * kv * 2) + 2 * (2 * kv * 4);
    // when the ring's backward starts, o_proj's weight gradient and its input's gradient wait
    expect(ring().backward).toBe(1024 * 1024 * 2 + 4096 * 1024 * 2 + ringBackward);
  });
});
