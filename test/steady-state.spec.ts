// No memory carried from one optimizer step to the next: for every catalog model (its first
// layers) under each data-parallel engine, the third step begins with the bytes the second
// began with and peaks where the second did. A leak here (a unit whose post-backward never ran,
// a checkpoint that kept its inputs, gradients never reduced) grows with every step of a real
// run's simulation and moves the step the plan reports.
import { loadCatalog } from '../src/catalog/catalog';
import { ModelArchitecture, normalizeRequest, PlanRequestInput } from '../src/engine';
import { simulateRankOnce } from '../src/engine/memory/rank';
import { rankChunks } from '../src/engine/memory/schedule';
import { architectureFromConfig } from '../src/engine/model/architecture';
import { firstLayers } from '../src/engine/model/layers';
import { virtualStageSpans } from '../src/engine/model/placement';
import { layoutOf } from '../src/engine/request/layout';
import { validateRequest } from '../src/engine/request/validate';
import { NARROW_SEQ2SEQ } from './support/seq2seq';
import { NARROW_DEBERTA } from './support/deberta';

const catalog = loadCatalog();
const gpu = catalog.findGpu('h200')!;
// DDP rebuilds its buckets in the order gradients became ready after the first step
// (reducer.cpp rebuild_buckets): the rebuilt buckets' rounding differs by a few KiB.
const REBUILT_BUCKETS = 2 ** 20;

type Settings = Omit<PlanRequestInput, 'model' | 'cluster'>;
const SETTINGS: [string, Settings][] = [
  [
    'FSDP2, full checkpointing',
    { parallelism: { zeroStage: 3 }, training: { activationCheckpointing: 'full' } },
  ],
  [
    'DeepSpeed ZeRO-3',
    { parallelism: { zeroStage: 3 }, runtime: { preset: 'deepspeed', zero3LiveParameters: 1000 } },
  ],
  [
    'DDP, selective checkpointing',
    { parallelism: { zeroStage: 0 }, training: { activationCheckpointing: 'selective' } },
  ],
  [
    'LoRA on the head alone, full checkpointing',
    {
      training: {
        method: 'lora',
        activationCheckpointing: 'full',
        lora: { targetModules: ['lm_head'] },
      },
    },
  ],
  [
    'DoRA on every linear, FSDP2',
    {
      parallelism: { zeroStage: 3 },
      training: { method: 'lora', lora: { targetModules: 'all-linear', useDora: true } },
    },
  ],
  [
    "DPO with a reference copy, FSDP2 (TRL's DPOTrainer)",
    {
      parallelism: { zeroStage: 3 },
      training: { preference: 'dpo' },
      runtime: { preset: 'hf-transformers' },
    },
  ],
  [
    'DPO on LoRA (the reference is the policy without its adapters), DeepSpeed ZeRO-3',
    {
      parallelism: { zeroStage: 3 },
      training: {
        preference: 'dpo',
        method: 'lora',
        activationCheckpointing: 'none',
        lora: { targetModules: 'all-linear' },
      },
      runtime: { preset: 'deepspeed', zero3LiveParameters: 1000 },
    },
  ],
  [
    '1F1B over two stages',
    { parallelism: { pipelineParallel: 2 }, training: { gradientAccumulationSteps: 4 } },
  ],
];

const pipelined = (settings: Settings) => (settings.parallelism?.pipelineParallel ?? 1) > 1;
const dpo = (settings: Settings) => settings.training?.preference === 'dpo';

/** Live bytes when steps 2 and 3 begin, and each step's allocated peak, of every rank. */
function steps(model: string, settings: Settings) {
  const whole = catalog.findModel(model)!;
  // Eight layers hold every catalog model's layer pattern (Jamba's period) but T5's stacks.
  return stepsOf(whole.encoder ? whole : firstLayers(whole, 8), model, settings);
}

