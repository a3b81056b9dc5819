import { modelStates, nf4BytesPerWeight } from './model-states';
import { shardWorld } from './sharding/shard-world';
import { RankParameters } from '../model/placement';
import { normalizeRequest } from '../request/normalize';
import { PlanRequest, QuantizationKernel } from '../vocabulary';

/** A rank holding `elements` trainable dense parameters and nothing else. */
function rankOf(elements: number): RankParameters {
  return {
    denseLinear: elements,
    expertLinear: 0,
    nonLinear: 0,
    adapters: 0,
    largestLayer: 0,
    largestLinear: 0,
    largestTensor: 0,
    paddedVocab: 0,
    factoredStateElements: 0,
    headLinear: 0,
    visionLinear: 0,
    embeddingUnit: 0,
    rootUnit: 0,
    totalOnRank: elements,
    selfFrozen: 0,
  };
}

function requestWith(
  zeroStage: 0 | 1 | 2 | 3,
  overrides: Partial<PlanRequest['training']> = {},
): PlanRequest {
  return normalizeRequest({
    model: 'x',
    cluster: { gpu: 'a100-80gb', nodes: 8, gpusPerNode: 8 },
    training: { precision: 'bf16-mixed', optimizer: 'adamw', ...overrides },
    parallelism: { zeroStage },
  });
}

function modelStateBytes(zeroStage: 0 | 1 | 2 | 3, psi: number, nd: number): number {
  const s = modelStates(requestWith(zeroStage), rankOf(psi), shardWorld(nd, 1));
  return s.weights + s.gradients + s.masterWeights + s.optimizerStates;
}

describe('model states: the ZeRO paper (Rajbhandari et al. 2020, Figure 1), Psi = 7.5B, Nd = 64', () => {
  const psi = 7.5e9;
  const nd = 64;
  it('DDP (stage 0): (2 + 2 + 12) Psi = 120 GB', () => {
    expect(modelStateBytes(0, psi, nd)).toBe(120e9);
  });
  it('stage 1: 2 Psi + 2 Psi + 12 Psi / Nd = 31.4 GB', () => {
    expect(modelStateBytes(1, psi, nd)).toBe(4 * psi + (12 * psi) / nd);
    expect(modelStateBytes(1, psi, nd) / 1e9).toBeCloseTo(31.4, 1);
  });
  it('stage 2: 2 Psi + (2 + 12) Psi / Nd = 16.6 GB', () => {
    expect(modelStateBytes(2, psi, nd)).toBe(2 * psi + (14 * psi) / nd);
    expect(modelStateBytes(2, psi, nd) / 1e9).toBeCloseTo(16.6, 1);
  });
  it('stage 3: (2 + 2 + 12) Psi / Nd = 1.88 GB', () => {
    expect(modelStateBytes(3, psi, nd)).toBe((16 * psi) / nd);
    expect(modelStateBytes(3, psi, nd) / 1e9).toBeCloseTo(1.88, 2);
  });
  it('decreases strictly from stage 0 to 3', () => {
    const bytes = ([0, 1, 2, 3] as const).map((z) => modelStateBytes(z, psi, nd));
    for (let i = 1; i < bytes.length; i++) expect(bytes[i]).toBeLessThan(bytes[i - 1]);
  });
});

