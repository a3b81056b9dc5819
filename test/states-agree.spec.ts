// The two ways the planner counts a rank's persistent model states agree: the closed form
// (memory/model-states.ts, checked against the ZeRO paper in its spec) and the timeline's live
// master weights and optimizer states at the plan's peak, for each preset's engine. Each engine
// once kept states the closed form did not (routed experts sharded twice, DeepSpeed's fp32
// states under a pure-bf16 preset, Adafactor over flat partitions).
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import * as states from '../src/engine/memory/model-states';
import { FRAMEWORK_PRESETS, PlanRequestInput, PlanValidationError } from '../src/engine';
import { NARROW_SEQ2SEQ } from './support/seq2seq';

const catalog = loadCatalog();
const SETTINGS: Pick<PlanRequestInput, 'parallelism' | 'training'>[] = [
  { parallelism: { zeroStage: 0 } },
  { parallelism: { zeroStage: 1 } },
  { parallelism: { zeroStage: 2, offload: { optimizer: 'cpu' } } },
  { parallelism: { zeroStage: 3, expertParallel: 4 } },
  {
    parallelism: { zeroStage: 1, pipelineParallel: 2 },
    training: { gradientAccumulationSteps: 4 },
  },
  { parallelism: { zeroStage: 3 }, training: { method: 'lora' } },
  { parallelism: { zeroStage: 1 }, training: { optimizer: 'adafactor' } },
  { parallelism: { zeroStage: 1 }, training: { precision: 'fp32' } },
];
// 1%, or 1 MiB where the states are small (LoRA's): each tensor rounds up to a 512-byte block,
// and fused AdamW keeps a step counter per parameter.
const close = (a: number, b: number) => Math.abs(a - b) <= Math.max(0.01 * b, 2 ** 20);

/** Each rank's closed-form master weights and optimizer states, and the timeline's at its peak. */
function bothCounts(input: PlanRequestInput): [number, number][] | undefined {
  const closed: states.ModelStates[] = [];
  const count = states.modelStates;
  const spy = jest.spyOn(states, 'modelStates').mockImplementation((...args) => {
    const result = count(...args);
    closed.push(result);
    return result;
  });
  try {
    const ranks = estimatePlan(input, catalog).memory.ranks;
    const chunks = closed.length / ranks.length;
    return ranks.map((rank, i) => [
      closed
        .slice(i * chunks, (i + 1) * chunks)
        .reduce((sum, s) => sum + s.masterWeights + s.optimizerStates, 0),
      rank.breakdown.masterWeights + rank.breakdown.optimizerStates,
    ]);
  } catch (error) {
    // A combination the preset's engine refuses (Megatron's ZeRO-2 and up).
    if (error instanceof PlanValidationError) return undefined;
    throw error;
  } finally {
    spy.mockRestore();
  }
}

describe("a rank's master weights and optimizer states: closed form and timeline agree", () => {
  it.each(FRAMEWORK_PRESETS.map((preset) => [preset]))('under preset %s', (preset) => {
    let planned = 0;
    for (const setting of SETTINGS) {
      const counts = bothCounts({
        model: 'mixtral-8x7b',
        cluster: { gpu: 'h200', nodes: 2, gpusPerNode: 8 },
        training: { sequenceLength: 512, activationCheckpointing: 'full', ...setting.training },
        parallelism: setting.parallelism,
        runtime: { preset },
      });
      if (!counts) continue;
      planned += 1;
      for (const [closed, timeline] of counts) {
        expect({ setting, agree: close(timeline, closed) }).toEqual({ setting, agree: true });
      }
    }
    // Megatron's engine refuses ZeRO-2 and 3 (with offload, experts, LoRA here).
    expect(planned).toBe(preset === 'megatron' ? SETTINGS.length - 3 : SETTINGS.length);
  });
});

describe("a vision tower's LoRA adapters: closed form and timeline agree", () => {
  // all-linear adapts every linear; attn.qkv and down_proj name some of the tower's and, for
  // down_proj, the text stack's too, so an adapter on the wrong linear would change the bytes.
  it.each<[PlanRequestInput['parallelism'], string[] | 'all-linear']>([
    [{ zeroStage: 1, pipelineParallel: 2 }, 'all-linear'],
    [{ zeroStage: 3 }, 'all-linear'],
    [{ zeroStage: 1 }, ['attn.qkv', 'down_proj']],
  ])('Qwen2.5-VL-7B, %j, targets %j', (parallelism, targetModules) => {
    const counts = bothCounts({
      model: 'qwen2.5-vl-7b',
      cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 8 },
      training: {
        sequenceLength: 512,
        imagesPerSample: 1,
        method: 'lora',
        lora: { targetModules },
      },
      parallelism,
    });
    expect(counts).toBeDefined();
    for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
  });
});