function stepsOf(arch: ModelArchitecture, model: PlanRequestInput['model'], settings: Settings) {
  const input = { ...settings, model, cluster: { gpu: gpu.id, nodes: 1, gpusPerNode: 8 } };
  const request = normalizeRequest(
    { ...input, training: { sequenceLength: 256, ...settings.training } },
    gpu,
    arch,
  );
  if (validateRequest(request, arch, gpu).length > 0) return [];
  const { pipelineParallel: p } = request.parallelism;
  const spans = virtualStageSpans(arch.numLayers, p, {
    firstStageLessLayers: request.runtime.pipelineFirstStageLessLayers,
    lastStageLessLayers: request.runtime.pipelineLastStageLessLayers,
  });
  return Array.from({ length: p }, (_, rank) => {
    const placement = { chunks: rankChunks(spans, p, rank), rank, virtualStages: spans.length };
    const { log } = simulateRankOnce(request, arch, gpu, layoutOf(request), placement);
    const begins: number[] = [];
    const peaks: number[] = [];
    let live = 0;
    for (let i = 0; i < log.length; i++) {
      const { step } = log.moments[log.moment[i]];
      begins[step] ??= live;
      live += log.kind[i] * log.bytes[i];
      peaks[step] = Math.max(peaks[step] ?? 0, live);
    }
    return { begins, peaks };
  });
}

describe('every catalog model carries nothing from one step to the next', () => {
  it.each(SETTINGS)('%s', (_label, settings) => {
    let simulated = 0;
    for (const model of catalog.modelIds()) {
      for (const { begins, peaks } of steps(model, settings)) {
        simulated += 1;
        const carried = Math.abs(begins[3] - begins[2]);
        const peakMoved = Math.abs(peaks[3] - peaks[2]);
        expect({
          model,
          carried: carried <= REBUILT_BUCKETS,
          peakMoved: peakMoved <= REBUILT_BUCKETS,
        }).toEqual({
          model,
          carried: true,
          peakMoved: true,
        });
      }
    }
    // Every model takes every setting but T5 a pipeline (refused for encoder-decoders), and but
    // the encoder-decoders DPO (a causal LM's objective).
    const encoderDecoders = catalog.modelIds().filter((id) => catalog.findModel(id)!.encoder);
    const refused = settings.training?.preference === 'dpo' ? encoderDecoders.length : 1;
    expect(simulated).toBeGreaterThanOrEqual(catalog.modelIds().length - refused);
  });
});

describe('the encoder-decoders planned from a config carry nothing either', () => {
  // Narrow stacks of each family whose position tables the model code freezes (Marian,
  // Pegasus, Whisper's encoder), holds as buffers (M2M100) or whose every layer has its own
  // bias (UMT5).
  const seq2seq = NARROW_SEQ2SEQ;
  const CONFIGS: Record<string, Record<string, unknown>> = {
    marian: { ...seq2seq, model_type: 'marian', activation_function: 'swish' },
    // Whisper's encoder over 1,500 frames whatever the text, beside a 512-position decoder
    whisper: { ...seq2seq, model_type: 'whisper', max_target_positions: 512 },
    pegasus: { ...seq2seq, model_type: 'pegasus' },
    m2m_100: { ...seq2seq, model_type: 'm2m_100' },
    umt5: { model_type: 'umt5', d_model: 256, d_ff: 512, num_layers: 2, num_heads: 4 },
  };
  // Encoder-decoders take neither a pipeline nor DPO (a causal LM's objective).
  const cases = Object.keys(CONFIGS).flatMap((type) =>
    SETTINGS.filter(([, settings]) => !pipelined(settings) && !dpo(settings)).map(
      ([label, settings]) => [type, label, settings] as const,
    ),
  );
  it.each(cases)('%s, %s', (type, _label, settings) => {
    const config = CONFIGS[type];
    const ranks = stepsOf(architectureFromConfig(type, config), config, settings);
    expect(ranks.length).toBe(1);
    for (const { begins, peaks } of ranks) {
      expect(Math.abs(begins[3] - begins[2])).toBeLessThanOrEqual(REBUILT_BUCKETS);
      expect(Math.abs(peaks[3] - peaks[2])).toBeLessThanOrEqual(REBUILT_BUCKETS);
    }
  });
});