describe('model states by regime (memory-model.md section 3)', () => {
  const psi = 1e9;
  it("a table the model code freezes (Marian's positions) is held as a weight alone: no gradient, master or moments", () => {
    // 1e9 dense elements and 1e8 frozen ones beside them (nonLinear), ZeRO-1 over 8 ranks with
    // DeepSpeed's master-weights regime (preset default): 2-byte weights for all, 2-byte
    // gradients, 4-byte masters and 8 bytes of Adam's moments for the trained 1e9 alone.
    const frozen = 1e8;
    const rank = { ...rankOf(psi), nonLinear: frozen, selfFrozen: frozen };
    rank.totalOnRank += frozen;
    const request = requestWith(1);
    request.runtime.mixedPrecisionStyle = 'master-weights';
    const s = modelStates(request, rank, shardWorld(8, 1));
    expect([s.weights, s.gradients, s.masterWeights, s.optimizerStates]).toEqual([
      2 * (psi + frozen),
      2 * psi,
      (4 * psi) / 8,
      (8 * psi) / 8,
    ]);
    expect(s.trainableElements).toBe(psi);
  });
  it('fp32 AdamW: 4 + 4 + 8 = 16 bytes per parameter, no master copy', () => {
    const s = modelStates(requestWith(0, { precision: 'fp32' }), rankOf(psi), shardWorld(1, 1));
    expect([s.weights, s.gradients, s.masterWeights, s.optimizerStates]).toEqual([
      4e9, 4e9, 0, 8e9,
    ]);
  });
  it('pure bf16 AdamW keeps its moments in bf16: 2 + 2 + 4', () => {
    const s = modelStates(
      requestWith(0, { precision: 'bf16-pure' }),
      rankOf(psi),
      shardWorld(1, 1),
    );
    expect([s.weights, s.gradients, s.masterWeights, s.optimizerStates]).toEqual([
      2e9, 2e9, 0, 4e9,
    ]);
  });
  it("Megatron's distributed optimizer: 6 + 12 / Nd with fp32 main grads", () => {
    const request = requestWith(1);
    request.runtime.fp32Gradients = true;
    const s = modelStates(request, rankOf(psi), shardWorld(8, 1));
    expect(s.weights + s.gradients + s.masterWeights + s.optimizerStates).toBe(
      6 * psi + (12 * psi) / 8,
    );
  });
  it('SGD with momentum keeps one fp32 buffer; plain SGD none', () => {
    expect(
      modelStates(requestWith(0, { optimizer: 'sgd-momentum' }), rankOf(psi), shardWorld(1, 1))
        .optimizerStates,
    ).toBe(4e9);
    expect(
      modelStates(requestWith(0, { optimizer: 'sgd' }), rankOf(psi), shardWorld(1, 1))
        .optimizerStates,
    ).toBe(0);
  });
  it('paged 8-bit AdamW: 2 bytes plus block absmax, outside the allocator', () => {
    const s = modelStates(
      requestWith(0, { optimizer: 'paged-adamw-8bit' }),
      rankOf(psi),
      shardWorld(1, 1),
    );
    expect(s.optimizerStates).toBe(0);
    expect(s.pagedOptimizerStates).toBeCloseTo(psi * 2 * (1 + 4 / 2048), -3);
  });
  it('CPU offload of the optimizer moves master weights, moments and fp32 grads to the host', () => {
    const request = requestWith(2);
    request.parallelism.offload.optimizer = 'cpu';
    const s = modelStates(request, rankOf(psi), shardWorld(4, 1));
    expect(s.optimizerStates + s.masterWeights).toBe(0);
    expect(s.hostBytes).toBe((12 * psi) / 4 + (4 * psi) / 4);
  });
});

describe('NF4 storage (Dettmers et al. 2023)', () => {
  it('is 4.5 bits per weight with an fp32 absmax per 64', () => {
    expect(nf4BytesPerWeight(false) * 8).toBeCloseTo(4.5, 10);
  });
  it('is about 4.127 bits with double quantisation', () => {
    expect(nf4BytesPerWeight(true) * 8).toBeCloseTo(4.127, 3);
  });
});