describe('DeepSpeed ZeRO-3 partitions a vision tower with the rest: closed form and timeline agree', () => {
  // zero.Init partitions every parameter, the tower's too, and the flat fp32 partition holds
  // its master weights and states whether a batch has images or not; the tower had been kept
  // whole on every rank, outside the partition, with no optimizer state at all.
  it.each<[string, 'full' | 'lora', number]>([
    ['full fine-tuning with images', 'full', 1],
    ['full fine-tuning on text alone', 'full', 0],
    ['LoRA on every linear with images', 'lora', 1],
  ])('Qwen2.5-VL-7B, %s', (_label, method, imagesPerSample) => {
    const counts = bothCounts({
      model: 'qwen2.5-vl-7b',
      cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 8 },
      training: {
        sequenceLength: 512,
        imagesPerSample,
        method,
        ...(method === 'lora' ? { lora: { targetModules: 'all-linear' as const } } : {}),
      },
      parallelism: { zeroStage: 3 },
      runtime: { preset: 'deepspeed' },
    });
    expect(counts).toBeDefined();
    for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
  });
});

describe("Nemotron-H's blocks of one module: closed form and timeline agree", () => {
  // Nemotron 3 Nano's block pattern over fewer, narrower blocks: Mamba-2, MoE (experts without
  // a gate in Nemotron 3 Super's latent width, an fp32 router bias), attention and MLP blocks,
  // each holding its module alone.
  const NEMOTRON_H = {
    model_type: 'nemotron_h',
    hidden_size: 512,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 64,
    intermediate_size: 1024,
    vocab_size: 4096,
    hybrid_override_pattern: 'MEM*EM-E',
    mamba_num_heads: 8,
    mamba_head_dim: 64,
    n_routed_experts: 8,
    num_experts_per_tok: 2,
    moe_intermediate_size: 256,
    moe_shared_expert_intermediate_size: 512,
    moe_latent_size: 256,
  };
  it.each(SETTINGS.map((setting) => [setting]))('%j', (setting) => {
    const counts = bothCounts({
      model: NEMOTRON_H,
      cluster: { gpu: 'h200', nodes: 2, gpusPerNode: 8 },
      training: { sequenceLength: 512, activationCheckpointing: 'full', ...setting.training },
      parallelism: setting.parallelism,
    });
    expect(counts).toBeDefined();
    for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
  });
});

// The settings an encoder takes: no pipeline (refused), no experts to spread.
const ENCODER_SETTINGS = SETTINGS.filter(
  ({ parallelism }) => !parallelism?.pipelineParallel && !parallelism?.expertParallel,
);

/** Both counts agree on every rank of `model` under `setting` on 8 H200s, 512 tokens. */
function expectAgreementOn(model: Record<string, unknown>, setting: (typeof SETTINGS)[number]) {
  const counts = bothCounts({
    model,
    cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 8 },
    training: { sequenceLength: 512, ...setting.training },
    parallelism: setting.parallelism,
  });
  expect(counts).toBeDefined();
  for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
}

// A narrow DeBERTa's encoder (either code): 2 layers of 512, its table's positions projected by
// each layer itself.
const NARROW_DEBERTA = {
  hidden_size: 512,
  num_hidden_layers: 2,
  num_attention_heads: 8,
  intermediate_size: 1024,
  vocab_size: 4096,
  relative_attention: true,
  pos_att_type: 'p2c|c2p',
  position_biased_input: false,
};

describe("DeBERTa-v2's relative position table: closed form and timeline agree", () => {
  // Its own position projections: the encoder's table (2 x 256 rows of 512, and its
  // LayerNorm) is a root-unit parameter beside the embedding, about 3 MB of Adam's states and
  // master weights, past the 1% the counts may differ by.
  const DEBERTA = {
    ...NARROW_DEBERTA,
    model_type: 'deberta-v2',
    position_buckets: 256,
    norm_rel_ebd: 'layer_norm',
    share_att_key: false,
  };
  it.each(ENCODER_SETTINGS.map((setting) => [setting]))('%j', (setting) =>
    expectAgreementOn(DEBERTA, setting),
  );
});

describe("DeBERTa-v2's ConvLayer: closed form and timeline agree", () => {
  // The Conv1d (512 x 512 x 3) sits with the encoder's table, outside the layers: 3 MB of
  // Adam's states and master weights a rank, past the 1% margin.
  const DEBERTA_CONV = {
    ...NARROW_DEBERTA,
    model_type: 'deberta-v2',
    position_buckets: 256,
    share_att_key: true,
    conv_kernel_size: 3,
  };
  it.each(ENCODER_SETTINGS.map((setting) => [setting]))('%j', (setting) =>
    expectAgreementOn(DEBERTA_CONV, setting),
  );
});

describe("DeBERTa-v1's attention biases and bias-free pos_proj: closed form and timeline agree", () => {
  // modeling_deberta.py: one bias-free in_proj, q_bias and v_bias beside it, pos_proj without a
  // bias and pos_q_proj with one, a 2 x 512-row table without a LayerNorm.
  const DEBERTA_V1 = { ...NARROW_DEBERTA, model_type: 'deberta' };
  it.each(ENCODER_SETTINGS.map((setting) => [setting]))('%j', (setting) =>
    expectAgreementOn(DEBERTA_V1, setting),
  );
});