// A 56-px SigLIP tile of 4 x 4 patches, and a narrow text stack, for the vision wrappers.
const NARROW_SIGLIP = {
  model_type: 'siglip_vision_model',
  hidden_size: 128,
  intermediate_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  image_size: 56,
  patch_size: 14,
  vision_use_head: false,
};
const narrowText = (model_type: string) => ({
  model_type,
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1024,
});

describe('DeBERTa, FalconMamba, LLaVA-OneVision, Aya Vision and Idefics2 planned from a config carry nothing either', () => {
  // Narrow models of each: DeBERTa-v1's attention biases and TF-style norms, DeBERTa-v2's
  // ConvLayer after its first layer, FalconMamba's
  // kernel (its saved weight casts under autocast), LLaVA-OneVision's resized grid (56-px crops
  // of 16 patches, a 2 x 2 grid resized to 4 x 4 by anyres_max_1: 36 tokens an image), Aya
  // Vision's pixel-shuffled SwiGLU projector (a 56-px tile: 4 tokens), Idefics2's perceiver
  // resampler (its latents an input the batch expands: 8 tokens an image).
  const CONFIGS: Record<string, Record<string, unknown>> = {
    deberta: { ...NARROW_DEBERTA, model_type: 'deberta' },
    'deberta-v2': {
      ...NARROW_DEBERTA,
      model_type: 'deberta-v2',
      position_buckets: 32,
      conv_kernel_size: 3,
    },
    falcon_mamba: {
      model_type: 'falcon_mamba',
      hidden_size: 256,
      num_hidden_layers: 2,
      vocab_size: 1024,
      tie_word_embeddings: false,
    },
    llava_onevision: {
      model_type: 'llava_onevision',
      image_grid_pinpoints: [[112, 112]],
      vision_aspect_ratio: 'anyres_max_1',
      text_config: narrowText('qwen2'),
      vision_config: NARROW_SIGLIP,
    },
    aya_vision: {
      model_type: 'aya_vision',
      alignment_intermediate_size: 512,
      text_config: narrowText('cohere2'),
      vision_config: NARROW_SIGLIP,
    },
    idefics2: {
      model_type: 'idefics2',
      text_config: narrowText('mistral'),
      perceiver_config: {
        hidden_size: 256,
        resampler_n_latents: 8,
        resampler_depth: 2,
        resampler_n_heads: 4,
        resampler_head_dim: 64,
        num_key_value_heads: 2,
      },
      vision_config: NARROW_SIGLIP,
    },
  };
  // OneVision, Aya Vision and Idefics2 with an image a sample; DeBERTa's head is its masked LM's `decoder` (PEFT finds
  // no lm_head there)
  const planned = (type: string, settings: Settings): Settings => {
    const { training } = settings;
    if (['llava_onevision', 'aya_vision', 'idefics2'].includes(type))
      return { ...settings, training: { ...training, imagesPerSample: 1 } };
    if (!type.startsWith('deberta') || !training?.lora) return settings;
    const headOnly = Array.isArray(training.lora.targetModules);
    const lora = headOnly ? { ...training.lora, targetModules: ['decoder'] } : training.lora;
    return { ...settings, training: { ...training, lora } };
  };
  // DeBERTa is a masked-LM encoder: no DPO.
  const cases = Object.keys(CONFIGS).flatMap((type) =>
    SETTINGS.filter(
      ([, settings]) => !pipelined(settings) && !(type.startsWith('deberta') && dpo(settings)),
    ).map(([label, settings]) => [type, label, settings] as const),
  );
  it.each(cases)('%s, %s', (type, _label, settings) => {
    const config = CONFIGS[type];
    const ranks = stepsOf(architectureFromConfig(type, config), config, planned(type, settings));
    expect(ranks.length).toBe(1);
    for (const { begins, peaks } of ranks) {
      expect(Math.abs(begins[3] - begins[2])).toBeLessThanOrEqual(REBUILT_BUCKETS);
      expect(Math.abs(peaks[3] - peaks[2])).toBeLessThanOrEqual(REBUILT_BUCKETS);
    }
  });
});