describe('QLoRA frozen weights: which linears are NF4', () => {
  // Llama-2-7B's shape: 32 x 202,383,360 block-linear elements, a 32,000 x 4096 head and as
  // many embedding rows, 266,240 norm elements.
  const blocks = 32 * 202_383_360;
  const head = 32_000 * 4096;
  const norms = 266_240;
  const llama2: RankParameters = {
    ...rankOf(blocks),
    nonLinear: 2 * head + norms,
    headLinear: head,
  };
  const weightsOn = (quantizationKernel: QuantizationKernel, rank = llama2) =>
    modelStates(
      normalizeRequest({
        model: 'x',
        cluster: { gpu: 'a10g' },
        training: { method: 'qlora', precision: 'bf16-pure', qlora: { doubleQuant: false } },
        runtime: { quantizationKernel },
      }),
      rank,
      shardWorld(1, 1),
    ).weights;
  it('Hugging Face keeps lm_head in bf16: 4.5 bits per block weight, 2 bytes for the rest', () => {
    expect(weightsOn('bitsandbytes')).toBeCloseTo(blocks * 0.5625 + (2 * head + norms) * 2, 0);
  });
  it('Lightning’s plugin (litgpt) swaps every nn.Linear, so the head is NF4 too', () => {
    expect(weightsOn('bitsandbytes-lightning')).toBeCloseTo(
      (blocks + head) * 0.5625 + (head + norms) * 2,
      0,
    );
  });

  it("routed experts stay bf16: transformers v5's fused 3-D parameters are no nn.Linear for bitsandbytes", () => {
    // The same rank with 8 x 2 x 4096 x 14336 expert elements beside its blocks.
    const experts = 8 * 2 * 4096 * 14336;
    const weights = weightsOn('bitsandbytes', { ...llama2, expertLinear: experts });
    expect(weights).toBeCloseTo(blocks * 0.5625 + (2 * head + norms + experts) * 2, 0);
  });

  it("a vision tower's linears are NF4 under bitsandbytes (Hugging Face skips lm_head alone), bf16 under torchtune's torchao", () => {
    // Qwen2.5-VL-7B's tower: 32 blocks of qkv (1,280 x 3,840), proj, and a gated MLP of 3,420,
    // then the merger's two linears (5,120 x 5,120, 5,120 x 3,584); its norms, biases and
    // patch embedding stay 16-bit with the rest of nonLinear
    const tower = 32 * (1280 * 3840 + 1280 * 1280 + 3 * 1280 * 3420) + 5120 * 5120 + 5120 * 3584;
    const rank = { ...llama2, nonLinear: llama2.nonLinear + tower + 1e6, visionLinear: tower };
    const rest = 2 * head + norms + 1e6;
    expect(weightsOn('bitsandbytes', rank)).toBeCloseTo((blocks + tower) * 0.5625 + rest * 2, 0);
    expect(weightsOn('torchao', rank)).toBeCloseTo(blocks * 0.5625 + (rest + tower) * 2, 0);
  });
});

describe("model states under DeepSpeed's ZeRO engine, whatever the trained dtype", () => {
  // A pure-bf16 preset (torchtune's) at ZeRO-1 over 64 ranks runs on DeepSpeed's engine
  // (sharding/engine.ts): its optimizer steps an fp32 partition, so master 4 and AdamW's two
  // fp32 states 8 bytes an element, over the ranks, where the preset alone steps bf16 (2 + 2).
  const psi = 7.5e9;
  const request = (zeroStage: 0 | 1, gpusPerNode: number) =>
    normalizeRequest({
      model: 'x',
      cluster: { gpu: 'a100-80gb', nodes: 8, gpusPerNode },
      training: { precision: 'bf16-pure', optimizer: 'adamw' },
      parallelism: { zeroStage },
      runtime: { preset: 'torchtune' },
    });

  it('ZeRO-1: an fp32 partition and fp32 states, 12 Psi / Nd', () => {
    const s = modelStates(request(1, 8), rankOf(psi), shardWorld(64, 1));
    expect(s.masterWeights).toBe((4 * psi) / 64);
    expect(s.optimizerStates).toBe((8 * psi) / 64);
  });

  it("ZeRO-0 stays on the preset's own engine: bf16 states, no master copy", () => {
    const s = modelStates(request(0, 8), rankOf(psi), shardWorld(64, 1));
    expect(s.masterWeights).toBe(0);
    expect(s.optimizerStates).toBe(4 * psi);
  });
});

describe('Adafactor over the partitions an engine steps', () => {
  // One 4,096 x 4,096 matrix: factored, an fp32 row and column second moment (4,096 + 4,096
  // elements, Shazeer & Stern 2018); a flat partition of it factors nothing.
  const psi = 4096 * 4096;
  const rank = { ...rankOf(psi), factoredStateElements: 4096 + 4096 };
  const states = (zeroStage: 1 | 3) =>
    modelStates(requestWith(zeroStage, { optimizer: 'adafactor' }), rank, shardWorld(64, 1))
      .optimizerStates;

  it("FSDP2 (ZeRO-3) keeps each matrix's shape: row and column moments over the ranks", () => {
    expect(states(3)).toBe(((4096 + 4096) / 64) * 4);
  });

  it("DeepSpeed's ZeRO-1 steps a flat fp32 partition: a full second moment of it", () => {
    expect(states(1)).toBe((psi / 64) * 4);
  });
});