describe("BART's and Whisper's stacks' own position tables: closed form and timeline agree", () => {
  // A narrow BART whose decoder's own embed_positions and layernorm_embedding (1,026 rows of
  // 256) are a root-unit parameter beside the shared embedding, past the 1% margin.
  const BART = { ...NARROW_SEQ2SEQ, model_type: 'bart' };
  // mBART's two stack-ending layer_norms besides; M2M100's, its tables buffers that no state
  // may count.
  const cases = ['bart', 'mbart', 'm2m_100'].flatMap((type) =>
    ENCODER_SETTINGS.map((setting) => [type, setting] as const),
  );
  it.each(cases)('%s %j', (type, setting) =>
    expectAgreementOn({ ...BART, model_type: type }, setting),
  );
  // Marian's and Pegasus's tables (4,096 rows of 256 each) are Parameters frozen by the model
  // code, 2 MiB of Adam's states a rank even over 8 ranks: neither count may give them master
  // weights or optimizer states.
  const frozen = ['marian', 'pegasus'].flatMap((type) =>
    ENCODER_SETTINGS.map((setting) => [type, setting] as const),
  );
  it.each(frozen)('%s %j', (type, setting) =>
    expectAgreementOn({ ...BART, model_type: type, max_position_embeddings: 4096 }, setting),
  );
  // Whisper's encoder: two convolutions in the root unit and a frozen table of 4,096 frames
  // (1 MiB of Adam's states it must not get); its decoder's learned table of 512 positions.
  const WHISPER = {
    ...NARROW_SEQ2SEQ,
    model_type: 'whisper',
    max_source_positions: 4096,
    max_target_positions: 512,
  };
  it.each(ENCODER_SETTINGS.map((setting) => [setting]))('whisper %j', (setting) =>
    expectAgreementOn(WHISPER, setting),
  );
});

describe("litgpt's LoRA on fused projections: closed form and timeline agree", () => {
  // litgpt's LoRAQKVLinear adapts each enabled part of its fused qkv, and its fc_1 and fc_2 hold
  // Phi-3's gate_up_proj: counted as PEFT's one adapter per module, the closed form had held
  // fewer states than the timeline (GPT-NeoX's query_key_value: 4 r h a layer, not 6 r h).
  const NEOX = {
    model_type: 'gpt_neox',
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 4,
    num_attention_heads: 16,
    vocab_size: 4096,
    rotary_pct: 0.25,
  };
  it.each<[string, string[] | 'all-linear' | undefined, string | Record<string, unknown>]>([
    ['GPT-NeoX', ['query_key_value'], NEOX],
    ['GPT-NeoX', ['q_proj'], NEOX],
    ["GPT-NeoX, litgpt's default", undefined, NEOX],
    ['Phi-3-mini', 'all-linear', 'phi-3-mini-4k-instruct'],
  ])('%s, targets %j', (_name, targetModules, model) => {
    const counts = bothCounts({
      model: model as PlanRequestInput['model'],
      cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 1 },
      training: {
        sequenceLength: 256,
        method: 'lora',
        lora: { rank: 64, ...(targetModules ? { targetModules } : {}) },
      },
      runtime: { preset: 'litgpt' },
    });
    expect(counts).toBeDefined();
    for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
  });
});

describe('trained parameters no backward reaches: closed form and timeline agree', () => {
  // PyTorch's optimizers make states only for parameters with a .grad (adamw.py _init_group):
  // a tower on text-only batches, Mllama's skipped cross-attention layers, adapters a fused
  // Mamba kernel bypasses. The closed form had counted states for them all.
  it.each<[string, string, PlanRequestInput['training'], 'none' | 'hf-transformers']>([
    ['Gemma-3-4B on text, full fine-tuning', 'gemma-3-4b', { method: 'full' }, 'none'],
    [
      'Gemma-3-4B on text, LoRA on every linear',
      'gemma-3-4b',
      { method: 'lora', lora: { targetModules: 'all-linear' } },
      'hf-transformers',
    ],
    ['Llama-3.2-11B-Vision on text', 'llama-3.2-11b-vision', { method: 'full' }, 'hf-transformers'],
    [
      'Mamba-2.8B, LoRA on every linear',
      'mamba-2.8b',
      { method: 'lora', lora: { targetModules: 'all-linear' } },
      'hf-transformers',
    ],
  ])('%s', (_label, model, training, preset) => {
    const counts = bothCounts({
      model,
      cluster: { gpu: 'h200', nodes: 1, gpusPerNode: 8 },
      training: { sequenceLength: 256, ...training },
      parallelism: { zeroStage: 3 },
      runtime: { preset },
    });
    expect(counts).toBeDefined();
    for (const [closed, timeline] of counts!) expect(close(timeline, closed)).toBe(true);
  });
});
