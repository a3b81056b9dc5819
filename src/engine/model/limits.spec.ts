// The model limits: the largest published shapes pass, one step past a limit fails naming the
// field and the range, and raw config.json numbers are checked before they reach a count.
import { architectureFromConfig } from './architecture';
import { architectureLimitErrors } from './limits';
import { NARROW_DEBERTA } from '../../../test/support/deberta';
import { FieldError, ModelArchitecture, PlanValidationError, VisionTower } from '../vocabulary';

const LLAMA = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
};

/** The field errors architectureFromConfig throws for `config`; none when it maps. */
function errorsOf(config: Record<string, unknown>): FieldError[] {
  try {
    architectureFromConfig('m', config, undefined, 'model');
    return [];
  } catch (error) {
    if (error instanceof PlanValidationError) return error.errors;
    throw error;
  }
}

describe('model limits', () => {
  it('admits the widest and deepest published shapes', () => {
    // Llama-3.1-405B: h 16,384, 126 layers, 128 heads, f 53,248, V 128,256.
    expect(
      errorsOf({
        ...LLAMA,
        hidden_size: 16384,
        num_hidden_layers: 126,
        num_attention_heads: 128,
        intermediate_size: 53248,
      }),
    ).toEqual([]);
    // DeepNet's 1,000-layer transformer (Wang et al. 2022) and Gemma 3's 262,144-row vocabulary.
    expect(errorsOf({ ...LLAMA, num_hidden_layers: 1000, vocab_size: 262144 })).toEqual([]);
  });

  it.each([
    [
      'num_hidden_layers',
      { num_hidden_layers: 1025 },
      'model.numLayers',
      /from 1 to 1024 \(got 1025; num_hidden_layers/,
    ],
    [
      'hidden_size',
      { hidden_size: 65536 + 32, head_dim: 128 },
      'model.hiddenSize',
      /from 1 to 65536/,
    ],
    ['vocab_size', { vocab_size: 1048577 }, 'model.vocabSize', /from 1 to 1048576/],
    [
      'intermediate_size',
      { intermediate_size: 262145 },
      'model.intermediateSize',
      /from 0 to 262144/,
    ],
    [
      'max_position_embeddings',
      { max_position_embeddings: 2 ** 24 + 1 },
      'model.maxPositionEmbeddings',
      /to 16777216/,
    ],
  ])('refuses %s past its limit, naming the field', (_, overrides, field, message) => {
    const errors = errorsOf({ ...LLAMA, ...overrides });
    expect(errors.map((e) => e.field)).toEqual([field]);
    expect(errors[0].message).toMatch(message);
  });

  it('checks the config numbers the mapping reads as they are', () => {
    const bert = {
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      hidden_size: 768,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      vocab_size: 30522,
    };
    expect(errorsOf({ ...bert, type_vocab_size: -1e9 })).toEqual([
      {
        field: 'model.type_vocab_size',
        message: 'must be an integer from 0 to 1048576 (got -1000000000)',
      },
    ]);
    const t5 = {
      model_type: 't5',
      d_model: 512,
      d_ff: 2048,
      num_heads: 8,
      num_layers: 6,
      vocab_size: 32128,
    };
    expect(errorsOf({ ...t5, num_decoder_layers: 1e308 }).map((e) => e.field)).toEqual([
      'model.num_decoder_layers',
    ]);
    // 600 encoder + 600 decoder layers: each in range, together past 1,024.
    expect(errorsOf({ ...t5, num_layers: 600 }).map((e) => e.field)).toEqual(['model.numLayers']);
  });

  it('checks the moe, mla and encoder blocks field by field, unknown fields included', () => {
    expect(errorsOf({ ...LLAMA, mla: { kvLoraRank: 'a' } }).map((e) => e.field)).toEqual([
      'model.mla.qLoraRank',
      'model.mla.kvLoraRank',
      'model.mla.qkNopeHeadDim',
      'model.mla.qkRopeHeadDim',
      'model.mla.vHeadDim',
    ]);
    const moe = {
      numExperts: 8,
      expertsPerToken: 2,
      expertIntermediateSize: 14336,
      sharedExperts: 0,
      sharedExpertIntermediateSize: 0,
      firstDenseLayers: 0,
      routerBias: false,
    };
    expect(errorsOf({ ...LLAMA, moe })).toEqual([]);
    expect(errorsOf({ ...LLAMA, moe: { ...moe, padding: 'x' } })).toEqual([
      { field: 'model.moe.padding', message: "unknown field 'padding'; remove it" },
    ]);
    // More dense layers than layers is every layer dense, as DeepSeek's modeling code reads
    // first_k_dense_replace (layer_idx >= first_k_dense_replace is MoE); past MAX_LAYERS it is
    // out of range.
    expect(errorsOf({ ...LLAMA, moe: { ...moe, firstDenseLayers: 33 } })).toEqual([]);
    expect(
      errorsOf({ ...LLAMA, moe: { ...moe, firstDenseLayers: 1e9 } }).map((e) => e.field),
    ).toEqual(['model.moe.firstDenseLayers']);
    expect(
      errorsOf({ ...LLAMA, encoder: { numLayers: 32, relativeAttentionBuckets: 32 } }),
    ).toEqual([
      {
        field: 'model.encoder.numLayers',
        message: 'must leave decoder layers: below numLayers (32)',
      },
    ]);
  });

  it('refuses a family-built stack past the limit before listing its layers', () => {
    // Gemma 3 and Mamba list a type per layer: a billion layers would be a billion entries.
    for (const model_type of ['gemma3_text', 'mamba']) {
      expect(
        errorsOf({ ...LLAMA, model_type, num_hidden_layers: 1e9 }).map((e) => e.field),
      ).toContain('model.numLayers');
    }
  });

  it('checks the lists and blocks the families add: layer types, layer indices, vision, SSM', () => {
    const arch = architectureFromConfig('m', LLAMA); // 32 layers
    const bent = {
      ...arch,
      layerTypes: [...Array(31).fill('full_attention'), 'diagonal_attention'],
      noRopeLayers: [3, 32],
      moe: {
        numExperts: 8,
        expertsPerToken: 2,
        expertIntermediateSize: 14336,
        sharedExperts: 0,
        sharedExpertIntermediateSize: 0,
        firstDenseLayers: 0,
        routerBias: false,
        layers: [1, 3, 33],
      },
    } as unknown as ModelArchitecture;
    expect(architectureLimitErrors(bent, 'model').map((e) => e.field)).toEqual([
      'model.layerTypes',
    ]);
    bent.layerTypes = undefined;
    // Each index is a layer index, but layers 32 and 33 do not exist in a 32-layer stack.
    expect(architectureLimitErrors(bent, 'model').map((e) => e.field)).toEqual([
      'model.moe.layers',
      'model.noRopeLayers',
    ]);
    const vision = {
      ...arch,
      vision: {
        kind: 'siglip_vision_model',
        layers: 1e9,
        projector: [{ name: 'fc', bias: 1 }],
        deepstack: [{ afterLayer: -1, inFeatures: 8, outFeatures: 8 }],
      },
      ssm: { version: 3 },
    } as unknown as ModelArchitecture;
    const fields = architectureLimitErrors(vision, 'model').map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'model.vision.layers',
        'model.vision.hiddenSize',
        'model.vision.projector.0.inFeatures',
        'model.vision.projector.0.bias',
        'model.vision.deepstack.0.afterLayer',
        'model.ssm.version',
        'model.ssm.stateSize',
      ]),
    );
  });

  it('refuses a model past 1e14 parameters even when each field is in range', () => {
    // 32 layers of 4,096 routed experts, each a gated MLP of h = 8,192 and f = 32,768:
    // 32 x 4,096 x 3 x 8,192 x 32,768 = 1.055e14 expert parameters alone.
    const errors = errorsOf({
      ...LLAMA,
      hidden_size: 8192,
      num_attention_heads: 64,
      num_key_value_heads: 8,
      num_local_experts: 4096,
      moe_intermediate_size: 32768,
      num_experts_per_tok: 2,
    });
    expect(errors).toEqual([
      expect.objectContaining({
        field: 'model.parameters',
        message: expect.stringMatching(/1\.05\de\+14 parameters; at most 1e\+14/),
      }),
    ]);
  });

  it('finds a wrong kind in an architecture given in engine field names', () => {
    const arch = architectureFromConfig('m', LLAMA);
    const bent = { ...arch, norm: 'batchnorm', qkvBias: 'yes' } as unknown as ModelArchitecture;
    expect(architectureLimitErrors(bent, 'model').map((e) => e.field)).toEqual([
      'model.qkvBias',
      'model.norm',
    ]);
  });

  it('refuses a layer type whose mixer has no shape, or no model code that runs it, by the field', () => {
    // An exported architecture in the engine's own names: LFM2's conv layers without a model
    // type whose code runs them had reached Llama's recipe and failed there.
    const own = {
      hiddenSize: 512,
      numLayers: 2,
      numAttentionHeads: 8,
      numKeyValueHeads: 8,
      headDim: 64,
      intermediateSize: 1024,
      vocabSize: 1000,
      maxPositionEmbeddings: 4096,
      mlp: 'gated',
      norm: 'rmsnorm',
      normsPerLayer: 2,
      activation: 'silu',
      layerTypes: ['conv', 'full_attention'],
    };
    const shortConv = { cacheLength: 3, bias: false };
    expect(errorsOf(own).map((e) => e.field)).toEqual(['model.shortConv']);
    const untyped = errorsOf({ ...own, shortConv });
    expect(untyped.map((e) => e.field)).toEqual(['model.modelType']);
    expect(untyped[0].message).toMatch(/'lfm2' or 'lfm2_moe'/);
    expect(errorsOf({ ...own, shortConv, modelType: 'lfm2' })).toEqual([]);
    const deltaNet = { ...own, layerTypes: ['linear_attention', 'full_attention'] };
    expect(errorsOf({ ...deltaNet, modelType: 'qwen3_next' }).map((e) => e.field)).toEqual([
      'model.gatedDelta',
    ]);
  });

  it("DeBERTa-v1's in_proj attention goes with its model type: an exported architecture that parts them is a 400 by field", () => {
    const deberta = architectureFromConfig('d', { ...NARROW_DEBERTA, model_type: 'deberta' });
    const fields = (arch: ModelArchitecture) =>
      architectureLimitErrors(arch, 'model').map((e) => e.field);
    expect(fields(deberta)).toEqual([]);
    expect(fields({ ...deberta, disentangled: undefined })).toEqual(['model.disentangled']);
    expect(fields({ ...deberta, fusedQkv: false })).toEqual(['model.fusedQkv']);
    expect(fields({ ...deberta, modelType: 'deberta-v2' })).toEqual(['model.modelType']);
  });

  it("LLaVA-OneVision's packing needs a base crop, a grid and room for its row newlines: an exported tower that lacks them is a 400 by field", () => {
    const onevision = architectureFromConfig('o', {
      model_type: 'llava_onevision',
      image_grid_pinpoints: [[112, 112]],
      vision_aspect_ratio: 'anyres_max_1',
      text_config: {
        model_type: 'qwen2',
        hidden_size: 256,
        num_attention_heads: 4,
        num_key_value_heads: 2,
      },
      vision_config: { image_size: 56, patch_size: 14, vision_use_head: false },
    });
    const vision = onevision.vision!;
    const fields = (tower: Partial<VisionTower>) =>
      architectureLimitErrors({ ...onevision, vision: { ...vision, ...tower } }, 'model').map(
        (e) => e.field,
      );
    expect(fields({})).toEqual([]);
    expect(fields({ crops: 1 })).toEqual(['model.vision.crops']);
    expect(fields({ tokensPerImage: 16 + 16 })).toEqual(['model.vision.tokensPerImage']);
    expect(fields({ layout: 'clip' })).toEqual(['model.vision.resizedGridTokens']);
  });

  it("Idefics2's connector reads modality_projection's 3 linears and 7 a resampler layer, over whole K/V heads, and hands the text its latents: an exported tower that disagrees is a 400 by field", () => {
    const idefics2 = architectureFromConfig('i', {
      model_type: 'idefics2',
      text_config: {
        model_type: 'mistral',
        hidden_size: 256,
        num_attention_heads: 4,
        num_key_value_heads: 2,
      },
      perceiver_config: { hidden_size: 256, resampler_n_latents: 8, resampler_depth: 2 },
      vision_config: { hidden_size: 64, num_attention_heads: 2, image_size: 56, patch_size: 14 },
    });
    const vision = idefics2.vision!;
    const resampler = vision.resampler!;
    const fields = (tower: Partial<VisionTower>) =>
      architectureLimitErrors({ ...idefics2, vision: { ...vision, ...tower } }, 'model').map(
        (e) => e.field,
      );
    expect(fields({})).toEqual([]);
    expect(vision.projector).toHaveLength(3 + 7 * 2);
    expect(fields({ resampler: { ...resampler, depth: 3 } })).toEqual(['model.vision.projector']);
    expect(fields({ resampler: { ...resampler, kvHeads: 3 } })).toEqual([
      'model.vision.resampler.kvHeads',
    ]);
    expect(fields({ tokensPerImage: 9 })).toEqual(['model.vision.tokensPerImage']);
    expect(fields({ resampler: undefined })).toEqual(['model.vision.resampler']);
    // Idefics3's layout shuffles the patches instead: 16 of them are not 8 tokens either
    expect(fields({ layout: 'idefics3' })).toEqual([
      'model.vision.tokensPerImage',
      'model.vision.resampler',
    ]);
    expect(fields({ resampler: { ...resampler, depth: 0 } })).toEqual([
      'model.vision.resampler.depth',
    ]);
  });

  it("a pixel shuffle folds pixelShuffle^2 patches into a token the projector's first linear reads (Aya Vision's SwiGLU halving linear_1 for linear_2): an exported tower that disagrees is a 400 by field", () => {
    // a 56-px tile in 14-px patches: 4 x 4 patches, 2 x 2 a token: 4 tokens of 4 x 64
    const aya = architectureFromConfig('a', {
      model_type: 'aya_vision',
      alignment_intermediate_size: 512,
      text_config: { model_type: 'llama', hidden_size: 256, num_attention_heads: 4 },
      vision_config: {
        hidden_size: 64,
        num_attention_heads: 2,
        image_size: 56,
        patch_size: 14,
        vision_use_head: false,
      },
    });
    const vision = aya.vision!;
    const [linear1, linear2] = vision.projector;
    const fields = (tower: Partial<VisionTower>) =>
      architectureLimitErrors({ ...aya, vision: { ...vision, ...tower } }, 'model').map(
        (e) => e.field,
      );
    expect(fields({})).toEqual([]);
    expect(fields({ pixelShuffle: 3 })).toEqual(['model.vision.pixelShuffle']);
    expect(fields({ tokensPerImage: 8 })).toEqual(['model.vision.tokensPerImage']);
    expect(fields({ projector: [{ ...linear1, inFeatures: 64 }, linear2] })).toEqual([
      'model.vision.projector',
    ]);
    expect(fields({ projector: [linear1, { ...linear2, inFeatures: 512 }] })).toEqual([
      'model.vision.projector',
    ]);
    // InternVL's class token is sliced off before its shuffle
    expect(fields({ layout: 'internvl', patchesPerImage: 17 })).toEqual([]);
    expect(fields({ layout: 'internvl' })).toEqual(['model.vision.pixelShuffle']);
  });
});
