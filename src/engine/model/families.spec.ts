// Each newer family counted by hand from its Hugging Face modeling file, on the real
// config.json files of test/fixtures/configs (sources in that folder's README).
import { readFileSync } from 'fs';
import { join } from 'path';
import { WHISPER_LARGE_V3_CONFIG } from '../inference/architectures.fixture';
import { architectureFromConfig } from './architecture';
import { layerKind } from './layers';
import { countParameters, linearShapes, trainableParameters } from './parameters';
import { TrainingSettings } from '../vocabulary';

/** A SigLIP encoder layer of width v and MLP f (SiglipEncoderLayer): q, k, v and out_proj, fc1
 * and fc2, each with a bias, and two LayerNorms. */
const siglipLayer = (v: number, f: number) =>
  4 * (v * v + v) + (v * f + f) + (f * v + v) + 2 * 2 * v;

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(join(__dirname, '../../../test/fixtures/configs', `${name}.json`), 'utf8'),
  ) as Record<string, unknown>;
const read = (name: string, extra: Record<string, unknown> = {}) =>
  architectureFromConfig(name, { ...fixture(name), ...extra });

describe('Gemma-3 (modeling_gemma3.py, SigLIP in modeling_siglip.py)', () => {
  const arch = read('gemma-3-4b-it');
  it('reads text_config, taking Gemma3TextConfig defaults for the heads it leaves out', () => {
    expect([arch.numAttentionHeads, arch.numKeyValueHeads, arch.headDim]).toEqual([8, 4, 256]);
    expect(arch.vocabSize).toBe(262208);
    expect(arch.tieWordEmbeddings).toBe(true);
  });
  it('slides on five layers of six (sliding_window_pattern 6): layers 5, 11, ... are global', () => {
    const kinds = Array.from({ length: 12 }, (_, i) => layerKind(arch, i).attentionWindow.kind);
    expect(kinds).toEqual([
      ...Array(5).fill('sliding'),
      'full',
      ...Array(5).fill('sliding'),
      'full',
    ]);
    expect(layerKind(arch, 0).attentionWindow).toEqual({ kind: 'sliding', size: 1024 });
  });
  it('4,300,079,472 parameters: 34 text layers, tied embedding, SigLIP tower and projector', () => {
    const h = 2560;
    const attention = h * 8 * 256 + 2 * h * 4 * 256 + 8 * 256 * h + 2 * 256; // + q/k norms
    const layer = attention + 3 * h * 10240 + 4 * h; // four RMSNorms
    const text = 34 * layer + 262208 * h + h;
    const v = 1152;
    const visionLayer = siglipLayer(v, 4304);
    const patches = (896 / 14) ** 2;
    const vision = 27 * visionLayer + (3 * 14 * 14 * v + v) + patches * v + 2 * v;
    const projector = v * h + v; // mm_input_projection_weight and mm_soft_emb_norm
    expect(countParameters(arch).total).toBe(text + vision + projector);
    expect(countParameters(arch).total).toBe(4300079472);
    expect(arch.vision?.tokensPerImage).toBe(256);
  });
});

describe('Llama-4 (modeling_llama4.py)', () => {
  const arch = read('llama-4-scout-17b-16e-instruct');
  it('every layer MoE (interleave step 1), chunked attention on RoPE layers, NoPE on every 4th', () => {
    expect(layerKind(arch, 0)).toMatchObject({
      mlp: 'moe',
      rope: true,
      attentionWindow: { kind: 'chunked', size: 8192 },
    });
    expect(layerKind(arch, 3)).toMatchObject({ rope: false, attentionWindow: { kind: 'full' } });
    expect(linearShapes(arch, 0).map((s) => s.name)).toContain('shared_experts.up_proj');
  });
  it('108,641,793,536 total, 17,172,894,720 active (one routed expert + the shared one)', () => {
    const h = 5120;
    const attention = 2 * h * 40 * 128 + 2 * h * 8 * 128; // no weights in the L2 q/k norm
    const expert = 3 * h * 8192;
    const layer = attention + 16 * expert + expert + h * 16 + 2 * h; // routed, shared, router
    const text = 48 * layer + 2 * 202048 * h + h;
    const w = 1408;
    const visionLayer = 4 * (w * w + w) + (w * 5632 + 5632) + (5632 * w + w) + 2 * 2 * w;
    const embeddings = 3 * 14 * 14 * w + w + (24 * 24 + 1) * w + 4 * w;
    const adapter = 5632 * 4096 + 4096 * 4096 + 4096 * h;
    const counts = countParameters(arch);
    expect(counts.total).toBe(text + 34 * visionLayer + embeddings + adapter);
    expect(counts.total).toBe(108641793536);
    expect(counts.active).toBe(text - 48 * 15 * expert);
    expect(counts.active).toBe(17172894720);
  });
  it('Maverick-style interleave: dense layers take intermediate_size_mlp', () => {
    const maverick = architectureFromConfig('m', {
      model_type: 'llama4_text',
      interleave_moe_layer_step: 2,
      num_local_experts: 128,
    });
    expect([0, 1, 2, 3].map((i) => layerKind(maverick, i).mlp)).toEqual([
      'dense',
      'moe',
      'dense',
      'moe',
    ]);
    expect(maverick.intermediateSize).toBe(16384);
  });
});

describe('Mllama / Llama-3.2-Vision (modeling_mllama.py)', () => {
  const arch = read('llama-3.2-11b-vision-instruct');
  it('cross-attention layers at 3, 8, ..., 38 of 40; the rest self-attention', () => {
    expect(layerKind(arch, 3).mixer).toBe('cross-attention');
    expect(layerKind(arch, 4).mixer).toBe('attention');
  });
  it('10,670,220,835: text with V + 8 embedding rows, gated cross layers, tiled ViT, projector', () => {
    const h = 4096;
    const attention = 2 * h * h + 2 * h * 1024;
    const mlp = 3 * h * 14336;
    const self = attention + mlp + 2 * h;
    const cross = self + 2 * 128 + 2; // q_norm, k_norm and the two tanh gates
    const text = 32 * self + 8 * cross + (128256 + 8) * h + 128256 * h + h;
    const w = 1280;
    const patches = 40 * 40 + 1;
    const layer = 4 * w * w + (w * 5120 + 5120) + (5120 * w + w) + 2 * 2 * w;
    const position = 1 + patches * w + 9 * 4 * patches * w; // gate, table, tile table
    const aspect = 2 * (9 * 4 * w + 1);
    const vision = 40 * layer + 2 * 8 + 3 * 14 * 14 * w + w + position + aspect + 4 * w;
    const projector = 7680 * h + h;
    expect(countParameters(arch).total).toBe(text + vision + projector);
    expect(countParameters(arch).total).toBe(10670220835);
  });
});

describe('Qwen2.5-VL and Qwen2-VL (modeling_qwen2_5_vl.py, modeling_qwen2_vl.py)', () => {
  it('Qwen2.5-VL-7B: text at the root as Qwen2.5-7B plus a 676,550,144-parameter ViT', () => {
    const w = 1280;
    const block = 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + (3 * w * 3420 + 2 * 3420 + w);
    const merger = w + (4 * w * 4 * w + 4 * w) + (4 * w * 3584 + 3584);
    const visual = 3 * 2 * 14 * 14 * w + 32 * block + merger;
    expect(visual).toBe(676550144);
    expect(countParameters(read('qwen2.5-vl-7b-instruct')).total).toBe(7615616512 + visual);
  });
  it('Qwen2-VL: LayerNorms and a plain MLP of 4 x embed_dim; text under text_config works too', () => {
    const arch = architectureFromConfig('q2', {
      model_type: 'qwen2_vl',
      text_config: { hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 28 },
      num_attention_heads: 28,
      num_key_value_heads: 4,
      vision_config: { depth: 32, embed_dim: 1280, hidden_size: 3584, num_heads: 16 },
    });
    const w = 1280;
    const block = 4 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * 4 * w + 4 * w) + (4 * w * w + w);
    const merger = 2 * w + (4 * w * 4 * w + 4 * w) + (4 * w * 3584 + 3584);
    expect(countParameters(arch).vision).toBe(3 * 2 * 14 * 14 * w + 32 * block + merger);
    expect(countParameters(arch).vision).toBe(675759104);
  });
});

describe('Phi-3.5-MoE (modeling_phimoe.py)', () => {
  it('41,873,153,344 total, 6,640,999,744 active: LayerNorms with bias, biased attention and head', () => {
    const h = 4096;
    const attention = 2 * (h * h + h) + 2 * (h * 1024 + 1024);
    const expert = 3 * h * 6400;
    const layer = attention + 16 * expert + h * 16 + 2 * 2 * h;
    const ends = 32064 * h + (32064 * h + 32064) + 2 * h;
    const counts = countParameters(read('phi-3.5-moe-instruct'));
    expect(counts.total).toBe(32 * layer + ends);
    expect(counts.total).toBe(41873153344);
    expect(counts.active).toBe(32 * (layer - 14 * expert) + ends);
  });
});

describe('gpt-oss (modeling_gpt_oss.py)', () => {
  const arch = read('gpt-oss-20b');
  it('sinks, biased experts and router, sliding (128) and full layers alternating', () => {
    expect(layerKind(arch, 0)).toMatchObject({
      sinks: true,
      attentionWindow: { kind: 'sliding', size: 128 },
    });
    expect(layerKind(arch, 1).attentionWindow.kind).toBe('full');
  });
  it('20,914,757,184 total; 3,608,304,384 active without the embedding table', () => {
    const h = 2880;
    const attention = h * 4096 + 4096 + 2 * (h * 512 + 512) + (4096 * h + h) + 64; // + sinks
    const expert = h * 2 * 2880 + 2 * 2880 + 2880 * h + h; // gate_up and down with biases
    const layer = attention + 32 * expert + (h * 32 + 32) + 2 * h;
    const counts = countParameters(arch);
    expect(counts.total).toBe(24 * layer + 2 * 201088 * h + h);
    expect(counts.total).toBe(20914757184);
    expect(counts.active - counts.embedding).toBe(24 * (layer - 28 * expert) + 201088 * h + h);
  });
});

describe('Mamba, FalconMamba and Mamba-2 (modeling_mamba.py, modeling_falcon_mamba.py, modeling_mamba2.py)', () => {
  it('mamba-2.8b: 2,768,345,600 with tied embeddings; no attention, no MLP', () => {
    const arch = read('mamba-2.8b-hf');
    expect(layerKind(arch, 0)).toMatchObject({ mixer: 'mamba', mlp: 'none' });
    const h = 2560;
    const d = 5120; // expand 2
    const mixer = h * 2 * d + (d * 4 + d) + d * (160 + 2 * 16) + (160 * d + d) + d * 16 + d + d * h;
    expect(countParameters(arch).total).toBe(64 * (mixer + h) + 50280 * h + h);
    expect(countParameters(arch).total).toBe(2768345600);
  });
  it('Mamba-2 with Mamba2Config defaults: in_proj makes z, x, B, C and dt; 7,285,403,648', () => {
    const arch = architectureFromConfig('m2', { model_type: 'mamba2' });
    const h = 4096;
    const d = 8192; // 128 heads x 64
    const convDim = d + 2 * 8 * 128;
    const mixer = h * (d + convDim + 128) + (convDim * 4 + convDim) + 3 * 128 + d + d * h;
    expect(countParameters(arch).total).toBe(64 * (mixer + h) + 2 * 32768 * h + h);
    expect(countParameters(arch).total).toBe(7285403648);
  });
  it("FalconMamba-7B (tiiuae/falcon-mamba-7b's config.json: intermediate_size 8,192 read over expand 16): Mamba-1's modules, 7,272,665,088 parameters", () => {
    const config = {
      model_type: 'falcon_mamba',
      hidden_size: 4096,
      num_hidden_layers: 64,
      expand: 16,
      intermediate_size: 8192,
      state_size: 16,
      time_step_rank: 256,
      vocab_size: 65024,
      tie_word_embeddings: false,
    };
    const d = 8192;
    const inProjection = 4096 * 2 * d;
    const conv = d * 4 + d; // conv1d and its bias
    const xProjection = d * (256 + 2 * 16);
    const dtProjection = 256 * d + d;
    const aAndD = d * 16 + d;
    const outProjection = d * 4096;
    const layer = inProjection + conv + xProjection + dtProjection + aAndD + outProjection + 4096;
    const total = 64 * layer + 2 * 65024 * 4096 + 4096;
    expect(total).toBe(7_272_665_088); // the model card's 7.27B
    expect(countParameters(architectureFromConfig('falcon-mamba-7b', config)).total).toBe(total);
  });
});

describe('Jamba (modeling_jamba.py)', () => {
  const arch = read('ai21-jamba-1.5-mini');
  it('attention on layers 4, 12, 20, 28; MoE on odd layers', () => {
    expect([3, 4, 5].map((i) => layerKind(arch, i).mixer)).toEqual(['mamba', 'attention', 'mamba']);
    expect([4, 5].map((i) => layerKind(arch, i).mlp)).toEqual(['dense', 'moe']);
  });
  it('51,570,323,328 total, 12,110,311,296 active', () => {
    const h = 4096;
    const d = 8192;
    const mamba =
      h * 2 * d + (d * 4 + d) + d * (256 + 32) + (256 * d + d) + d * 16 + d + d * h + 256 + 32;
    const attention = 2 * h * h + 2 * h * 1024;
    const mlp = 3 * h * 14336;
    const moe = 16 * mlp + h * 16;
    const layers = 4 * (attention + mlp) + 12 * (mamba + mlp) + 16 * (mamba + moe) + 32 * 2 * h;
    const counts = countParameters(arch);
    expect(counts.total).toBe(layers + 2 * 65536 * h + h);
    expect(counts.total).toBe(51570323328);
    expect(counts.active).toBe(counts.total - 16 * 14 * mlp);
  });
});

describe('DeepSeek-V3 multi-token prediction (DeepSeek-V3 report, section 2.2)', () => {
  it('off by default, with a note; "use_mtp" adds a MoE layer, enorm, hnorm and eh_proj', () => {
    const main = read('deepseek-v3');
    expect(countParameters(main).total).toBe(671026419200);
    expect(main.notes?.[0]).toContain('"use_mtp": true');
    const withMtp = read('deepseek-v3', { use_mtp: true });
    const lastLayer = countParameters(main).layers[60].total; // a MoE layer like the module's
    const h = 7168;
    expect(countParameters(withMtp).total).toBe(671026419200 + lastLayer + 2 * h + 2 * h * h);
    expect(layerKind(withMtp, 61)).toMatchObject({ mtp: true, mlp: 'moe' });
  });
});

describe('layer kinds', () => {
  it('repeat: one key per distinct layer kind', () => {
    const keys = (name: string) => {
      const arch = read(name);
      return new Set(Array.from({ length: arch.numLayers }, (_, i) => layerKind(arch, i).key));
    };
    expect(keys('llama-3.1-8b').size).toBe(1);
    expect(keys('gemma-3-4b-it').size).toBe(2);
    expect(keys('ai21-jamba-1.5-mini').size).toBe(3); // attention-dense, mamba-dense, mamba-moe
  });
});

describe('Granite 3.x (modeling_granite.py)', () => {
  // ibm-granite/granite-3.1-2b-base's config.json fields as a public test quotes them ("verified
  // against the actual HF repo"; code corpus, file id 67230532277).
  const GRANITE_3_1_2B = {
    model_type: 'granite',
    hidden_size: 2048,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    intermediate_size: 8192,
    num_hidden_layers: 40,
    rms_norm_eps: 1e-5,
    vocab_size: 49152,
    max_position_embeddings: 131072,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    rope_theta: 5_000_000.0,
    attention_multiplier: 0.015625,
    embedding_multiplier: 12.0,
    logits_scaling: 8.0,
    residual_multiplier: 0.22,
    attention_bias: false,
    mlp_bias: false,
    attention_dropout: 0.1,
  };

  it("Llama's layer with grouped K/V and a tied embedding, counted by hand", () => {
    const h = 2048;
    const attention = 2 * h * h + 2 * h * (8 * 64); // q and o; k and v over 8 heads of 64
    const layer = attention + 3 * h * 8192 + 2 * h;
    const counts = countParameters(architectureFromConfig('granite', GRANITE_3_1_2B));
    expect(counts.total).toBe(40 * layer + 49152 * h + h);
  });

  it('reads attention_dropout, which its eager attention applies in training', () => {
    const arch = architectureFromConfig('granite', GRANITE_3_1_2B);
    expect(arch.dropout?.attention).toBe(0.1);
    expect(arch.tieWordEmbeddings).toBe(true);
  });
});

describe('Cohere2 / Command R7B (modeling_cohere2.py)', () => {
  // CohereForAI/c4ai-command-r7b-12-2024's shape (Cohere2Config defaults fill the rest).
  const COMMAND_R7B = {
    model_type: 'cohere2',
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 256000,
    logit_scale: 0.25,
    sliding_window: 4096,
    sliding_window_pattern: 4,
  };

  it('every 4th layer full attention without RoPE, the others sliding with RoPE', () => {
    const arch = architectureFromConfig('command-r7b', COMMAND_R7B);
    expect(arch.noRopeLayers).toEqual([3, 7, 11, 15, 19, 23, 27, 31]);
    expect(layerKind(arch, 3).attentionWindow).toEqual({ kind: 'full' });
    expect(layerKind(arch, 4).attentionWindow).toEqual({ kind: 'sliding', size: 4096 });
    expect([layerKind(arch, 3).rope, layerKind(arch, 4).rope]).toEqual([false, true]);
  });

  it('one bias-free LayerNorm a layer and a tied embedding, counted by hand', () => {
    const h = 4096;
    const layer = 2 * h * h + 2 * h * 1024 + 3 * h * 14336 + h;
    const counts = countParameters(architectureFromConfig('command-r7b', COMMAND_R7B));
    expect(counts.total).toBe(32 * layer + 256000 * h + h);
  });
});

describe('SmolLM3 (modeling_smollm3.py)', () => {
  // HuggingFaceTB/SmolLM3-3B's shape, which SmolLM3Config's defaults spell out.
  const SMOLLM3_3B = { model_type: 'smollm3' };

  it('the config defaults give 36 layers and a tied embedding, counted by hand', () => {
    const h = 2048;
    const layer = 2 * h * h + 2 * h * 512 + 3 * h * 11008 + 2 * h;
    const counts = countParameters(architectureFromConfig('smollm3-3b', SMOLLM3_3B));
    expect(counts.total).toBe(36 * layer + 128256 * h + h);
  });

  it('NoPE on every 4th layer; with use_sliding_window those layers slide', () => {
    const arch = architectureFromConfig('smollm3-3b', SMOLLM3_3B);
    expect(arch.noRopeLayers).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35]);
    expect(layerKind(arch, 3).attentionWindow).toEqual({ kind: 'full' });
    const sliding = architectureFromConfig('smollm3-3b', {
      ...SMOLLM3_3B,
      use_sliding_window: true,
      sliding_window: 2048,
    });
    expect(layerKind(sliding, 3).attentionWindow).toEqual({ kind: 'sliding', size: 2048 });
    expect(layerKind(sliding, 4).attentionWindow).toEqual({ kind: 'full' });
  });
});

describe('OLMo-3 (modeling_olmo3.py)', () => {
  // The 7B shape (Olmo3Config fields; layer_types left to __post_init__'s rule).
  const OLMO3_7B = {
    model_type: 'olmo3',
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    vocab_size: 100278,
    tie_word_embeddings: false,
    sliding_window: 4096,
  };

  it('three sliding layers (4,096) to each full one', () => {
    const arch = architectureFromConfig('olmo-3-7b', OLMO3_7B);
    const windows = [0, 1, 2, 3].map((i) => layerKind(arch, i).attentionWindow.kind);
    expect(windows).toEqual(['sliding', 'sliding', 'sliding', 'full']);
  });

  it("OLMo-2's parameters: q/k norms over the whole projections, two post norms, untied head", () => {
    const h = 4096;
    const layer = 4 * h * h + 2 * h + 3 * h * 11008 + 2 * h;
    const counts = countParameters(architectureFromConfig('olmo-3-7b', OLMO3_7B));
    expect(counts.total).toBe(32 * layer + 2 * 100278 * h + h);
  });
});

describe('GLM-4 (modular_glm.py, modular_glm4.py)', () => {
  // GlmConfig's defaults, glm-4-9b-chat's shape.
  const GLM_4_9B = {
    model_type: 'glm',
    hidden_size: 4096,
    intermediate_size: 13696,
    num_hidden_layers: 40,
    num_attention_heads: 32,
    num_key_value_heads: 2,
    head_dim: 128,
    vocab_size: 151552,
    attention_bias: true,
    partial_rotary_factor: 0.5,
    tie_word_embeddings: false,
  };
  const h = 4096;
  const kv = 2 * 128;
  // q, k and v with biases, o_proj without; gate_up_proj (h -> 2f) and down_proj
  const attention = h * h + h + 2 * (h * kv + kv) + h * h;
  const mlp = h * 2 * 13696 + 13696 * h;
  const ends = 2 * 151552 * h + h;

  it('glm-4-9b: 9,399,951,360 parameters (o_proj has no bias though attention_bias is set)', () => {
    const counts = countParameters(architectureFromConfig('glm-4-9b', GLM_4_9B));
    expect(counts.total).toBe(40 * (attention + mlp + 2 * h) + ends);
    expect(counts.total).toBe(9399951360);
  });

  it('GLM-4-0414 (glm4): two more norms a layer, after attention and after the MLP', () => {
    const arch = architectureFromConfig('glm-4-0414', { ...GLM_4_9B, model_type: 'glm4' });
    expect(countParameters(arch).total).toBe(40 * (attention + mlp + 4 * h) + ends);
  });
});

describe('ERNIE 4.5 (modular_ernie4_5.py)', () => {
  // Ernie4_5Config's defaults, the 0.3B shape: 16 heads of 128 over a hidden size of 1,024.
  const ERNIE_03B = {
    model_type: 'ernie4_5',
    hidden_size: 1024,
    intermediate_size: 3072,
    num_hidden_layers: 18,
    num_attention_heads: 16,
    num_key_value_heads: 2,
    head_dim: 128,
    vocab_size: 103424,
    tie_word_embeddings: true,
    use_bias: false,
  };

  it('ERNIE-4.5-0.3B: 360,748,032 parameters (0.36B), tied embeddings', () => {
    const h = 1024;
    const attention = h * 16 * 128 + 2 * h * 2 * 128 + 16 * 128 * h;
    const layer = attention + 3 * h * 3072 + 2 * h;
    const counts = countParameters(architectureFromConfig('ernie-4.5-0.3b', ERNIE_03B));
    expect(counts.total).toBe(18 * layer + 103424 * h + h);
    expect((counts.total / 1e9).toFixed(2)).toBe('0.36'); // the model card's 0.36B
  });

  it('use_bias puts a bias on every projection', () => {
    const h = 1024;
    const withBias = { ...ERNIE_03B, use_bias: true };
    const biases = 16 * 128 + 2 * 2 * 128 + h + 2 * 3072 + h; // q, k, v, o, gate, up, down
    const counts = (config: typeof withBias) =>
      countParameters(architectureFromConfig('ernie', config)).total;
    expect(counts(withBias) - counts(ERNIE_03B)).toBe(18 * biases);
  });
});

describe('ERNIE 4.5 MoE (modular_ernie4_5_moe.py)', () => {
  // ERNIE-4.5-21B-A3B's config.json: 28 layers, the first dense, 64 experts of 1,536 choosing
  // 6, two shared experts fused into one MLP of 3,072, tied embeddings.
  const ERNIE_21B = {
    model_type: 'ernie4_5_moe',
    hidden_size: 2560,
    intermediate_size: 12288,
    moe_intermediate_size: 1536,
    moe_k: 6,
    moe_num_experts: 64,
    moe_num_shared_experts: 2,
    moe_layer_start_index: 1,
    moe_layer_end_index: 27,
    moe_layer_interval: 1,
    num_hidden_layers: 28,
    num_attention_heads: 20,
    num_key_value_heads: 4,
    head_dim: 128,
    vocab_size: 103424,
    tie_word_embeddings: true,
    use_bias: false,
  };

  it('ERNIE-4.5-21B-A3B: 21.8B parameters, 3.4B active (the card: 21B total, 3B activated)', () => {
    const h = 2560;
    const attention = h * 20 * 128 + 2 * h * 4 * 128 + 20 * 128 * h;
    const norms = 2 * h;
    const denseLayer = attention + norms + 3 * h * 12288;
    const expert = 3 * h * 1536;
    // the router [64, h], its fp32 correction bias [1, 64] (a frozen nn.Parameter), the
    // experts and the shared MLP
    const sparseShared = attention + norms + 64 * h + 64 + 3 * h * 2 * 1536;
    const ends = 103424 * h + h; // tied embedding, final norm
    const counts = countParameters(architectureFromConfig('ernie-4.5-21b-a3b', ERNIE_21B));
    expect(counts.total).toBe(ends + denseLayer + 27 * (sparseShared + 64 * expert));
    expect(counts.active).toBe(ends + denseLayer + 27 * (sparseShared + 6 * expert));
    // the card's 21B total and 3B activated, to the billion
    expect(Math.floor(counts.total / 1e9)).toBe(21);
    expect(Math.floor(counts.active / 1e9)).toBe(3);
  });
});

describe('HunYuan MoE v1 (modular_hunyuan_v1_moe.py)', () => {
  // Hunyuan-A13B's shape: 32 layers, GQA with 8 K/V heads of 128, 64 experts choosing 8 (per
  // layer in its config), a shared MLP, all of intermediate_size 3,072, tied embeddings.
  const HUNYUAN_A13B = {
    model_type: 'hunyuan_v1_moe',
    hidden_size: 4096,
    intermediate_size: 3072,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128,
    num_experts: 64,
    moe_topk: Array.from({ length: 32 }, () => 8),
    vocab_size: 128167,
    tie_word_embeddings: true,
  };

  it('Hunyuan-A13B: 80B parameters, 13B active (the card: 80B total, 13B active)', () => {
    const h = 4096;
    const attention = 2 * h * h + 2 * h * 8 * 128;
    const norms = 2 * h + 2 * 128; // input and post-attention norms, query and key layernorms
    const mlp = 3 * h * 3072; // an expert's or the shared MLP's gate, up and down
    const layer = (experts: number) => attention + norms + 64 * h + (experts + 1) * mlp;
    const ends = 128167 * h + h;
    const counts = countParameters(architectureFromConfig('hunyuan-a13b', HUNYUAN_A13B));
    expect(counts.total).toBe(ends + 32 * layer(64));
    expect(counts.active).toBe(ends + 32 * layer(8));
    expect(Math.floor(counts.total / 1e9)).toBe(80);
    expect(Math.round(counts.active / 1e9)).toBe(13);
  });

  it('refuses, by the field, experts that differ between layers', () => {
    const config = { ...HUNYUAN_A13B, moe_topk: [8, 4] };
    expect(() => architectureFromConfig('hunyuan', config)).toThrow(/moe_topk/);
  });
});

describe('GPT-J (modeling_gptj.py)', () => {
  // EleutherAI/gpt-j-6b's config.json: 28 layers of 4,096 with 16 heads, rotary_dim 64, an MLP
  // of 4 x 4,096 (n_inner null), 50,400 tokens, an untied biased head.
  const GPTJ_6B = {
    model_type: 'gptj',
    n_embd: 4096,
    n_layer: 28,
    n_head: 16,
    n_inner: null,
    rotary_dim: 64,
    n_positions: 2048,
    vocab_size: 50400,
    activation_function: 'gelu_new',
    tie_word_embeddings: false,
  };

  it('GPT-J-6B: 6.05B parameters, q, k, v and out_proj unbiased, fc_in, fc_out and lm_head biased', () => {
    const h = 4096;
    const f = 4 * h;
    const layer = 4 * h * h + (h * f + f) + (f * h + h) + 2 * h; // attention, MLP, ln_1
    const ends = 50400 * h + 2 * h + (50400 * h + 50400); // wte, ln_f, lm_head with its bias
    const counts = countParameters(architectureFromConfig('gpt-j-6b', GPTJ_6B));
    expect(counts.total).toBe(ends + 28 * layer);
    expect((counts.total / 1e9).toFixed(2)).toBe('6.05'); // the Hub's 6.05B
  });
});

describe('EXAONE 4.0 (modular_exaone4.py)', () => {
  // A 1.2B-class shape: 30 full-attention layers, GQA with 8 K/V heads of 64, tied embeddings.
  const EXAONE = {
    model_type: 'exaone4',
    hidden_size: 2048,
    intermediate_size: 4096,
    num_hidden_layers: 30,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    vocab_size: 102400,
    tie_word_embeddings: true,
    sliding_window: null,
    layer_types: Array<string>(30).fill('full_attention'),
  };

  it('parameters: two norms a layer and per-head q/k norms of head_dim', () => {
    const h = 2048;
    const attention = 2 * h * 32 * 64 + 2 * h * 8 * 64;
    const layer = attention + 3 * h * 4096 + 2 * h + 2 * 64;
    const counts = countParameters(architectureFromConfig('exaone-4.0', EXAONE));
    expect(counts.total).toBe(30 * layer + 102400 * h + h);
  });

  it('without a sliding window every layer rotates; a hybrid one rotates its sliding layers only', () => {
    expect(architectureFromConfig('exaone-4.0', EXAONE).noRopeLayers).toBeUndefined();
    const hybrid = architectureFromConfig('exaone-4.0-hybrid', {
      ...EXAONE,
      num_hidden_layers: 8,
      sliding_window: 4096,
      sliding_window_pattern: 'LLLG',
      layer_types: undefined,
    });
    expect(hybrid.layerTypes?.map((t) => t[0])).toEqual(['s', 's', 's', 'f', 's', 's', 's', 'f']);
    expect(hybrid.noRopeLayers).toEqual([3, 7]);
  });
});

describe('HunYuan dense v1 (modular_hunyuan_v1_dense.py)', () => {
  it('a 0.5B shape: per-head q/k norms of head_dim on top of Llama, tied embeddings', () => {
    const config = {
      model_type: 'hunyuan_v1_dense',
      hidden_size: 1024,
      intermediate_size: 3584,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 128,
      vocab_size: 120818,
      tie_word_embeddings: true,
    };
    const h = 1024;
    const attention = 2 * h * 16 * 128 + 2 * h * 8 * 128;
    const layer = attention + 3 * h * 3584 + 2 * h + 2 * 128;
    const counts = countParameters(architectureFromConfig('hunyuan-0.5b', config));
    expect(counts.total).toBe(24 * layer + 120818 * h + h);
  });
});

describe('OLMo-1 (modular_olmo.py)', () => {
  // OLMo-1B's shape: OlmoLayerNorm has no parameters, the head is tied.
  const OLMO_1B = {
    model_type: 'olmo',
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    vocab_size: 50304,
    tie_word_embeddings: true,
    clip_qkv: null,
  };

  it('OLMo-1B: 1,176,764,416 parameters, no norm weights', () => {
    const h = 2048;
    const layer = 4 * h * h + 3 * h * 8192;
    const counts = countParameters(architectureFromConfig('olmo-1b', OLMO_1B));
    expect(counts.total).toBe(16 * layer + 50304 * h);
    expect(counts.total).toBe(1176764416);
  });
});

describe('OLMoE (modular_olmoe.py)', () => {
  // OLMoE-1B-7B's shape: 64 experts of 1,024, eight a token, untied head.
  const OLMOE_1B_7B = {
    model_type: 'olmoe',
    hidden_size: 2048,
    intermediate_size: 1024,
    num_hidden_layers: 16,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    num_experts: 64,
    num_experts_per_tok: 8,
    vocab_size: 50304,
    tie_word_embeddings: false,
    clip_qkv: null,
  };

  it('6.9B parameters, 1.3B active (the OLMoE paper): 64 experts of 1,024, eight a token', () => {
    const h = 2048;
    const attention = 4 * h * h + h + h; // q, k, v, o and q_norm (h), k_norm (16 x 128)
    const expert = 3 * h * 1024;
    const layer = (experts: number) => attention + experts * expert + h * 64 + 2 * h;
    const ends = 2 * 50304 * h + h;
    const counts = countParameters(architectureFromConfig('olmoe-1b-7b', OLMOE_1B_7B));
    expect(counts.total).toBe(16 * layer(64) + ends);
    expect(counts.active).toBe(16 * layer(8) + ends);
    expect([counts.total / 1e9, counts.active / 1e9].map((b) => b.toFixed(2))).toEqual([
      '6.92',
      '1.28',
    ]);
  });

  it('refuses clip_qkv, whose in-place clamps it does not model, by the field', () => {
    expect(() => architectureFromConfig('olmoe-clipped', { ...OLMOE_1B_7B, clip_qkv: 8 })).toThrow(
      /clip_qkv/,
    );
  });
});

describe('GLM-4.7-Flash (modeling_glm4_moe_lite.py, transformers v5)', () => {
  // Glm4MoeLiteConfig's defaults, GLM-4.7-Flash's shape: h 2,048, 20 heads, multi-latent
  // attention (q_lora_rank 768, kv_lora_rank 512, nope 192 + rope 64, v 256), a dense first
  // layer of 10,240 and 46 sparse ones: 64 experts of 1,536, top 4, one shared, an fp32 bias.
  const h = 2048;
  const attention =
    h * 768 + 768 + 768 * 20 * 256 + h * (512 + 64) + 512 + 512 * 20 * (192 + 256) + 20 * 256 * h;
  const expert = 3 * h * 1536;
  const sparse = 64 * h + 64 + expert + 64 * expert; // router and its bias, shared, routed

  it("29,943,393,920 parameters at Glm4MoeLiteConfig's defaults, the MTP layer not loaded", () => {
    const arch = architectureFromConfig('glm-4.7-flash', {
      model_type: 'glm4_moe_lite',
      num_nextn_predict_layers: 1,
    });
    const dense = attention + 3 * h * 10240 + 2 * h;
    const total = dense + 46 * (attention + sparse + 2 * h) + 2 * 154880 * h + h;
    expect(countParameters(arch).total).toBe(total);
    expect(arch.moe).toMatchObject({
      router: 'grouped-sigmoid',
      routerBiasFp32: true,
      renormalize: true,
      expertsPerToken: 4,
    });
    expect(arch.notes?.join(' ')).toMatch(/multi-token-prediction module.*Glm4MoeLiteModel/);
  });

  it('routes on the layers mlp_layer_types calls sparse, and refuses a list it cannot read', () => {
    const types = ['dense', 'dense', 'sparse', 'sparse'];
    const config = { model_type: 'glm4_moe_lite', num_hidden_layers: 4, mlp_layer_types: types };
    expect(architectureFromConfig('glm', config).moe?.layers).toEqual([2, 3]);
    const short = { ...config, mlp_layer_types: ['dense', 'sparse'] };
    expect(() => architectureFromConfig('glm', short)).toThrow(/config.mlp_layer_types/);
  });
});

describe('GLM-4.5 (modular_glm4_moe.py)', () => {
  // GLM-4.5-Air's config.json (zai-org/GLM-4.5-Air) as it is published.
  const GLM_45_AIR = {
    model_type: 'glm4_moe',
    attention_bias: true,
    head_dim: 128,
    hidden_size: 4096,
    intermediate_size: 10944,
    moe_intermediate_size: 1408,
    num_attention_heads: 96,
    num_key_value_heads: 8,
    num_hidden_layers: 46,
    n_routed_experts: 128,
    n_shared_experts: 1,
    num_experts_per_tok: 8,
    first_k_dense_replace: 1,
    n_group: 1,
    topk_group: 1,
    norm_topk_prob: true,
    routed_scaling_factor: 1.0,
    partial_rotary_factor: 0.5,
    num_nextn_predict_layers: 1,
    use_qk_norm: false,
    tie_word_embeddings: false,
    vocab_size: 151552,
  };

  it('GLM-4.5-Air: 106.9B parameters, 12.2B active past the embeddings (the card: 106B, 12B)', () => {
    const h = 4096;
    const q = 96 * 128;
    const kv = 8 * 128;
    // q, k, v with biases, o_proj without (Glm4MoeAttention); two RMSNorms.
    const attention = h * q + q + 2 * (h * kv + kv) + q * h + 2 * h;
    const mlp = (width: number) => 3 * h * width;
    // Router weight, its e_score_correction_bias (one per expert), one shared MLP.
    const moe = (experts: number) => experts * mlp(1408) + mlp(1408) + 128 * h + 128;
    const ends = 2 * 151552 * h + h;
    const counts = countParameters(architectureFromConfig('glm-4.5-air', GLM_45_AIR));
    const dense = attention + mlp(10944);
    expect(counts.total).toBe(dense + 45 * (attention + moe(128)) + ends);
    expect(counts.active).toBe(dense + 45 * (attention + moe(8)) + ends);
    const embeddings = 2 * 151552 * h;
    expect((counts.total / 1e9).toFixed(1)).toBe('106.9');
    expect(((counts.active - embeddings) / 1e9).toFixed(1)).toBe('12.2');
  });

  it('GLM-4.5: per-head q/k norms of head_dim, 160 experts, three dense layers; 32.1B active past the embeddings (the card: 32B)', () => {
    const config = {
      ...GLM_45_AIR,
      hidden_size: 5120,
      intermediate_size: 12288,
      moe_intermediate_size: 1536,
      num_hidden_layers: 92,
      n_routed_experts: 160,
      first_k_dense_replace: 3,
      routed_scaling_factor: 2.5,
      use_qk_norm: true,
    };
    const h = 5120;
    const q = 96 * 128;
    const kv = 8 * 128;
    const attention = h * q + q + 2 * (h * kv + kv) + q * h + 2 * 128 + 2 * h;
    const mlp = (width: number) => 3 * h * width;
    const moe = (experts: number) => experts * mlp(1536) + mlp(1536) + 160 * h + 160;
    const ends = 2 * 151552 * h + h;
    const arch = architectureFromConfig('glm-4.5', config);
    const counts = countParameters(arch);
    expect(counts.total).toBe(3 * (attention + mlp(12288)) + 89 * (attention + moe(160)) + ends);
    expect(counts.active).toBe(3 * (attention + mlp(12288)) + 89 * (attention + moe(8)) + ends);
    expect(((counts.active - 2 * 151552 * h) / 1e9).toFixed(1)).toBe('32.1');
    expect(arch.notes?.join(' ')).toMatch(
      /1 multi-token-prediction module\(s\).*Glm4MoeModel drops them/,
    );
  });

  it("routes with DeepSeek-V3's router and keeps its fp32 correction bias", () => {
    const moe = architectureFromConfig('glm-4.5-air', GLM_45_AIR).moe;
    expect(moe).toMatchObject({
      router: 'grouped-sigmoid',
      routerBias: true,
      routerBiasFp32: true,
    });
    // norm_topk_prob: the config's, else Glm4MoeConfig's True.
    const { norm_topk_prob: _given, ...unstated } = GLM_45_AIR;
    expect(architectureFromConfig('a', unstated).moe?.renormalize).toBe(true);
    const undivided = { ...GLM_45_AIR, norm_topk_prob: false };
    expect(architectureFromConfig('b', undivided).moe?.renormalize).toBe(false);
  });
});

describe('Mistral Small 3.1 (modular_mistral3.py, modeling_pixtral.py)', () => {
  // mistralai/Mistral-Small-3.1-24B-Instruct-2503's config.json, the keys the planner reads.
  const MISTRAL_SMALL_3_1 = {
    model_type: 'mistral3',
    multimodal_projector_bias: false,
    spatial_merge_size: 2,
    text_config: {
      model_type: 'mistral',
      head_dim: 128,
      hidden_size: 5120,
      intermediate_size: 32768,
      num_attention_heads: 32,
      num_hidden_layers: 40,
      num_key_value_heads: 8,
      sliding_window: null,
      vocab_size: 131072,
    },
    vision_config: {
      model_type: 'pixtral',
      hidden_size: 1024,
      image_size: 1540,
      intermediate_size: 4096,
      num_attention_heads: 16,
      num_channels: 3,
      num_hidden_layers: 24,
      patch_size: 14,
    },
  };

  it('24.0B parameters (the card: 24B): the Mistral text stack, the Pixtral encoder and the projector', () => {
    const H = 5120;
    const textLayer = H * 4096 + 2 * H * 1024 + 4096 * H + 3 * H * 32768 + 2 * H;
    const text = 40 * textLayer + 2 * 131072 * H + H; // untied head, final norm
    const h = 1024;
    // attention_norm, q/k/v/o without biases, ffn_norm, gated MLP without biases
    const visionLayer = 4 * h * h + 3 * h * 4096 + 2 * h;
    const vision = 24 * visionLayer + 3 * 14 * 14 * h + h; // patch_conv (no bias), ln_pre
    // norm, patch_merger.merging_layer (4 patches -> 1), linear_1, linear_2
    const projector = h + 4 * h * h + h * H + H * H;
    const arch = architectureFromConfig('mistral-small-3.1', MISTRAL_SMALL_3_1);
    expect(countParameters(arch).total).toBe(text + vision + projector);
    expect((countParameters(arch).total / 1e9).toFixed(1)).toBe('24.0'); // the card's 24B
    // 1,540 px square at 14 px patches: 110 x 110 patches, merged 2 x 2 into 3,025 tokens.
    expect(arch.vision).toMatchObject({ patchesPerImage: 12100, tokensPerImage: 3025 });
  });
});

describe('Seed-OSS (modular_seed_oss.py)', () => {
  it('Seed-OSS-36B: 36.2B parameters, q/k/v biased and o_proj not (the card: 36B)', () => {
    // ByteDance-Seed/Seed-OSS-36B-Base's config.json, the keys the planner reads.
    const config = {
      model_type: 'seed_oss',
      hidden_size: 5120,
      intermediate_size: 27648,
      num_hidden_layers: 64,
      num_attention_heads: 80,
      num_key_value_heads: 8,
      head_dim: 128,
      vocab_size: 155136,
      attention_bias: true,
      attention_out_bias: false,
      tie_word_embeddings: false,
    };
    const h = 5120;
    const q = 80 * 128;
    const kv = 8 * 128;
    const layer = h * q + q + 2 * (h * kv + kv) + q * h + 3 * h * 27648 + 2 * h;
    const arch = architectureFromConfig('seed-oss-36b', config);
    expect(countParameters(arch).total).toBe(64 * layer + 2 * 155136 * h + h);
    expect((countParameters(arch).total / 1e9).toFixed(1)).toBe('36.2');
    expect(arch.dropout).toEqual({ attention: 0.1, residual: 0.1, embedding: 0 });
  });
});

describe('Arcee AFM (modular_arcee.py)', () => {
  it('AFM-4.5B: 4.6B parameters, a plain relu2 MLP (up_proj, down_proj)', () => {
    // arcee-ai/AFM-4.5B's config.json, the keys the planner reads.
    const config = {
      model_type: 'arcee',
      hidden_size: 2560,
      intermediate_size: 18432,
      num_hidden_layers: 36,
      num_attention_heads: 20,
      num_key_value_heads: 4,
      head_dim: 128,
      vocab_size: 128004,
      hidden_act: 'relu2',
    };
    const h = 2560;
    const layer = 2 * h * h + 2 * h * 512 + 2 * h * 18432 + 2 * h;
    const arch = architectureFromConfig('afm-4.5b', config);
    expect(arch.mlp).toBe('plain');
    expect(countParameters(arch).total).toBe(36 * layer + 2 * 128004 * h + h);
    expect((countParameters(arch).total / 1e9).toFixed(1)).toBe('4.6');
  });
});

describe('Nemotron (modeling_nemotron.py)', () => {
  it('Minitron-8B: 8.27B parameters, LayerNorm1P weights and biases, a plain relu2 MLP', () => {
    // nvidia/Minitron-8B-Base's config.json, the keys the planner reads.
    const config = {
      model_type: 'nemotron',
      hidden_size: 4096,
      intermediate_size: 16384,
      num_hidden_layers: 32,
      num_attention_heads: 48,
      num_key_value_heads: 8,
      head_dim: 128,
      vocab_size: 256000,
      hidden_act: 'relu2',
      partial_rotary_factor: 0.5,
    };
    const h = 4096;
    const q = 48 * 128;
    const layer = 2 * h * q + 2 * h * 8 * 128 + 2 * h * 16384 + 2 * 2 * h;
    const arch = architectureFromConfig('minitron-8b', config);
    expect(arch.norm).toBe('layernorm1p');
    expect(countParameters(arch).total).toBe(32 * layer + 2 * 256000 * h + 2 * h);
  });

  it('refuses a LayerNorm1P on another family, whose code reads a plain weight', () => {
    const gpt2 = {
      model_type: 'gpt2',
      n_embd: 256,
      n_layer: 2,
      n_head: 4,
      vocab_size: 1000,
      norm: 'layernorm1p',
    };
    expect(() => architectureFromConfig('x', gpt2)).toThrow(/model_type 'nemotron'/);
  });
});

describe('OPT (modeling_opt.py)', () => {
  // facebook/opt-125m is OPTConfig's defaults; opt-1.3b's shape as its config.json gives it.
  // 125,239,296 and 1,315,758,080 are the totals published for those checkpoints.
  const OPT_125M = { model_type: 'opt' };
  const OPT_1_3B = {
    model_type: 'opt',
    hidden_size: 2048,
    num_hidden_layers: 24,
    num_attention_heads: 32,
    ffn_dim: 8192,
    word_embed_proj_dim: 2048,
  };
  const total = (h: number, layers: number, f: number) => {
    const layer = 4 * (h * h + h) + (h * f + f) + (f * h + h) + 2 * 2 * h;
    return layers * layer + 50272 * h + (2048 + 2) * h + 2 * h; // positions: 2,048 + 2 rows
  };

  it('125,239,296 and 1,315,758,080 parameters: biased linears, LayerNorms, offset positions, tied head', () => {
    const count = (config: Record<string, unknown>) =>
      countParameters(architectureFromConfig('opt', config)).total;
    expect(count(OPT_125M)).toBe(total(768, 12, 3072));
    expect(count(OPT_125M)).toBe(125239296);
    expect(count(OPT_1_3B)).toBe(total(2048, 24, 8192));
    expect(count(OPT_1_3B)).toBe(1315758080);
  });

  it('reads config.dropout as the residual dropout', () => {
    expect(architectureFromConfig('opt', OPT_125M).dropout?.residual).toBe(0.1);
  });

  // facebook/opt-350m's config.json: 1,024-wide post-LayerNorm layers under a 512-wide embedding.
  const OPT_350M = {
    model_type: 'opt',
    architectures: ['OPTForCausalLM'],
    hidden_size: 1024,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    ffn_dim: 4096,
    word_embed_proj_dim: 512,
    do_layer_norm_before: false,
  };

  it('331,196,416 parameters for OPT-350m: a 512-wide embedding, project_in and project_out, no final LayerNorm', () => {
    const h = 1024;
    const f = 4096;
    const layer = 4 * (h * h + h) + (h * f + f) + (f * h + h) + 2 * 2 * h;
    const embedding = 50272 * 512;
    const positions = (2048 + 2) * h; // the positions are h wide
    const projections = 2 * 512 * h; // bias-free project_in and project_out
    const arch = architectureFromConfig('opt-350m', OPT_350M);
    expect(arch.embeddingWidth).toBe(512);
    expect(arch.normAfterResidual).toBe(true);
    expect(arch.finalNorm).toBe(false); // OPTDecoder makes final_layer_norm only pre-norm
    const counts = countParameters(arch);
    expect(counts.total).toBe(24 * layer + embedding + positions + projections);
    expect(counts.total).toBe(331196416); // the Hub's count for facebook/opt-350m
    expect(counts.embeddingProjections).toBe(projections);
  });

  it('refuses a word_embed_proj_dim or do_layer_norm_before of the wrong kind by field', () => {
    const bad = (extra: Record<string, unknown>) => () =>
      architectureFromConfig('opt', { ...OPT_350M, ...extra });
    expect(bad({ word_embed_proj_dim: 'abc' })).toThrow(/config.word_embed_proj_dim/);
    expect(bad({ word_embed_proj_dim: 0 })).toThrow(/config.word_embed_proj_dim/);
    expect(bad({ do_layer_norm_before: 'no' })).toThrow(/config.do_layer_norm_before/);
  });

  it("refuses OPT-350m's classifier over the projected embedding by field", () => {
    const classifier = { ...OPT_350M, architectures: ['OPTForSequenceClassification'] };
    expect(() => architectureFromConfig('opt', classifier)).toThrow(/config.word_embed_proj_dim/);
  });
});

describe('Ministral 3 (modular_ministral3.py)', () => {
  it("Ministral3Config's defaults: Mistral's layer, 34 of them, an untied head of 131,072 rows", () => {
    const h = 4096;
    const layer = 2 * h * 32 * 128 + 2 * h * 8 * 128 + 3 * h * 14336 + 2 * h;
    const arch = architectureFromConfig('ministral-3', { model_type: 'ministral3' });
    expect(countParameters(arch).total).toBe(34 * layer + 2 * 131072 * h + h);
  });
});

describe('Ministral (modular_ministral.py)', () => {
  // Ministral-8B-Instruct-2410's shape, with an interleaved layer_types list.
  const MINISTRAL_8B = {
    model_type: 'ministral',
    hidden_size: 4096,
    intermediate_size: 12288,
    num_hidden_layers: 36,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128,
    vocab_size: 131072,
    sliding_window: 32768,
    layer_types: Array.from({ length: 36 }, (_, i) =>
      i % 4 === 3 ? 'full_attention' : 'sliding_attention',
    ),
  };

  it("8,019,808,256 parameters: Mistral's layer, an untied head by MinistralConfig's default", () => {
    const h = 4096;
    const layer = 2 * h * h + 2 * h * 1024 + 3 * h * 12288 + 2 * h;
    const arch = architectureFromConfig('ministral-8b', MINISTRAL_8B);
    expect(countParameters(arch).total).toBe(36 * layer + 2 * 131072 * h + h);
    expect(countParameters(arch).total).toBe(8019808256); // the Hub's count
  });

  it('refuses a layer_types list shorter than the layers; a longer one leaves its tail unread', () => {
    const short = { ...MINISTRAL_8B, layer_types: ['full_attention'] };
    expect(() => architectureFromConfig('ministral-8b', short)).toThrow(/layerTypes/);
    const cut = architectureFromConfig('ministral-8b', { ...MINISTRAL_8B, num_hidden_layers: 4 });
    expect(layerKind(cut, 3).attentionWindow).toEqual({ kind: 'full' });
  });

  it('masks each layer as layer_types says; without it every layer slides over 4,096 keys', () => {
    const arch = architectureFromConfig('ministral-8b', MINISTRAL_8B);
    expect(layerKind(arch, 0).attentionWindow).toEqual({ kind: 'sliding', size: 32768 });
    expect(layerKind(arch, 3).attentionWindow).toEqual({ kind: 'full' });
    const { layer_types: _types, sliding_window: _window, ...bare } = MINISTRAL_8B;
    const byDefault = architectureFromConfig('ministral-8b', bare);
    expect(layerKind(byDefault, 3).attentionWindow).toEqual({ kind: 'sliding', size: 4096 });
  });
});

describe('MPT (modeling_mpt.py)', () => {
  // mosaicml/mpt-7b's config.json (its own field names, dropouts in attn_config).
  const MPT_7B = {
    model_type: 'mpt',
    d_model: 4096,
    n_heads: 32,
    n_layers: 32,
    expansion_ratio: 4,
    max_seq_len: 2048,
    vocab_size: 50432,
    attn_config: { alibi: true, attn_pdrop: 0, clip_qkv: null, qk_ln: false },
    no_bias: true,
  };

  it('6,649,286,656 parameters: bias-free Wqkv, out_proj, MLP and LayerNorms, no positions, tied head', () => {
    const h = 4096;
    const layer = 3 * h * h + h * h + 2 * h * 4 * h + 2 * h;
    const arch = architectureFromConfig('mpt-7b', MPT_7B);
    expect(countParameters(arch).total).toBe(32 * layer + 50432 * h + h);
    expect(countParameters(arch).total).toBe(6649286656); // the Hub's 6.65B
  });

  it("builds MptMLP 4 x d_model wide whatever expansion_ratio says (Hugging Face's nn.Linear(h, 4 * h))", () => {
    const total = (config: Record<string, unknown>) =>
      countParameters(architectureFromConfig('mpt', config)).total;
    expect(total({ ...MPT_7B, expansion_ratio: 2 })).toBe(total(MPT_7B));
  });

  it('refuses an attn_config that is not an object, and an attn_pdrop outside [0, 1), by field', () => {
    expect(() => architectureFromConfig('mpt', { ...MPT_7B, attn_config: 'x' })).toThrow(
      /config.attn_config/,
    );
    const dropping = { ...MPT_7B, attn_config: { attn_pdrop: 2 } };
    expect(() => architectureFromConfig('mpt', dropping)).toThrow(/config.attn_config.attn_pdrop/);
  });

  it('reads attn_config.attn_pdrop as its dropout; refuses clip_qkv and qk_ln by field', () => {
    const dropping = { ...MPT_7B, attn_config: { ...MPT_7B.attn_config, attn_pdrop: 0.1 } };
    expect(architectureFromConfig('mpt', dropping).dropout?.attention).toBe(0.1);
    const clipped = { ...MPT_7B, attn_config: { ...MPT_7B.attn_config, clip_qkv: 8 } };
    expect(() => architectureFromConfig('mpt', clipped)).toThrow(/attn_config.clip_qkv/);
    const normed = { ...MPT_7B, attn_config: { ...MPT_7B.attn_config, qk_ln: true } };
    expect(() => architectureFromConfig('mpt', normed)).toThrow(/attn_config.qk_ln/);
  });
});

describe('CodeGen (modeling_codegen.py)', () => {
  // Salesforce/codegen-350M-mono's config.json.
  const CODEGEN_350M = {
    model_type: 'codegen',
    n_embd: 1024,
    n_layer: 20,
    n_head: 16,
    n_inner: null,
    rotary_dim: 32,
    vocab_size: 51200,
    n_positions: 2048,
    tie_word_embeddings: false,
  };

  it('356,712,448 parameters: one bias-free qkv_proj and out_proj, biased fc_in, fc_out and lm_head', () => {
    const h = 1024;
    const layer = 2 * h + 3 * h * h + h * h + (h * 4 * h + 4 * h) + (4 * h * h + h); // ln_1 first
    const ends = 51200 * h + 2 * h + (51200 * h + 51200); // wte, ln_f, lm_head with its bias
    expect(countParameters(architectureFromConfig('codegen', CODEGEN_350M)).total).toBe(
      20 * layer + ends,
    );
  });

  it('refuses a head count the four qkv shards do not divide, by field', () => {
    expect(() =>
      architectureFromConfig('codegen', { ...CODEGEN_350M, n_head: 6, n_embd: 768 }),
    ).toThrow(/config.n_head/);
  });
});

describe('GPT-Neo (modeling_gpt_neo.py)', () => {
  // EleutherAI/gpt-neo-125m's config.json (intermediate_size null: 4 x hidden).
  const GPT_NEO_125M = {
    model_type: 'gpt_neo',
    hidden_size: 768,
    num_layers: 12,
    num_heads: 12,
    intermediate_size: null,
    vocab_size: 50257,
    max_position_embeddings: 2048,
    attention_types: [[['global', 'local'], 6]],
    window_size: 256,
    resid_dropout: 0.1,
    embed_dropout: 0.1,
  };

  it('125,198,592 parameters: bias-free q, k, v, biased out_proj and MLP, learned positions, tied head', () => {
    const h = 768;
    const layer = 3 * h * h + (h * h + h) + (h * 4 * h + 4 * h) + (4 * h * h + h) + 2 * 2 * h;
    const ends = 50257 * h + 2048 * h + 2 * h; // wte, wpe, ln_f
    const arch = architectureFromConfig('gpt-neo-125m', GPT_NEO_125M);
    expect(countParameters(arch).total).toBe(12 * layer + ends);
    expect(countParameters(arch).total).toBe(125198592); // the Hub's count
  });

  it('reads resid_dropout and embed_dropout', () => {
    const arch = architectureFromConfig('gpt-neo-125m', GPT_NEO_125M);
    expect(arch.dropout?.residual).toBe(0.1);
    expect(arch.dropout?.embedding).toBe(0.1);
  });
});

describe('GPT-BigCode (modeling_gpt_bigcode.py)', () => {
  // bigcode/starcoder's config.json, the keys the planner reads.
  const STARCODER = {
    model_type: 'gpt_bigcode',
    n_embd: 6144,
    n_layer: 40,
    n_head: 48,
    n_inner: 24576,
    n_positions: 8192,
    vocab_size: 49152,
    multi_query: true,
    activation_function: 'gelu_pytorch_tanh',
  };

  it('15,517,456,384 parameters: one biased c_attn making q and one K/V head, biased c_proj, c_fc and c_proj, learned positions, a tied head', () => {
    const h = 6144;
    const d = h / 48;
    const cAttn = h * (h + 2 * d) + (h + 2 * d); // GPTBigCodeAttention.c_attn, multi_query
    const layer = 2 * 2 * h + cAttn + (h * h + h) + (h * 24576 + 24576) + (24576 * h + h);
    const ends = 49152 * h + 8192 * h + 2 * h; // wte, wpe, ln_f (lm_head tied to wte)
    const arch = architectureFromConfig('starcoder', STARCODER);
    expect(countParameters(arch).total).toBe(40 * layer + ends);
    expect(countParameters(arch).total).toBe(15517456384); // StarCoder's "15.5B"
  });

  it('one K/V head under multi_query, every head without it, whatever num_key_value_heads says', () => {
    const heads = (extra: Record<string, unknown>) =>
      architectureFromConfig('starcoder', { ...STARCODER, ...extra }).numKeyValueHeads;
    expect(heads({})).toBe(1);
    expect(heads({ num_key_value_heads: 8 })).toBe(1);
    expect(heads({ multi_query: false })).toBe(48);
  });

  it("GPTBigCodeConfig's defaults: 0.1 dropouts, a tied head, learned positions of n_positions", () => {
    const arch = architectureFromConfig('starcoder', STARCODER);
    expect(arch.dropout).toEqual({ attention: 0.1, residual: 0.1, embedding: 0.1 });
    expect(arch.tieWordEmbeddings).toBe(true);
    expect(arch.learnedPositionEmbeddings).toBe(8192);
    expect(arch.notes).toBeUndefined();
  });

  it('refuses cross-attention layers by the field', () => {
    expect(() =>
      architectureFromConfig('starcoder', { ...STARCODER, add_cross_attention: true }),
    ).toThrow(/config.add_cross_attention/);
  });

  it('says when its activation is written out in Python and planned as one fused GELU', () => {
    const arch = architectureFromConfig('santacoder', {
      ...STARCODER,
      activation_function: 'gelu_fast',
    });
    expect(arch.notes).toEqual([expect.stringMatching(/'gelu_fast'.*err low/)]);
  });
});

describe('StarCoder2 (modeling_starcoder2.py)', () => {
  // bigcode/starcoder2-3b's shape.
  const STARCODER2_3B = {
    model_type: 'starcoder2',
    hidden_size: 3072,
    intermediate_size: 12288,
    num_hidden_layers: 30,
    num_attention_heads: 24,
    num_key_value_heads: 2,
    vocab_size: 49152,
    sliding_window: 4096,
    residual_dropout: 0.1,
    embedding_dropout: 0.1,
  };

  it('biased q, k, v, o, c_fc and c_proj, two LayerNorms a layer, a tied head', () => {
    const h = 3072;
    const kv = 2 * 128;
    const attention = 2 * (h * h + h) + 2 * (h * kv + kv);
    const layer = attention + (h * 12288 + 12288) + (12288 * h + h) + 2 * 2 * h;
    const arch = architectureFromConfig('starcoder2-3b', STARCODER2_3B);
    expect(countParameters(arch).total).toBe(30 * layer + 49152 * h + 2 * h);
  });

  it('every layer slides over 4,096 keys; residual and embedding dropout read', () => {
    const arch = architectureFromConfig('starcoder2-3b', STARCODER2_3B);
    expect(layerKind(arch, 0).attentionWindow).toEqual({ kind: 'sliding', size: 4096 });
    expect(arch.dropout).toMatchObject({ residual: 0.1, embedding: 0.1 });
  });
});

describe('dots.llm1 (modular_dots1.py)', () => {
  // rednote-hilab/dots.llm1.base's config.json, the keys the planner reads.
  const DOTS1 = {
    model_type: 'dots1',
    hidden_size: 4096,
    intermediate_size: 10944,
    moe_intermediate_size: 1408,
    num_hidden_layers: 62,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    n_routed_experts: 128,
    n_shared_experts: 2,
    num_experts_per_tok: 6,
    first_k_dense_replace: 1,
    n_group: 1,
    topk_group: 1,
    norm_topk_prob: true,
    routed_scaling_factor: 2.5,
    topk_method: 'noaux_tc',
    vocab_size: 152064,
    tie_word_embeddings: false,
  };

  it("142.8B parameters, 14.0B active (the report's 142B and 14B): Qwen3's attention in DeepSeek-V3's MoE layers", () => {
    const h = 4096;
    // q, k, v, o without bias (attention_bias false), per-head q/k norms of 128, two RMSNorms.
    const attention = 4 * h * h + 2 * 128 + 2 * h;
    const mlp = (width: number) => 3 * h * width;
    // Routed experts, one shared MLP of 2 x 1408, the router weight and its correction bias.
    const moe = (experts: number) => experts * mlp(1408) + mlp(2 * 1408) + 128 * h + 128;
    const ends = 2 * 152064 * h + h;
    const counts = countParameters(architectureFromConfig('dots.llm1', DOTS1));
    const dense = attention + mlp(10944);
    expect(counts.total).toBe(dense + 61 * (attention + moe(128)) + ends);
    expect(counts.active).toBe(dense + 61 * (attention + moe(6)) + ends);
    expect((counts.total / 1e9).toFixed(1)).toBe('142.8');
    expect((counts.active / 1e9).toFixed(1)).toBe('14.0');
  });

  it("routes with DeepSeek-V3's router; a layer slides from max_window_layers on", () => {
    const arch = architectureFromConfig('dots.llm1', DOTS1);
    expect(arch.moe).toMatchObject({ router: 'grouped-sigmoid', renormalize: true });
    expect(arch.qkNorm).toBe(true);
    // Dots1Config: sliding_window 4096 and max_window_layers 62 by default, so none of 62 slides.
    expect(layerKind(arch, 61).attentionWindow).toEqual({ kind: 'full' });
    const sliding = architectureFromConfig('d', { ...DOTS1, max_window_layers: 60 });
    expect(layerKind(sliding, 59).attentionWindow).toEqual({ kind: 'full' });
    expect(layerKind(sliding, 60).attentionWindow).toEqual({ kind: 'sliding', size: 4096 });
  });
});

describe('Helium (modular_helium.py)', () => {
  it("HeliumConfig's defaults (helium-1-preview's shape): 2.17B parameters, o_proj without bias", () => {
    const h = 2560;
    // q, k, v and o of 20 heads of 128; gate, up and down of 7,040; two RMSNorms.
    const layer = 4 * h * h + 3 * h * 7040 + 2 * h;
    const ends = 2 * 48000 * h + h; // untied embedding and head, final norm
    const arch = architectureFromConfig('helium', { model_type: 'helium' });
    expect(countParameters(arch).total).toBe(24 * layer + ends);
    expect((countParameters(arch).total / 1e9).toFixed(2)).toBe('2.17');
    // attention_bias reaches q, k and v only (HeliumAttention's o_proj is bias-free).
    const biased = architectureFromConfig('h', { model_type: 'helium', attention_bias: true });
    expect(countParameters(biased).total).toBe(24 * (layer + 3 * h) + ends);
  });
});

describe('Apertus (modular_apertus.py)', () => {
  it("ApertusConfig's defaults: per-head q/k norms, a plain MLP, xIELU's alpha_p and alpha_n in every layer", () => {
    const h = 4096;
    // q, k, v, o of 32 heads of 128 (num_key_value_heads defaults to the heads), q_norm and
    // k_norm of 128, up_proj and down_proj of 14,336, alpha_p and alpha_n, two RMSNorms.
    const layer = 4 * h * h + 2 * 128 + 2 * h * 14336 + 2 + 2 * h;
    const ends = 2 * 131072 * h + h;
    const arch = architectureFromConfig('apertus', { model_type: 'apertus' });
    expect(arch.mlp).toBe('plain');
    expect(countParameters(arch).total).toBe(32 * layer + ends);
  });
});

describe('VaultGemma (modular_vaultgemma.py)', () => {
  it("Gemma2Config's defaults with two norms a layer: 2,614,222,080 parameters, gemma-2-2b's 2,614,341,888 less 52 norms of 2,304", () => {
    const h = 2304;
    // q of 8 heads of 256, k and v of 4, o; gate, up and down of 9,216; two Gemma RMSNorms.
    const layer = 2 * h * 2048 + 2 * h * 1024 + 3 * h * 9216 + 2 * h;
    const arch = architectureFromConfig('vaultgemma', { model_type: 'vaultgemma' });
    expect(countParameters(arch).total).toBe(26 * layer + 256000 * h + h); // tied head
    expect(countParameters(arch).total).toBe(2614341888 - 26 * 2 * h);
    expect(arch.attentionLogitSoftcapping).toBe(50);
    expect(arch.finalLogitSoftcapping).toBe(30);
    // Gemma-2 takes the same defaults: gemma-2-2b's count from a config of model_type alone.
    const gemma2 = architectureFromConfig('gemma-2', { model_type: 'gemma2' });
    expect(countParameters(gemma2).total).toBe(2614341888);
    expect(gemma2.attentionLogitSoftcapping).toBe(50);
  });
});

describe('FlexOlmo (modular_flex_olmo.py)', () => {
  it("FlexOlmoConfig's defaults: 7 experts of 11,008, 5 active; whole-projection q/k norms and two post norms", () => {
    const h = 4096;
    const expert = 3 * h * 11008;
    // q, k, v, o; q_norm and k_norm over the whole 4,096-wide projections; the router; two norms.
    const shared = 4 * h * h + 2 * h + 7 * h + 2 * h;
    const ends = 2 * 100352 * h + h;
    const arch = architectureFromConfig('flex-olmo', { model_type: 'flex_olmo' });
    expect(arch.moe).toMatchObject({ numExperts: 7, expertsPerToken: 5, renormalize: false });
    expect(countParameters(arch).total).toBe(32 * (shared + 7 * expert) + ends);
    expect(countParameters(arch).active).toBe(32 * (shared + 5 * expert) + ends);
  });
});

describe('Granite-MoE (modular_granitemoe.py)', () => {
  // ibm-granite/granite-3.0-1b-a400m-base's config.json as it is published.
  const GRANITE_1B_A400M = {
    architectures: ['GraniteMoeForCausalLM'],
    model_type: 'granitemoe',
    attention_bias: false,
    attention_dropout: 0.1,
    attention_multiplier: 0.015625,
    embedding_multiplier: 12.0,
    logits_scaling: 6.0,
    residual_multiplier: 0.22,
    hidden_act: 'silu',
    hidden_size: 1024,
    intermediate_size: 512,
    max_position_embeddings: 4096,
    num_attention_heads: 16,
    num_key_value_heads: 8,
    num_hidden_layers: 24,
    num_local_experts: 32,
    num_experts_per_tok: 8,
    tie_word_embeddings: true,
    vocab_size: 49155,
  };

  it("1.3B parameters, 400M active (the model card's): 32 experts of 512, eight a token, a tied head", () => {
    const h = 1024;
    const attention = h * h + 2 * h * 512 + h * h; // q, k and v (8 heads of 64), o
    // input_linear [E, 2 x 512, h] and output_linear [E, h, 512]; the router's layer [E, h]
    const expert = 3 * 512 * h;
    const layer = (experts: number) => attention + experts * expert + 32 * h + 2 * h;
    const ends = 49155 * h + h; // the tied embedding and the final norm
    const arch = architectureFromConfig('granite-3.0-1b-a400m', GRANITE_1B_A400M);
    expect(arch.moe).toMatchObject({ numExperts: 32, expertsPerToken: 8, router: 'top-k-gating' });
    const counts = countParameters(arch);
    expect(counts.total).toBe(24 * layer(32) + ends);
    expect(counts.active).toBe(24 * layer(8) + ends);
    expect([counts.total / 1e9, counts.active / 1e9].map((b) => b.toFixed(2))).toEqual([
      '1.33',
      '0.43',
    ]);
  });

  it("takes GraniteMoeConfig's defaults for what the config leaves out: 8 experts of 11,008, two a token", () => {
    const h = 4096;
    const layer = 4 * h * h + 8 * 3 * 11008 * h + 8 * h + 2 * h;
    const arch = architectureFromConfig('granitemoe', { model_type: 'granitemoe' });
    expect(countParameters(arch).total).toBe(32 * layer + 2 * 32000 * h + h);
  });
});

describe('Granite-MoE-shared (modular_granitemoeshared.py)', () => {
  it('adds a shared MLP of shared_intermediate_size to every layer, and none where it is 0 (the default)', () => {
    const h = 4096;
    const layer = 4 * h * h + 8 * 3 * 11008 * h + 8 * h + 2 * h;
    const ends = 2 * 32000 * h + h;
    const plain = architectureFromConfig('gms', { model_type: 'granitemoeshared' });
    expect(countParameters(plain).total).toBe(32 * layer + ends);
    const shared = architectureFromConfig('gms-1024', {
      model_type: 'granitemoeshared',
      shared_intermediate_size: 1024,
    });
    // shared_mlp.input_linear [2 x 1,024, h] and output_linear [h, 1,024], active for every token
    const sharedMlp = 3 * 1024 * h;
    expect(countParameters(shared).total).toBe(32 * (layer + sharedMlp) + ends);
  });
});

describe('Granite 4.0 (modular_granitemoehybrid.py)', () => {
  it("takes GraniteMoeHybridConfig's defaults: every layer a Mamba-2 mixer, 8 experts of 11,008 and a shared MLP of 1,024", () => {
    const h = 4096;
    const inner = 2 * h; // mamba_expand 2
    const [heads, N, groups, kernel] = [128, 256, 1, 4];
    const convDim = inner + 2 * groups * N; // x, B and C are convolved
    const mixer =
      h * (2 * inner + 2 * groups * N + heads) + // in_proj: z, x, B, C, dt
      convDim * kernel + // conv1d.weight (depthwise)
      convDim + // conv1d.bias (mamba_conv_bias)
      3 * heads + // dt_bias, A_log, D
      inner + // the gated RMSNorm
      inner * h; // out_proj
    const moe = 8 * 3 * 11008 * h + 8 * h; // input_linear, output_linear; the router's layer
    const sharedMlp = h * 2 * 1024 + 1024 * h; // shared_mlp.input_linear, output_linear
    const layer = mixer + moe + sharedMlp + 2 * h;
    const arch = architectureFromConfig('granite-hybrid', { model_type: 'granitemoehybrid' });
    expect(arch.layerTypes?.every((type) => type === 'mamba2')).toBe(true);
    expect(countParameters(arch).total).toBe(32 * layer + 2 * 32000 * h + h);
  });

  it('counts attention layers and a dense shared MLP where layer_types and num_local_experts say so', () => {
    const h = 2048;
    const sharedWidth = 8192;
    const config = {
      model_type: 'granitemoehybrid',
      hidden_size: h,
      num_hidden_layers: 4,
      num_attention_heads: 16,
      num_key_value_heads: 4,
      num_local_experts: 0,
      shared_intermediate_size: sharedWidth,
      mamba_n_heads: 64,
      mamba_d_state: 128,
      vocab_size: 100352,
      tie_word_embeddings: true,
      position_embedding_type: 'rope',
      layer_types: ['mamba', 'attention', 'mamba', 'attention'],
    };
    const inner = 2 * h;
    const convDim = inner + 2 * 128;
    const mixer = h * (2 * inner + 2 * 128 + 64) + 5 * convDim + 3 * 64 + inner + inner * h;
    const attention = h * h + 2 * h * (4 * 128) + h * h; // q, k and v (4 heads of 128), o
    const mlp = 3 * h * sharedWidth + 2 * h; // input_linear [2 x 8,192], output_linear; norms
    const arch = architectureFromConfig('granite-hybrid-dense', config);
    expect(arch.moe).toBeUndefined();
    expect(countParameters(arch).total).toBe(
      2 * (mixer + mlp) + 2 * (attention + mlp) + 100352 * h + h,
    );
  });

  it('refuses layer_types other than mamba and attention by the field', () => {
    expect(() =>
      architectureFromConfig('granite-hybrid-bad', {
        model_type: 'granitemoehybrid',
        num_hidden_layers: 2,
        layer_types: ['mamba', 'linear_attention'],
      }),
    ).toThrow(/layer_types/);
  });
});

describe('Bamba (modular_bamba.py)', () => {
  it("takes BambaConfig's defaults and attention where attn_layer_indices says: Mamba-2 mixers elsewhere, LlamaMLP in every layer", () => {
    const h = 4096;
    const inner = 2 * h;
    const [heads, N] = [128, 256];
    const convDim = inner + 2 * N;
    const mixer = h * (2 * inner + 2 * N + heads) + 5 * convDim + 3 * heads + inner + inner * h;
    const attention = h * h + 2 * h * (8 * 128) + h * h; // q, k and v (8 heads of 128), o
    const mlp = 3 * h * 14336 + 2 * h; // gate, up and down; input_layernorm and pre_ff_layernorm
    const arch = architectureFromConfig('bamba', {
      model_type: 'bamba',
      attn_layer_indices: [9, 18, 27],
    });
    expect(countParameters(arch).total).toBe(
      29 * (mixer + mlp) + 3 * (attention + mlp) + 2 * 128000 * h + h,
    );
  });

  it('refuses the logits z-loss, whose tensors it does not plan, by the field', () => {
    expect(() =>
      architectureFromConfig('bamba-z', { model_type: 'bamba', z_loss_coefficient: 1e-4 }),
    ).toThrow(/z_loss_coefficient/);
  });
});

describe('LFM2 (modeling_lfm2.py)', () => {
  // LiquidAI/LFM2-1.2B's config.json: 16 layers, attention in six of them.
  const LFM2_1_2B = {
    architectures: ['Lfm2ForCausalLM'],
    model_type: 'lfm2',
    block_auto_adjust_ff_dim: true,
    block_ff_dim: 12288,
    block_ffn_dim_multiplier: 1.0,
    block_multiple_of: 256,
    conv_L_cache: 3,
    conv_bias: false,
    hidden_size: 2048,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    num_hidden_layers: 16,
    vocab_size: 65536,
    layer_types: [
      ...['conv', 'conv', 'full_attention', 'conv', 'conv', 'full_attention', 'conv', 'conv'],
      ...['full_attention', 'conv', 'full_attention', 'conv', 'full_attention', 'conv'],
      ...['full_attention', 'conv'],
    ],
  };

  it('1,170,340,608 parameters: ten short-convolution layers, six attention layers, Lfm2MLP of int(2 x 12,288 / 3) = 8,192', () => {
    const h = 2048;
    const f = 8192;
    const conv = h * 3 * h + h * 3 + h * h; // in_proj, the depthwise conv1d (3 taps), out_proj
    const attention = 2 * h * h + 2 * h * (8 * 64) + 2 * 64; // q, out_proj, k, v; q/k norms
    const mlp = 3 * h * f; // w1, w3, w2
    const norms = 2 * h; // operator_norm, ffn_norm
    const ends = 65536 * h + h; // the tied embedding, embedding_norm
    const arch = architectureFromConfig('lfm2-1.2b', LFM2_1_2B);
    expect(arch.intermediateSize).toBe(f);
    const total = 10 * (conv + mlp + norms) + 6 * (attention + mlp + norms) + ends;
    expect(countParameters(arch).total).toBe(total);
    expect(total).toBe(1_170_340_608);
  });

  it('refuses layer_types other than full_attention and conv by the field', () => {
    expect(() =>
      architectureFromConfig('lfm2-bad', {
        ...LFM2_1_2B,
        layer_types: LFM2_1_2B.layer_types.map((t) => (t === 'conv' ? 'mamba' : t)),
      }),
    ).toThrow(/layer_types/);
  });
});

describe('LFM2-MoE (modular_lfm2_moe.py)', () => {
  it("counts LFM2-8B-A1B's shape: 24 layers (18 convolution, 6 attention), two dense, 32 experts of 1,792, four a token; the card's 8.3B in all", () => {
    const h = 2048;
    const attentionAt = [2, 6, 10, 14, 18, 21];
    const config = {
      model_type: 'lfm2_moe',
      hidden_size: h,
      intermediate_size: 7168,
      moe_intermediate_size: 1792,
      num_hidden_layers: 24,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      num_dense_layers: 2,
      num_experts: 32,
      num_experts_per_tok: 4,
      vocab_size: 65536,
      layer_types: Array.from({ length: 24 }, (_, i) =>
        attentionAt.includes(i) ? 'full_attention' : 'conv',
      ),
    };
    const attention = 2 * h * h + 2 * h * (8 * 64) + 2 * 64; // q, out_proj, k, v; q/k norms
    const conv = h * 3 * h + h * 3 + h * h; // in_proj, conv1d (3 taps), out_proj
    const dense = 3 * h * 7168; // Lfm2MoeMLP of intermediate_size, not adjusted
    const expert = 3 * h * 1792;
    const sparse = (experts: number) => experts * expert + 32 * h + 32; // gate; fp32 expert_bias
    const norms = 2 * h;
    const mixers = 6 * attention + 18 * conv + 24 * norms;
    const ends = 65536 * h + h;
    const arch = architectureFromConfig('lfm2-8b-a1b', config);
    expect(arch.moe).toMatchObject({ firstDenseLayers: 2, router: 'biased-sigmoid' });
    const counts = countParameters(arch);
    expect(counts.total).toBe(mixers + 2 * dense + 22 * sparse(32) + ends);
    expect(counts.active).toBe(mixers + 2 * dense + 22 * sparse(4) + ends);
    // The card says 1.5B active; this shape activates 1.56B (the card rounds down, or its
    // layer pattern differs from the one written here).
    expect((counts.total / 1e9).toFixed(1)).toBe('8.3');
  });
});

describe('Qwen3-VL and Qwen3-VL-MoE (modeling_qwen3_vl.py, modular_qwen3_vl_moe.py)', () => {
  // Qwen3VLVisionModel at Qwen3-VL's shipped vision_config: 27 LayerNorm blocks of 1,152 with a
  // biased qkv and proj and a 4,304 GELU MLP; a biased Conv3d over 2 frames of 16 x 16 x 3 and
  // a 2,304-row pos_embed; the merger (LayerNorm per patch, 4w -> 4w -> text width) and three
  // deepstack mergers (their LayerNorm over the 4w merged patches).
  const w = 1152;
  const m = 4 * w;
  const tower = (text: number) =>
    27 * (2 * 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * 4304 + 4304) + (4304 * w + w)) +
    (3 * 2 * 16 * 16 * w + w + 2304 * w) +
    (2 * w + (m * m + m) + (m * text + text)) +
    3 * (2 * m + (m * m + m) + (m * text + text));
  const vision = (text: number) => ({
    depth: 27,
    hidden_size: w,
    intermediate_size: 4304,
    num_heads: 16,
    out_hidden_size: text,
    deepstack_visual_indexes: [8, 16, 24],
  });
  // Qwen3's attention: q, k, v, o without bias and q_norm, k_norm over head_dim 128.
  // The totals below are the ones published for Qwen3-VL-8B-Instruct (the Hub's safetensors
  // total, 8,767,123,696) and Qwen3-VL-30B-A3B-Instruct (31,070,754,032, a fine-tuning
  // provider's model list).
  const attention = (h: number, heads: number, kv: number) =>
    2 * h * heads * 128 + 2 * h * kv * 128 + 2 * 128;

  it("8,767,123,696 parameters at Qwen3-VL-8B's shape: a Qwen3 text stack and the tower with its deepstack mergers", () => {
    const h = 4096;
    const text = 36 * (attention(h, 32, 8) + 3 * h * 12288 + 2 * h) + 2 * 151936 * h + h;
    const arch = architectureFromConfig('qwen3-vl-8b', {
      model_type: 'qwen3_vl',
      text_config: {
        model_type: 'qwen3_vl_text',
        hidden_size: h,
        intermediate_size: 12288,
        num_hidden_layers: 36,
        num_attention_heads: 32,
        num_key_value_heads: 8,
        head_dim: 128,
        tie_word_embeddings: false,
      },
      vision_config: vision(h),
    });
    expect(countParameters(arch).vision).toBe(tower(h));
    expect(countParameters(arch).total).toBe(text + tower(h));
    expect(countParameters(arch).total).toBe(8767123696);
    expect(arch.vision?.deepstack?.map((merger) => merger.afterLayer)).toEqual([8, 16, 24]);
  });

  it("31,070,754,032 at Qwen3-VL-30B-A3B's shape: 128 experts of 768 in every layer, top-8 always renormalised", () => {
    const h = 2048;
    const sparse = 128 * h + 128 * 3 * h * 768; // router, experts
    const text = 48 * (attention(h, 32, 4) + sparse + 2 * h) + 2 * 151936 * h + h;
    const arch = architectureFromConfig('qwen3-vl-30b-a3b', {
      model_type: 'qwen3_vl_moe',
      text_config: {
        model_type: 'qwen3_vl_moe_text',
        hidden_size: h,
        intermediate_size: 6144,
        num_hidden_layers: 48,
        num_attention_heads: 32,
        num_key_value_heads: 4,
        head_dim: 128,
        moe_intermediate_size: 768,
        num_experts: 128,
        num_experts_per_tok: 8,
        tie_word_embeddings: false,
      },
      vision_config: vision(h),
    });
    expect(countParameters(arch).total).toBe(text + tower(h));
    expect(countParameters(arch).total).toBe(31070754032);
    expect(arch.moe).toMatchObject({ expertsPerToken: 8, renormalize: true });
  });

  it('refuses deepstack_visual_indexes that are not block indices by the field', () => {
    for (const deepstack_visual_indexes of [[-1], 'all', [1.5]]) {
      const config = { model_type: 'qwen3_vl', vision_config: { deepstack_visual_indexes } };
      expect(() => architectureFromConfig('qwen3-vl', config)).toThrow(
        /config.vision_config.deepstack_visual_indexes/,
      );
    }
  });
});

describe('Qwen3.5 and Qwen3.5-MoE (modular_qwen3_5.py, modeling_qwen3_5_moe.py)', () => {
  // Qwen3-Next's gated attention: q_proj makes each head's query and gate, per-head q/k norms.
  const attention = (h: number, kv: number) =>
    h * 16 * 256 * 2 + 2 * h * kv * 256 + 16 * 256 * h + 2 * 256;
  // Qwen3_5GatedDeltaNet: conv1d over q, k, v (no bias), in_proj_qkv, in_proj_z, in_proj_b,
  // in_proj_a, dt_bias and A_log per value head, the gated norm (a value head wide), out_proj.
  const deltaNet = (h: number) => {
    const [keys, values, heads] = [16 * 128, 32 * 128, 32];
    const conv = (2 * keys + values) * 4;
    return (
      conv + h * (2 * keys + values) + h * values + 2 * h * heads + 2 * heads + 128 + values * h
    );
  };

  it("8,953,803,264 text parameters at Qwen3_5TextConfig's defaults (Qwen3.5-9B's shape): 8 attention and 24 Gated DeltaNet layers, a dense MLP, an untied head", () => {
    const h = 4096;
    const mlp = 3 * h * 12288;
    const layers = 8 * (attention(h, 4) + mlp + 2 * h) + 24 * (deltaNet(h) + mlp + 2 * h);
    const arch = architectureFromConfig('qwen3.5', { model_type: 'qwen3_5_text' });
    expect(countParameters(arch).total).toBe(layers + 2 * 248320 * h + h);
    expect(arch.gatedDelta).toMatchObject({ keyHeads: 16, valueHeads: 32, splitProjections: true });
    expect(linearShapes(arch, 0).map((shape) => shape.name)).toEqual([
      'out_proj',
      'in_proj_qkv',
      'in_proj_z',
      'in_proj_b',
      'in_proj_a',
      'gate_proj',
      'up_proj',
      'down_proj',
    ]);
  });

  it("Qwen3_5ForConditionalGeneration adds Qwen3-VL's vision tower without its deepstack mergers: 453,650,672 at Qwen3_5VisionConfig's defaults", () => {
    const w = 1152;
    const block =
      2 * 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * 4304 + 4304) + (4304 * w + w);
    const embed = 3 * 2 * 16 * 16 * w + w + 2304 * w; // Conv3d with its bias, pos_embed
    const merger = 2 * w + (4 * w * 4 * w + 4 * w) + (4 * w * 3584 + 3584);
    const arch = architectureFromConfig('qwen3.5', {
      model_type: 'qwen3_5',
      text_config: { model_type: 'qwen3_5_text' },
      vision_config: {},
    });
    expect(countParameters(arch).vision).toBe(27 * block + embed + merger);
    expect(countParameters(arch).vision).toBe(453650672);
    const text = architectureFromConfig('qwen3.5', { model_type: 'qwen3_5_text' });
    expect(countParameters(arch).total).toBe(
      countParameters(text).total + 27 * block + embed + merger,
    );
  });

  it("34,660,610,688 parameters at Qwen3_5MoeTextConfig's defaults (Qwen3.5-35B-A3B's shape): 256 experts of 512 and a gated shared expert in every layer, top-8 renormalised", () => {
    const h = 2048;
    const sparse = 256 * h + 256 * 3 * h * 512 + 3 * h * 512 + h; // router, experts, shared, gate
    const layers = 10 * (attention(h, 2) + sparse + 2 * h) + 30 * (deltaNet(h) + sparse + 2 * h);
    const arch = architectureFromConfig('qwen3.5-moe', { model_type: 'qwen3_5_moe_text' });
    expect(countParameters(arch).total).toBe(layers + 2 * 248320 * h + h);
    expect(countParameters(arch).total).toBe(34660610688);
    expect(arch.moe).toMatchObject({
      expertsPerToken: 8,
      sharedExpertGate: true,
      renormalize: true,
    });
  });

  // A fine-tuning provider's model list publishes paramCount 9,409,813,744 for Qwen3.5-9B and
  // 35,107,181,936 for Qwen3.5-35B-A3B: the defaults' text stacks with the tower, its merger
  // reaching the text width (out_hidden_size), as their config.json files give it.
  it('the published totals of Qwen3.5-9B and Qwen3.5-35B-A3B: text at the defaults, tower to the text width', () => {
    const total = (type: string, width: number) =>
      countParameters(
        architectureFromConfig('qwen3.5', {
          model_type: type,
          text_config: { model_type: `${type}_text` },
          vision_config: { out_hidden_size: width },
        }),
      ).total;
    expect(total('qwen3_5', 4096)).toBe(9409813744);
    expect(total('qwen3_5_moe', 2048)).toBe(35107181936);
  });

  it('every fourth layer attends (full_attention_interval), the others run the Gated DeltaNet', () => {
    const arch = architectureFromConfig('qwen3.5', { model_type: 'qwen3_5_text' });
    const mixers = [0, 1, 2, 3, 7].map((layer) => layerKind(arch, layer).mixer);
    expect(mixers).toEqual(['gated-delta', 'gated-delta', 'gated-delta', 'attention', 'attention']);
  });
});

describe('Qwen3-Next (modular_qwen3_next.py)', () => {
  // Qwen/Qwen3-Next-80B-A3B-Instruct's config.json (its fields; mtp_* are not loaded:
  // _keys_to_ignore_on_load_unexpected = [r"^mtp.*"]).
  const QWEN3_NEXT_80B = {
    architectures: ['Qwen3NextForCausalLM'],
    model_type: 'qwen3_next',
    hidden_size: 2048,
    intermediate_size: 5120,
    num_hidden_layers: 48,
    num_attention_heads: 16,
    num_key_value_heads: 2,
    head_dim: 256,
    full_attention_interval: 4,
    linear_conv_kernel_dim: 4,
    linear_key_head_dim: 128,
    linear_num_key_heads: 16,
    linear_num_value_heads: 32,
    linear_value_head_dim: 128,
    num_experts: 512,
    num_experts_per_tok: 10,
    moe_intermediate_size: 512,
    shared_expert_intermediate_size: 512,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    norm_topk_prob: true,
    partial_rotary_factor: 0.25,
    tie_word_embeddings: false,
    vocab_size: 151936,
  };

  it('79,674,391,296 parameters: 36 Gated DeltaNet and 12 gated-attention layers, each with 512 experts and a gated shared expert', () => {
    const h = 2048;
    const [keys, values] = [16 * 128, 32 * 128];
    const deltaNet =
      h * (2 * keys + 2 * values) + // in_proj_qkvz
      h * 2 * 32 + // in_proj_ba
      (2 * keys + values) * 4 + // the depthwise conv1d over q, k and v, 4 taps, no bias
      32 + // dt_bias
      32 + // A_log
      128 + // the gated RMSNorm's weight, one value head wide
      values * h; // out_proj
    const attention =
      h * 2 * 16 * 256 + // q_proj: each head's query and its gate
      2 * h * 2 * 256 + // k_proj, v_proj
      16 * 256 * h + // o_proj
      2 * 256; // q_norm, k_norm
    const sparse =
      h * 512 + // the router
      512 * 3 * h * 512 + // 512 experts of gate, up and down
      3 * h * 512 + // the shared expert
      h; // shared_expert_gate
    const norms = 2 * h;
    const ends = 2 * 151936 * h + h; // embedding, lm_head, final norm
    const total = 36 * (deltaNet + sparse + norms) + 12 * (attention + sparse + norms) + ends;
    const arch = architectureFromConfig('qwen3-next-80b-a3b', QWEN3_NEXT_80B);
    expect(countParameters(arch).total).toBe(total);
    expect(total).toBe(79_674_391_296);
    expect(arch.layerTypes?.slice(0, 4)).toEqual([
      'linear_attention',
      'linear_attention',
      'linear_attention',
      'full_attention',
    ]);
  });

  it('mlp_only_layers and decoder_sparse_step leave layers dense, as Qwen2-MoE reads them', () => {
    const arch = architectureFromConfig('qwen3-next-sparse', {
      ...QWEN3_NEXT_80B,
      num_hidden_layers: 8,
      decoder_sparse_step: 2,
      mlp_only_layers: [3],
    });
    // layer i routes when (i + 1) % 2 == 0 and i is not in mlp_only_layers: 1, 5, 7
    const routed = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => layerKind(arch, i).mlp === 'moe');
    expect(routed).toEqual([1, 5, 7]);
    expect(layerKind(arch, 3).mlp).toBe('dense');
  });

  it('refuses value heads that are not a whole multiple of the key heads, by the field', () => {
    expect(() =>
      architectureFromConfig('qwen3-next-bad', { ...QWEN3_NEXT_80B, linear_num_value_heads: 24 }),
    ).toThrow(/linear_num_value_heads/);
  });
});

describe('Falcon-H1 (modular_falcon_h1.py)', () => {
  // tiiuae/Falcon-H1-Tiny-90M-Instruct's config.json (the fields the count reads).
  const FALCON_H1_TINY = {
    model_type: 'falcon_h1',
    vocab_size: 32768,
    hidden_size: 512,
    intermediate_size: 768,
    num_hidden_layers: 24,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    head_dim: 64,
    mamba_d_conv: 4,
    mamba_d_ssm: 768,
    mamba_d_state: 64,
    mamba_d_head: 32,
    mamba_n_heads: 24,
    mamba_n_groups: 1,
    mamba_conv_bias: true,
    mamba_proj_bias: false,
    mamba_rms_norm: false,
    projectors_bias: false,
    tie_word_embeddings: true,
  };

  it("91,131,072 parameters (the card's 90M): attention and a Mamba-2 mixer in each of 24 layers, no gated norm", () => {
    const h = 512;
    const attention = h * 512 + 2 * h * 128 + 512 * h; // q (8 x 64), k and v (2 x 64), o
    const convDim = 768 + 2 * 64; // x, B and C
    const mamba =
      h * (768 + convDim + 24) + // in_proj: z, xBC and dt
      convDim * 4 +
      convDim + // the depthwise conv1d and its bias
      3 * 24 + // dt_bias, A_log, D
      768 * h; // out_proj (mamba_rms_norm false: no norm weight)
    const mlp = 3 * h * 768;
    const norms = 2 * h;
    const total = 24 * (attention + mamba + mlp + norms) + 32768 * h + h; // tied embedding, final norm
    const arch = architectureFromConfig('falcon-h1-tiny', FALCON_H1_TINY);
    expect(countParameters(arch).total).toBe(total);
    expect(total).toBe(91_131_072);
    expect(layerKind(arch, 0).mixer).toBe('attention-mamba2');
  });

  it('refuses mamba_n_heads x mamba_d_head other than mamba_d_ssm, by the field', () => {
    expect(() =>
      architectureFromConfig('falcon-h1-bad', { ...FALCON_H1_TINY, mamba_d_head: 48 }),
    ).toThrow(/mamba_d_head/);
  });
});

describe('MiniMax-M2 (modular_minimax_m2.py)', () => {
  it("228,689,764,864 at MiniMaxM2Config's defaults (MiniMax-M2's shape; the card's 230B, 10B active): 62 layers of 256 experts", () => {
    const h = 3072;
    const attention =
      h * 48 * 128 + // q_proj
      2 * h * 8 * 128 + // k_proj, v_proj
      48 * 128 * h + // o_proj
      48 * 128 + // q_norm over the whole q projection
      8 * 128; // k_norm over the whole k projection
    const sparse =
      h * 256 + // the router
      256 + // e_score_correction_bias (a buffer, in the checkpoint)
      256 * 3 * h * 1536; // Mixtral's experts: gate_up_proj and down_proj
    const norms = 2 * h;
    const total = 62 * (attention + sparse + norms) + 2 * 200064 * h + h;
    const arch = architectureFromConfig('minimax-m2', { model_type: 'minimax_m2' });
    expect(countParameters(arch).total).toBe(total);
    expect(total).toBe(228_689_764_864);
    expect(arch.moe?.router).toBe('fp32-biased-sigmoid');
  });
});

describe('Nemotron-H (modeling_nemotron_h.py: one module a block)', () => {
  // The Hub's config.json fields of NVIDIA-Nemotron-Nano-9B-v2 and NVIDIA-Nemotron-3-Nano-30B-A3B.
  const NANO_9B_V2 = {
    model_type: 'nemotron_h',
    vocab_size: 131072,
    hidden_size: 4480,
    intermediate_size: 15680,
    num_hidden_layers: 56,
    num_attention_heads: 40,
    num_key_value_heads: 8,
    head_dim: 128,
    hybrid_override_pattern: 'M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-',
    mamba_num_heads: 128,
    mamba_head_dim: 80,
    n_groups: 8,
    ssm_state_size: 128,
    conv_kernel: 4,
  };
  const NANO_3 = {
    model_type: 'nemotron_h',
    vocab_size: 131072,
    hidden_size: 2688,
    num_hidden_layers: 52,
    num_attention_heads: 32,
    num_key_value_heads: 2,
    head_dim: 128,
    hybrid_override_pattern: 'MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME',
    mamba_num_heads: 64,
    mamba_head_dim: 64,
    n_groups: 8,
    ssm_state_size: 128,
    n_routed_experts: 128,
    n_shared_experts: 1,
    moe_intermediate_size: 1856,
    moe_shared_expert_intermediate_size: 3712,
    num_experts_per_tok: 6,
  };
  /** NemotronHMamba2Mixer: in_proj h -> d_inner + conv_dim + heads, the depthwise conv1d over
   * conv_dim = d_inner + 2 x groups x state (weight of 4 taps and a bias), dt_bias, A_log and D
   * per head, the gated norm over d_inner, out_proj d_inner -> h; and the block's norm. */
  const mamba = (h: number, heads: number, headDim: number) => {
    const inner = heads * headDim;
    const conv = inner + 2 * 8 * 128;
    return h * (inner + conv + heads) + 5 * conv + 3 * heads + inner + inner * h + h;
  };
  const attention = (h: number, q: number, kv: number) => h * (2 * q + 2 * kv) + h;

  it('Nemotron Nano 9B v2: 8,888,227,328 parameters (the Hub: 8.89B): 27 Mamba-2, 4 attention and 25 MLP blocks', () => {
    const h = 4480;
    const mlp = 2 * h * 15680 + h; // up_proj, down_proj and the norm
    const total =
      27 * mamba(h, 128, 80) + 4 * attention(h, 40 * 128, 8 * 128) + 25 * mlp + 2 * 131072 * h + h;
    const arch = architectureFromConfig('nano-9b-v2', NANO_9B_V2);
    expect(countParameters(arch).total).toBe(total);
    expect(total).toBe(8_888_227_328);
    expect(arch.moe).toBeUndefined();
    expect([0, 1, 14].map((layer) => layerKind(arch, layer).key)).toEqual([
      'mamba2/full/mlp-none/nope',
      'none/full/mlp-dense/nope',
      'attention/full/mlp-none/nope',
    ]);
  });

  it("Nemotron 3 Nano 30B-A3B: 31.6B parameters, 3.6B active with the embeddings (NVIDIA's card: 31.6B, 3.6B)", () => {
    const h = 2688;
    // the router (128 x h) and its fp32 e_score_correction_bias, 128 experts of up_proj and
    // down_proj alone (no gate), one shared NemotronHMLP of 3,712, the norm
    const expert = 2 * h * 1856;
    const moe = 128 * h + 128 + 128 * expert + 2 * h * 3712 + h;
    const ends = 2 * 131072 * h + h;
    const blocks = 23 * mamba(h, 64, 64) + 6 * attention(h, 32 * 128, 2 * 128);
    const arch = architectureFromConfig('nano-3', NANO_3);
    const counts = countParameters(arch);
    expect(counts.total).toBe(blocks + 23 * moe + ends);
    expect(counts.total).toBe(31_577_940_288);
    expect(counts.active).toBe(blocks + 23 * (moe - 122 * expert) + ends);
    expect(arch.moe).toMatchObject({
      router: 'grouped-sigmoid',
      routerBiasFp32: true,
      renormalize: true,
      sharedExperts: 1,
      sharedExpertIntermediateSize: 3712,
    });
  });

  it('Nemotron 3 Super 120B-A12B: 120.7B parameters, 12.8B active (its name: 120B, A12B); 512 experts work in a latent width of 1,024', () => {
    const h = 4096;
    // 40 Mamba-2, 40 MoE and 8 attention blocks (their order, which no count reads, made up
    // here); each MoE block's fc1_latent_proj (h -> 1,024)
    // and fc2_latent_proj (back), its experts' up_proj and down_proj 1,024 wide at the ends
    const expert = 2 * 1024 * 2688;
    const moe = 512 * h + 512 + 512 * expert + 2 * h * 5376 + 2 * h * 1024 + h;
    const blocks = 40 * mamba(h, 128, 64) + 8 * attention(h, 32 * 128, 2 * 128) + 40 * moe;
    const pattern = 'ME'.repeat(20) + '*'.repeat(8) + 'ME'.repeat(20);
    const arch = architectureFromConfig('super', {
      ...NANO_3,
      hidden_size: h,
      num_hidden_layers: 88,
      hybrid_override_pattern: pattern,
      mamba_num_heads: 128,
      n_routed_experts: 512,
      num_experts_per_tok: 22,
      moe_intermediate_size: 2688,
      moe_shared_expert_intermediate_size: 5376,
      moe_latent_size: 1024,
    });
    const counts = countParameters(arch);
    expect(counts.total).toBe(blocks + 2 * 131072 * h + h);
    expect(counts.total).toBe(120_668_707_840);
    // a token passes 22 of the 512 experts in each of the 40 sparse blocks
    expect(counts.active).toBe(counts.total - 40 * (512 - 22) * expert);
  });

  it('reads layers_block_type, new names and old, and refuses a block type it does not know', () => {
    const types = ['mamba', 'linear_attention', 'attention', 'mlp'];
    const arch = architectureFromConfig('nh', {
      model_type: 'nemotron_h',
      layers_block_type: types,
    });
    expect(arch.numLayers).toBe(4);
    expect(arch.layerTypes).toEqual(['mamba2', 'mamba2', 'full_attention', 'mlp']);
    const bad = { model_type: 'nemotron_h', hybrid_override_pattern: 'M*X' };
    expect(() => architectureFromConfig('nh', bad)).toThrow(/config.hybrid_override_pattern/);
  });

  it('mlp and moe blocks belong to Nemotron-H alone: another model type with them is a 400', () => {
    const config = {
      model_type: 'llama',
      hidden_size: 256,
      num_attention_heads: 4,
      intermediate_size: 512,
      num_hidden_layers: 2,
      vocab_size: 1024,
      layerTypes: ['full_attention', 'mlp'],
    };
    expect(() => architectureFromConfig('x', config)).toThrow(/modelType/);
  });
});

describe('LLaVA (modeling_llava.py: a text model of its own family, a CLIP tower, a projector)', () => {
  // llava-hf/llava-1.5-7b-hf's config.json: text_config saved as its difference from LlamaConfig
  const LLAVA_15_7B = {
    model_type: 'llava',
    text_config: { model_type: 'llama', max_position_embeddings: 4096, vocab_size: 32064 },
    vision_config: {
      hidden_size: 1024,
      image_size: 336,
      intermediate_size: 4096,
      model_type: 'clip_vision_model',
      num_attention_heads: 16,
      num_hidden_layers: 24,
      patch_size: 14,
      projection_dim: 768,
    },
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
  };

  it('llava-1.5-7b-hf: 7,063,427,072 parameters (the Hub: 7.06B): Vicuna-7B, CLIP ViT-L/14 at 336 px, a two-linear projector', () => {
    const h = 4096;
    const text = 2 * 32064 * h + 32 * (4 * h * h + 3 * h * 11008 + 2 * h) + h;
    const v = 1024;
    // Conv2d patches without bias, the class embedding, 577 positions, pre_layrnorm and
    // post_layernorm; 24 blocks of biased q, k, v, out_proj, fc1 (4,096) and fc2 and two LayerNorms
    const block = 4 * (v * v + v) + (v * 4096 + 4096) + (4096 * v + v) + 2 * 2 * v;
    const tower = 3 * 14 * 14 * v + v + 577 * v + 2 * 2 * v + 24 * block;
    const projector = v * h + h + h * h + h;
    const arch = architectureFromConfig('llava-1.5-7b', LLAVA_15_7B);
    expect(countParameters(arch).total).toBe(text + tower + projector);
    expect(text + tower + projector).toBe(7_063_427_072);
    expect(arch.modelType).toBe('llama'); // its layers are planned as LlamaDecoderLayer runs them
    expect(arch.vision).toMatchObject({
      patchesPerImage: 577,
      tokensPerImage: 576,
      featureLayers: 23,
    });
  });

  it("reads text_config over its class's defaults (Mistral's window), and CLIPVisionConfig's under a vision_config given", () => {
    const mistral = architectureFromConfig('x', {
      model_type: 'llava',
      text_config: { model_type: 'mistral' },
      vision_config: { model_type: 'clip_vision_model' },
    });
    expect(mistral).toMatchObject({
      numKeyValueHeads: 8,
      intermediateSize: 14336,
      slidingWindow: 4096,
    });
    // CLIPVisionConfig(): 768 wide, 12 blocks, 224 px in 32-px patches
    expect(mistral.vision).toMatchObject({ hiddenSize: 768, layers: 12, patchesPerImage: 50 });
  });

  it('refuses by the field what it does not plan: a list of feature layers, another image encoder', () => {
    const list = { ...LLAVA_15_7B, vision_feature_layer: [-2, -5] };
    expect(() => architectureFromConfig('x', list)).toThrow(/config.vision_feature_layer/);
    const siglip = { ...LLAVA_15_7B, vision_config: { model_type: 'siglip_vision_model' } };
    expect(() => architectureFromConfig('x', siglip)).toThrow(/config.vision_config.model_type/);
    const badText = { ...LLAVA_15_7B, text_config: { model_type: 'llama', hidden_size: -1 } };
    expect(() => architectureFromConfig('x', badText)).toThrow(/config.text_config.hidden_size/);
  });

  it('llava-v1.6-mistral-7b-hf (llava_next): 7,566,747,648 parameters (the Hub: 7.57B) with image_newline; an image at the largest grid, 672 px: 5 crops, 2,928 tokens', () => {
    const h = 4096;
    const layer = 2 * h * h + 2 * h * 1024 + 3 * h * 14336 + 2 * h; // Mistral-7B's
    const text = 2 * 32064 * h + 32 * layer + h;
    const clip = 303_507_456; // the CLIP ViT-L/14 tower above
    const projector = 1024 * h + h + h * h + h;
    const arch = architectureFromConfig('llava-v1.6-mistral-7b', {
      ...LLAVA_15_7B,
      model_type: 'llava_next',
      image_grid_pinpoints: [
        [336, 672],
        [672, 336],
        [672, 672],
        [1008, 336],
        [336, 1008],
      ],
      text_config: {
        model_type: 'mistral',
        max_position_embeddings: 32768,
        sliding_window: null,
        vocab_size: 32064,
      },
    });
    expect(countParameters(arch).total).toBe(text + clip + projector + h);
    expect(text + clip + projector + h).toBe(7_566_747_648);
    // 672 x 672: the base crop and 2 x 2 tiles; 576 base tokens, then 48 rows of 48 and a newline
    expect(arch.vision).toMatchObject({
      crops: 5,
      patchesPerImage: 5 * 577,
      tokensPerImage: 576 + 48 * 49,
    });
    const full = {
      ...LLAVA_15_7B,
      model_type: 'llava_next',
      vision_feature_select_strategy: 'full',
    };
    expect(() => architectureFromConfig('x', full)).toThrow(
      /config.vision_feature_select_strategy/,
    );
  });
});

// Qwen2-0.5B's (and Qwen2.5-0.5B's) text stack, under the wrappers below: its layer is
// 896 wide, q, k and v biased (2 K/V heads of 64), o not.
const QWEN2_05B_TEXT = {
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
};
const QWEN2_05B_LAYER =
  896 * 896 + 896 + 2 * (896 * 128 + 128) + 896 * 896 + 3 * 896 * 4864 + 2 * 896;

describe('LLaVA-OneVision (modeling_llava_onevision.py: Qwen2, SigLIP over anyres crops, the grid resized)', () => {
  // llava-hf/llava-onevision-qwen2-0.5b-ov-hf's shape: Qwen2-0.5B's text stack (tied), SigLIP
  // so400m's blocks at 384 px (26 of them, no pooling head), LlavaOnevisionConfig's 36
  // pinpoints (1 to 6 crops of 384 px a side) and anyres_max_9
  const ONEVISION_05B = {
    model_type: 'llava_onevision',
    text_config: { ...QWEN2_05B_TEXT, vocab_size: 151936, tie_word_embeddings: true },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: 1152,
      intermediate_size: 4304,
      num_hidden_layers: 26,
      num_attention_heads: 16,
      image_size: 384,
      patch_size: 14,
      vision_use_head: false,
    },
  };

  it('893,618,208 parameters: Qwen2-0.5B, SigLIP with post_layernorm, the projector and image_newline', () => {
    const t = 896;
    const text = 151936 * t + 24 * QWEN2_05B_LAYER + t;
    const v = 1152;
    const block = siglipLayer(v, 4304);
    // Conv2d patches with bias, 729 positions, post_layernorm
    const tower = 3 * 14 * 14 * v + v + 729 * v + 2 * v + 26 * block;
    const projector = v * t + t + t * t + t;
    const arch = architectureFromConfig('llava-onevision-0.5b', ONEVISION_05B);
    expect(countParameters(arch).total).toBe(text + tower + projector + t);
    expect(text + tower + projector + t).toBe(893_618_208);
  });

  it("an image at the largest grid, 2,304 px: 37 crops; 36 tiles' 162 x 162 features resized to 81 x 81 (sqrt(26,244 / (9 x 729)) = 2), 7,371 tokens", () => {
    const arch = architectureFromConfig('llava-onevision-0.5b', ONEVISION_05B);
    // LLaVA's docs/LLaVA_OneVision.md: "729 * (9+1) tokens at most under anyres_max_9"; the
    // newline token ending each of the 81 rows comes on top
    expect(729 + 81 * 81).toBe(729 * (9 + 1));
    expect(arch.vision).toMatchObject({
      layout: 'onevision',
      crops: 37,
      cropFeatures: 729,
      patchesPerImage: 37 * 729,
      resizedGridTokens: 81 * 81,
      tokensPerImage: 729 + 81 * 82,
      featureLayers: 26, // vision_feature_layer -1: every block feeds the features
    });
    // a 2 x 2 grid's 54 x 54 features are within 1.1 of 9 crops' worth: kept as they are
    const small = architectureFromConfig('x', {
      ...ONEVISION_05B,
      image_grid_pinpoints: [[768, 768]],
    });
    expect(small.vision).toMatchObject({ crops: 5, tokensPerImage: 729 + 54 * 55 });
    expect(small.vision?.resizedGridTokens).toBeUndefined();
  });

  it("refuses by the field what it does not plan: 'default' (no class token to drop), another aspect-ratio mode, another tower", () => {
    const refused = (extra: Record<string, unknown>) => () =>
      architectureFromConfig('x', { ...ONEVISION_05B, ...extra });
    expect(refused({ vision_feature_select_strategy: 'default' })).toThrow(
      /config.vision_feature_select_strategy/,
    );
    expect(refused({ vision_aspect_ratio: 'anyres' })).toThrow(/config.vision_aspect_ratio/);
    expect(refused({ vision_config: { model_type: 'clip_vision_model' } })).toThrow(
      /config.vision_config.model_type/,
    );
  });
});

describe('Aya Vision (modeling_aya_vision.py: Cohere2, SigLIP, a pixel-shuffled SwiGLU projector)', () => {
  // CohereLabs/aya-vision-8b's shape: Command R7B's Cohere2 text stack (tied), SigLIP so400m's
  // blocks (27) at 364 px, downsample_factor 2, alignment_intermediate_size 28,672
  const AYA_8B = {
    model_type: 'aya_vision',
    downsample_factor: 2,
    alignment_intermediate_size: 28672,
    text_config: {
      model_type: 'cohere2',
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 256000,
      sliding_window: 4096,
      sliding_window_pattern: 4,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: 1152,
      intermediate_size: 4304,
      num_hidden_layers: 27,
      num_attention_heads: 16,
      image_size: 364,
      patch_size: 14,
      vision_use_head: false,
    },
  };

  it("8,631,842,032 parameters (the Hub card's 8.63B): Cohere2, SigLIP with post_layernorm, the projector's LayerNorm and two linears", () => {
    const t = 4096;
    // Cohere's bias-free LayerNorm (a weight), q, k, v, o, gate, up, down; the embedding tied
    const textLayer = t + t * t + 2 * t * 1024 + t * t + 3 * t * 14336;
    const text = 256000 * t + 32 * textLayer + t;
    const v = 1152;
    const block = siglipLayer(v, 4304);
    // Conv2d patches with bias, 26 x 26 positions, post_layernorm
    const tower = 3 * 14 * 14 * v + v + 676 * v + 2 * v + 27 * block;
    const shuffled = 4 * v; // 2 x 2 patches a token
    const projector = 2 * shuffled + (shuffled * 28672 + 28672) + (14336 * t + t);
    const arch = architectureFromConfig('aya-vision-8b', AYA_8B);
    expect(countParameters(arch).total).toBe(text + tower + projector);
    expect(text + tower + projector).toBe(8_631_842_032);
  });

  it("a 364-px tile's 26 x 26 patches shuffled 2 x 2: 169 tokens, every block feeding the features (vision_feature_layer -1)", () => {
    const arch = architectureFromConfig('aya-vision-8b', AYA_8B);
    expect(arch.vision).toMatchObject({
      layout: 'aya',
      patchesPerImage: 676,
      tokensPerImage: 169,
      pixelShuffle: 2,
      featureLayers: 27,
    });
    // AyaVisionProcessor's prompt: (img_size // (patch_size x downsample_factor))^2 tokens a tile
    expect(Math.floor(364 / (14 * 2)) ** 2).toBe(169);
  });

  it("builds Cohere2Config's defaults where no text_config is given, the class a given one names (llama where it names none)", () => {
    const { text_config: _, ...bare } = AYA_8B;
    // configuration_cohere2.py: hidden_size 8192, 40 layers, 64 heads, vocab 256,000
    expect(architectureFromConfig('x', bare)).toMatchObject({
      modelType: 'cohere2',
      hiddenSize: 8192,
      numLayers: 40,
      numAttentionHeads: 64,
      vocabSize: 256000,
    });
    const unnamed = { ...AYA_8B, text_config: { hidden_size: 4096, num_attention_heads: 32 } };
    expect(architectureFromConfig('x', unnamed).modelType).toBe('llama');
  });

  it("refuses by the field what it does not plan: 'default' features, another tower, a factor that does not divide the grid, an odd alignment width", () => {
    const refused = (extra: Record<string, unknown>) => () =>
      architectureFromConfig('x', { ...AYA_8B, ...extra });
    expect(refused({ vision_feature_select_strategy: 'default' })).toThrow(
      /config.vision_feature_select_strategy/,
    );
    expect(refused({ vision_config: { model_type: 'clip_vision_model' } })).toThrow(
      /config.vision_config.model_type/,
    );
    expect(refused({ downsample_factor: 3 })).toThrow(/config.downsample_factor/);
    expect(refused({ alignment_intermediate_size: 28673 })).toThrow(
      /config.alignment_intermediate_size/,
    );
  });
});

describe('InternVL (modeling_internvl.py: a text model of its own family, InternViT, a projector)', () => {
  // InternVL3-1B's shape: a Qwen2.5-0.5B text stack (its 151,674-token vocabulary, an untied
  // head), InternVLVisionConfig's defaults (InternViT-300M at 448 px)
  const INTERNVL3_1B = {
    model_type: 'internvl',
    text_config: { ...QWEN2_05B_TEXT, vocab_size: 151674, tie_word_embeddings: false },
    vision_config: {},
  };

  it("938,119,296 parameters: the text stack, InternViT-300M's 303,938,560 and the projector's LayerNorm and linears", () => {
    const t = 896;
    const textLayer = QWEN2_05B_LAYER;
    const text = 2 * 151674 * t + 24 * textLayer + t;
    const v = 1024;
    // q, k, v without biases, projection_layer with one; fc1 and fc2 biased; two LayerNorms;
    // lambda_1 and lambda_2
    const block = 3 * v * v + (v * v + v) + (v * 4096 + 4096) + (4096 * v + v) + 2 * 2 * v + 2 * v;
    // Conv2d patches with a bias, the class token, 1,025 positions
    const tower = 3 * 14 * 14 * v + v + v + 1025 * v + 24 * block;
    const shuffled = 4 * v; // 2 x 2 patches a token (downsample_ratio 0.5)
    const projector = 2 * shuffled + (shuffled * t + t) + (t * t + t);
    const arch = architectureFromConfig('internvl3-1b', INTERNVL3_1B);
    expect(tower).toBe(303_938_560);
    expect(countParameters(arch).total).toBe(text + tower + projector);
    expect(text + tower + projector).toBe(938_119_296);
    // 32 x 32 patches and the class token through the tower, 256 tokens an image
    expect(arch.vision).toMatchObject({
      patchesPerImage: 1025,
      tokensPerImage: 256,
      pixelShuffle: 2,
    });
    const qkNorms = { ...INTERNVL3_1B, vision_config: { use_qk_norm: true } };
    const withNorms = countParameters(architectureFromConfig('x', qkNorms)).total;
    expect(withNorms - countParameters(arch).total).toBe(24 * 2 * v);
  });

  it('refuses by the field what its code cannot run or the planner does not plan', () => {
    const refused = (patch: Record<string, unknown>) => () =>
      architectureFromConfig('x', { ...INTERNVL3_1B, ...patch });
    expect(refused({ vision_feature_layer: -2 })).toThrow(/config.vision_feature_layer/);
    expect(refused({ vision_feature_select_strategy: 'full' })).toThrow(
      /config.vision_feature_select_strategy/,
    );
    expect(refused({ vision_config: { use_mean_pooling: false } })).toThrow(
      /config.vision_config.use_mean_pooling/,
    );
    expect(refused({ downsample_ratio: 0.3 })).toThrow(/config.downsample_ratio/);
  });
});

describe('Idefics2 (modeling_idefics2.py: Mistral, SigLIP at 980 px, modality_projection, a perceiver resampler)', () => {
  // HuggingFaceM4/idefics2-8b's shape: Mistral-7B's text stack with 32,003 tokens (untied),
  // SigLIP so400m's blocks at 980 px (70 x 70 patches), Idefics2PerceiverConfig's defaults
  const IDEFICS2_8B = {
    model_type: 'idefics2',
    text_config: {
      model_type: 'mistral',
      vocab_size: 32003,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
    },
    perceiver_config: { hidden_size: 4096 },
    vision_config: {
      hidden_size: 1152,
      intermediate_size: 4304,
      num_hidden_layers: 27,
      num_attention_heads: 16,
      image_size: 980,
      patch_size: 14,
    },
  };

  it("8,402,768,112 parameters (the Hub's 8.4B): Mistral, SigLIP with post_layernorm, modality_projection and the resampler's latents, 3 layers and norm", () => {
    const t = 4096;
    const textLayer = 2 * t + t * t + 2 * t * 1024 + t * t + 3 * t * 14336;
    const text = 2 * 32003 * t + 32 * textLayer + t;
    const v = 1152;
    const block = siglipLayer(v, 4304);
    const tower = 3 * 14 * 14 * v + v + 4900 * v + 2 * v + 27 * block;
    const projection = 2 * v * 14336 + 14336 * t; // gate, up, down; no biases
    // RMSNorms over the latents, the context and after attention; q (16 x 96), k and v (4 x 96),
    // o; the MLP 4 x t wide
    const perceiverLayer = 3 * t + t * 1536 + 2 * t * 384 + 1536 * t + 3 * t * 4 * t;
    const resampler = 64 * t + 3 * perceiverLayer + t;
    const arch = architectureFromConfig('idefics2-8b', IDEFICS2_8B);
    expect(countParameters(arch).total).toBe(text + tower + projection + resampler);
    expect(text + tower + projection + resampler).toBe(8_402_768_112);
  });

  it('an image of 980 px: 4,900 patches through the tower, resampled to 64 tokens', () => {
    const arch = architectureFromConfig('idefics2-8b', IDEFICS2_8B);
    expect(arch.vision).toMatchObject({
      layout: 'idefics2',
      patchesPerImage: 70 * 70,
      tokensPerImage: 64,
      resampler: { latents: 64, depth: 3, heads: 16, kvHeads: 4, headDim: 96 },
    });
    expect(arch.wrapperType).toBe('idefics2');
  });

  it("refuses by the field K/V heads that do not divide the resampler's query heads", () => {
    const config = { ...IDEFICS2_8B, perceiver_config: { num_key_value_heads: 5 } };
    expect(() => architectureFromConfig('x', config)).toThrow(
      /config.perceiver_config.num_key_value_heads/,
    );
  });
});

describe('Idefics3 and SmolVLM (modeling_idefics3.py, modular_smolvlm.py)', () => {
  // SmolVLM-256M's shape: SmolLM2-135M's text stack with an untied head, which the name's 256M
  // needs; a SigLIP-base tower at 512 px in 16-px patches; 4 x 4 patches a token
  const SMOLVLM_256M = {
    model_type: 'smolvlm',
    scale_factor: 4,
    text_config: {
      model_type: 'llama',
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      vocab_size: 49280,
      tie_word_embeddings: false,
    },
    vision_config: {
      hidden_size: 768,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      image_size: 512,
      patch_size: 16,
    },
  };

  it("256,484,928 parameters (the name's 256M): the text stack, SigLIP's layers and post_layernorm, one bias-free projection", () => {
    const t = 576;
    const textLayer = t * t + 2 * t * 192 + t * t + 3 * t * 1536 + 2 * t; // 3 K/V heads of 64
    const text = 2 * 49280 * t + 30 * textLayer + t;
    const v = 768;
    const block = 4 * (v * v + v) + (v * 3072 + 3072) + (3072 * v + v) + 2 * 2 * v;
    const tower = 3 * 16 * 16 * v + v + 1024 * v + 12 * block + 2 * v; // 32 x 32 patches
    const projection = 16 * v * t;
    const arch = architectureFromConfig('smolvlm-256m', SMOLVLM_256M);
    expect(countParameters(arch).total).toBe(text + tower + projection);
    expect(text + tower + projection).toBe(256_484_928);
    expect(arch.vision).toMatchObject({ patchesPerImage: 1024, tokensPerImage: 64 });
  });

  it('a 384-px image in 14-px patches: 27 x 27 of them (the Conv2d strides by its kernel), 81 tokens at scale_factor 3', () => {
    // SmolVLM2-2.2B's tower: SigLIP so400m at 384 px; its position embedding has a row a patch
    const vision = {
      hidden_size: 1152,
      intermediate_size: 4304,
      num_hidden_layers: 27,
      num_attention_heads: 16,
      image_size: 384,
      patch_size: 14,
    };
    const arch = architectureFromConfig('x', {
      ...SMOLVLM_256M,
      scale_factor: 3,
      vision_config: vision,
    });
    expect(arch.vision).toMatchObject({ patchesPerImage: 729, tokensPerImage: 81 });
    const conv = 3 * 14 * 14 * 1152 + 1152;
    expect(arch.vision!.embeddingParameters).toBe(conv + 729 * 1152 + 2 * 1152);
  });

  it('refuses a scale_factor that does not divide the patch grid, by the field', () => {
    const odd = { ...SMOLVLM_256M, scale_factor: 3 }; // 32 patches a side
    expect(() => architectureFromConfig('x', odd)).toThrow(/config.scale_factor/);
  });
});

describe('PaliGemma (modeling_paligemma.py)', () => {
  // google/paligemma-3b-pt-224's config.json: Gemma-2B's text stack over 257,216 tokens (its
  // text_config saved as the difference from GemmaConfig's defaults: head_dim 256, a tied head),
  // SigLIP so400m at 224 px without its pooling head, projection_dim 2,048.
  const PALIGEMMA_3B = {
    model_type: 'paligemma',
    projection_dim: 2048,
    text_config: {
      model_type: 'gemma',
      hidden_size: 2048,
      intermediate_size: 16384,
      num_attention_heads: 8,
      num_hidden_layers: 18,
      num_key_value_heads: 1,
      vocab_size: 257216,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: 1152,
      intermediate_size: 4304,
      num_attention_heads: 16,
      num_hidden_layers: 27,
      patch_size: 14,
      projection_dim: 2048,
      vision_use_head: false,
    },
  };
  const t = 2048;
  const textLayer = t * t + 2 * t * 256 + t * t + 3 * t * 16384 + 2 * t; // 8 heads of 256, 1 K/V
  const text = (vocab: number) => vocab * t + 18 * textLayer + t;
  const v = 1152;
  const block = siglipLayer(v, 4304);
  const tower = 3 * 14 * 14 * v + v + 256 * v + 27 * block + 2 * v; // 16 x 16 patches
  const projector = v * t + t;

  it("2,923,466,480 parameters; at 257,152 tokens 2,923,335,408, keras-hub's pali_gemma_3b_mix_224", () => {
    const arch = architectureFromConfig('paligemma-3b', PALIGEMMA_3B);
    expect(countParameters(arch).total).toBe(text(257216) + tower + projector);
    expect(text(257216) + tower + projector).toBe(2_923_466_480);
    const keras = {
      ...PALIGEMMA_3B,
      text_config: { ...PALIGEMMA_3B.text_config, vocab_size: 257152 },
    };
    expect(countParameters(architectureFromConfig('paligemma', keras)).total).toBe(2_923_335_408);
    expect(arch.vision).toMatchObject({ tokensPerImage: 256, bidirectional: 'prefix' });
    expect(arch.tieWordEmbeddings).toBe(true);
  });

  it('refuses a projection_dim other than the text width, by the field', () => {
    const wide = { ...PALIGEMMA_3B, projection_dim: 4096 };
    expect(() => architectureFromConfig('x', wide)).toThrow(/config.projection_dim/);
  });
});

describe('ModernBERT (modular_modernbert.py)', () => {
  // answerdotai/ModernBERT-base's config.json: ModernBertConfig's defaults
  const MODERNBERT_BASE = {
    model_type: 'modernbert',
    architectures: ['ModernBertForMaskedLM'],
    vocab_size: 50368,
    hidden_size: 768,
    intermediate_size: 1152,
    num_hidden_layers: 22,
    num_attention_heads: 12,
    global_attn_every_n_layers: 3,
    local_attention: 128,
  };
  /** Bias-free LayerNorms (h each), Wqkv, Wo, Wi (2f) and Wo without biases; layer 0 has no
   * attn_norm. */
  const model = (h: number, f: number, layers: number) => {
    const layer = 3 * h * h + h * h + 2 * h * f + f * h + 2 * h;
    return 50368 * h + h + layers * layer - h + h; // embeddings and their norm, final_norm
  };

  it('ModernBERT-base 149,014,272 and -large 394,781,696 (the cards: 149M, 395M); the masked LM adds the head (dense, norm) and the decoder bias', () => {
    const arch = architectureFromConfig('modernbert-base', MODERNBERT_BASE);
    const counts = countParameters(arch);
    expect(model(768, 1152, 22)).toBe(149_014_272);
    expect(counts.total).toBe(149_014_272 + 768 * 768 + 768 + 50368);
    expect(counts.layers[0].norms).toBe(768);
    expect(counts.layers[1].norms).toBe(2 * 768);
    const large = { ...MODERNBERT_BASE, hidden_size: 1024, intermediate_size: 2624 };
    const largeArch = architectureFromConfig('modernbert-large', {
      ...large,
      num_hidden_layers: 28,
      num_attention_heads: 16,
    });
    expect(model(1024, 2624, 28)).toBe(394_781_696);
    expect(countParameters(largeArch).total).toBe(394_781_696 + 1024 * 1024 + 1024 + 50368);
    // every third layer global, the others attending 64 keys each side (sliding_window + 1)
    expect(arch.layerTypes!.slice(0, 4)).toEqual([
      'full_attention',
      'sliding_attention',
      'sliding_attention',
      'full_attention',
    ]);
    expect(arch.slidingWindow).toBe(65);
  });

  it('as a sequence classifier: ModernBertPredictionHead (dense without a bias, GELU, norm) and the classifier', () => {
    const classifier = {
      ...MODERNBERT_BASE,
      architectures: ['ModernBertForSequenceClassification'],
      num_labels: 2,
    };
    const arch = architectureFromConfig('modernbert-cls', classifier);
    expect(countParameters(arch).total).toBe(149_014_272 + 768 * 768 + 768 + (768 * 2 + 2));
    expect(arch.notes ?? []).toEqual([]);
    const refused = (extra: Record<string, unknown>) => () =>
      architectureFromConfig('m', { ...classifier, ...extra });
    expect(refused({ classifier_pooling: 'max' })).toThrow(/config.classifier_pooling/);
    expect(refused({ global_attn_every_n_layers: 0 })).toThrow(/global_attn_every_n_layers/);
    const mean = architectureFromConfig('m', { ...classifier, classifier_pooling: 'mean' });
    expect(mean.notes!.join(' ')).toMatch(/'mean' multiplies the \(b, s, h\) last hidden state/);
  });
});

describe('BART (modeling_bart.py)', () => {
  // BartConfig's defaults are bart-large's shape; its config.json names them the same way.
  const BART_LARGE = { model_type: 'bart', architectures: ['BartForConditionalGeneration'] };
  const arch = architectureFromConfig('bart-large', BART_LARGE);
  const h = 1024;
  const attention = 4 * (h * h + h); // k, v, q, out_proj, each biased
  const mlp = h * 4096 + 4096 + 4096 * h + h; // fc1, fc2
  const layerNorm = 2 * h;

  it('counts bart-large: 406,291,456 parameters, each stack with its own positions and norm', () => {
    const shared = 50265 * h; // lm_head is tied to it
    const positions = 2 * (1024 + 2) * h; // BartLearnedPositionalEmbedding: 2 offset rows
    const embeddingNorms = 2 * layerNorm; // layernorm_embedding, one per stack
    const encoderLayer = attention + layerNorm + mlp + layerNorm;
    const decoderLayer = encoderLayer + attention + layerNorm; // encoder_attn and its norm
    const total = shared + positions + embeddingNorms + 12 * encoderLayer + 12 * decoderLayer;
    expect(total).toBe(406_291_456);
    expect(countParameters(arch).total).toBe(total);
  });

  it('reads the post-LN layers, the GELU MLP and no final norm (BartDecoder has none)', () => {
    expect([arch.numLayers, arch.encoder?.numLayers]).toEqual([24, 12]);
    expect([arch.normAfterResidual, arch.finalNorm, arch.activation]).toEqual([
      true,
      false,
      'gelu',
    ]);
    expect(arch.dropout).toEqual({ attention: 0, residual: 0.1, embedding: 0.1 });
  });

  it("reads BartConfig's own names first, the common ones it maps (hidden_size) where they are absent", () => {
    const narrow = architectureFromConfig('bart', { model_type: 'bart', hidden_size: 256 });
    expect(narrow.hiddenSize).toBe(256);
    const both = architectureFromConfig('bart', { ...BART_LARGE, d_model: 512, hidden_size: 256 });
    expect(both.hiddenSize).toBe(512);
  });

  it('puts the cross-attention linears in decoder layers only', () => {
    const names = (layer: number) => linearShapes(arch, layer).map((shape) => shape.name);
    expect(names(11)).not.toContain('cross_attn.q_proj');
    expect(names(12)).toContain('cross_attn.q_proj');
  });

  it('refuses, by field, a decoder shaped unlike its encoder and heads it has no recipe for', () => {
    const refused = (extra: Record<string, unknown>) => {
      try {
        architectureFromConfig('bart', { ...BART_LARGE, ...extra });
      } catch (error) {
        return (error as { errors: { field: string }[] }).errors.map((e) => e.field);
      }
      return [];
    };
    expect(refused({ decoder_ffn_dim: 3072 })).toEqual(['config.decoder_ffn_dim']);
    expect(refused({ encoder_attention_heads: 8 })).toEqual(['config.decoder_attention_heads']);
    expect(refused({ activation_function: 'gelu_new' })).toEqual(['config.activation_function']);
    expect(refused({ activation_function: 'swish' })).toEqual([]); // Marian's: F.silu
    expect(refused({ decoder_layers: 0 })).toEqual(['config.decoder_layers']);
    expect(refused({ decoder_layers: 1e9 })).toEqual(['config.decoder_layers']);
    expect(refused({ encoder_layers: 0 })).toEqual(['config.encoder_layers']); // not its alias
    expect(refused({ d_model: 0 })).toEqual(['config.d_model']);
    // BartAttention takes embed_dim // num_heads and raises where it is not whole: no head_dim.
    expect(refused({ d_model: 1000 })).toEqual(['config.encoder_attention_heads']);
    expect(refused({ activation_function: 'relu' })).toEqual([]);
    expect(refused({ architectures: ['BartForSequenceClassification'] })).toEqual([
      'config.architectures',
    ]);
  });
});

describe('mBART (modeling_mbart.py)', () => {
  // facebook/mbart-large-cc25's shape: bart-large's layers, a 250,027-token vocabulary, the
  // embedding scaled by sqrt(d_model).
  const MBART = {
    model_type: 'mbart',
    architectures: ['MBartForConditionalGeneration'],
    vocab_size: 250027,
    scale_embedding: true,
  };
  const arch = architectureFromConfig('mbart-large-cc25', MBART);

  it('counts mbart-large-cc25: 610,851,840 parameters, each stack ending with its own layer_norm', () => {
    const h = 1024;
    const layerNorm = 2 * h;
    const attention = 4 * (h * h + h);
    const encoderLayer = attention + layerNorm + (h * 4096 + 4096 + 4096 * h + h) + layerNorm;
    const decoderLayer = encoderLayer + attention + layerNorm;
    const stackEnds = 2 * ((1024 + 2) * h + layerNorm + layerNorm); // positions, two norms
    const total = 250027 * h + stackEnds + 12 * encoderLayer + 12 * decoderLayer;
    expect(total).toBe(610_851_840);
    expect(countParameters(arch).total).toBe(total);
  });

  it('normalises before each sub-layer (pre-LN), unlike BART', () => {
    expect([arch.normAfterResidual, arch.finalNorm, arch.encoder?.finalNorm]).toEqual([
      undefined,
      true,
      true,
    ]);
  });
});

describe('Whisper (modeling_whisper.py): an audio encoder of fixed frames, a text decoder', () => {
  // openai/whisper-large-v3's config.json (written out in inference/architectures.fixture.ts)
  const WHISPER_LARGE_V3 = WHISPER_LARGE_V3_CONFIG;
  const FULL = { method: 'full' } as TrainingSettings;
  /** WhisperEncoderLayer and WhisperDecoderLayer at width h, MLP f: q, v and out_proj biased,
   * k_proj not; two LayerNorms (and the decoder's encoder_attn with its own). */
  const layers = (h: number, f: number) => {
    const attention = 4 * h * h + 3 * h;
    const encoder = attention + (h * f + f + f * h + h) + 2 * 2 * h;
    return { encoder, decoder: encoder + attention + 2 * h };
  };
  /** conv1 (mel x h x 3 with a bias), conv2 (h x h x 3 with a bias), the frozen table. */
  const audioInput = (h: number, mel: number, frames: number) =>
    mel * h * 3 + h + h * h * 3 + h + frames * h;

  it("counts whisper-large-v3: 1,543,490,560 parameters (the Hub's 1.54B), its encoder's 1,500 x 1,280 sinusoidal table never trained", () => {
    const h = 1280;
    const { encoder, decoder } = layers(h, 5120);
    // the decoder's tokens (tied to proj_out) and learned table, a layer_norm ending each stack
    const total =
      51866 * h + 448 * h + audioInput(h, 128, 1500) + 32 * encoder + 32 * decoder + 2 * 2 * h;
    expect(total).toBe(1_543_490_560);
    const arch = architectureFromConfig('whisper-large-v3', WHISPER_LARGE_V3);
    expect(countParameters(arch).total).toBe(total);
    expect(trainableParameters(arch, FULL, undefined)).toBe(total - 1500 * h);
    expect(arch.encoder?.audio).toEqual({ melBins: 128, frames: 1500 });
  });

  it("reads WhisperConfig's defaults (whisper-tiny's shape: 37,760,640), and plans the decoder's 448 positions at most", () => {
    const h = 384;
    const { encoder, decoder } = layers(h, 1536);
    const total = 51865 * h + 448 * h + audioInput(h, 80, 1500) + 4 * encoder + 4 * decoder + 4 * h;
    expect(total).toBe(37_760_640);
    const arch = architectureFromConfig('whisper-tiny', { model_type: 'whisper' });
    expect(countParameters(arch).total).toBe(total);
    expect(arch.maxPositionEmbeddings).toBe(448);
  });

  it("refuses the audio classifier's head by the field", () => {
    const classifier = { ...WHISPER_LARGE_V3, architectures: ['WhisperForAudioClassification'] };
    expect(() => architectureFromConfig('x', classifier)).toThrow(/config.architectures/);
  });
});

describe("Marian and Pegasus (modeling_marian.py, modeling_pegasus.py): BART's layers, frozen sinusoidal tables", () => {
  // Helsinki-NLP/opus-mt-en-de's config.json: 6 + 6 layers of 512, 8 heads, a 2,048-wide SiLU
  // MLP, 512 positions, a 58,101-token vocabulary shared by both stacks and the tied head.
  const OPUS_MT = {
    model_type: 'marian',
    architectures: ['MarianMTModel'],
    d_model: 512,
    encoder_layers: 6,
    decoder_layers: 6,
    encoder_ffn_dim: 2048,
    decoder_ffn_dim: 2048,
    encoder_attention_heads: 8,
    decoder_attention_heads: 8,
    vocab_size: 58101,
    max_position_embeddings: 512,
    activation_function: 'swish',
    scale_embedding: true,
  };
  // google/pegasus-large's config.json: 16 + 16 pre-LN layers of 1,024, 1,024 positions,
  // a 96,103-token vocabulary.
  const PEGASUS_LARGE = {
    model_type: 'pegasus',
    architectures: ['PegasusForConditionalGeneration'],
    encoder_layers: 16,
    decoder_layers: 16,
    vocab_size: 96103,
    activation_function: 'relu',
    scale_embedding: true,
  };
  /** A post-LN (Marian) or pre-LN (Pegasus) encoder and decoder layer of width h, MLP f. */
  const layers = (h: number, f: number) => {
    const attention = 4 * (h * h + h); // q, k, v, out_proj, each biased
    const encoder = attention + 2 * h + (h * f + f + f * h + h) + 2 * h; // two LayerNorms
    return { encoder, decoder: encoder + attention + 2 * h }; // encoder_attn and its norm
  };
  const FULL = { method: 'full' } as TrainingSettings;

  it('counts opus-mt-en-de: 74,410,496 parameters, two 512 x 512 sinusoidal tables of them never trained', () => {
    const arch = architectureFromConfig('opus-mt-en-de', OPUS_MT);
    const { encoder, decoder } = layers(512, 2048);
    const tables = 2 * 512 * 512; // no offset rows, no layernorm_embedding
    const total = 58101 * 512 + tables + 6 * encoder + 6 * decoder;
    expect(total).toBe(74_410_496);
    expect(countParameters(arch).total).toBe(total);
    expect(trainableParameters(arch, FULL, undefined)).toBe(total - tables);
    expect([arch.normAfterResidual, arch.finalNorm, arch.embeddingNorm]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('counts pegasus-large: 568,699,904 trained parameters and two frozen 1,024 x 1,024 tables', () => {
    const arch = architectureFromConfig('pegasus-large', PEGASUS_LARGE);
    const h = 1024;
    const { encoder, decoder } = layers(h, 4096);
    const tables = 2 * 1024 * h;
    const stackNorms = 2 * 2 * h; // each stack's final layer_norm
    const trained = 96103 * h + stackNorms + 16 * encoder + 16 * decoder;
    expect(trained).toBe(568_699_904);
    expect(countParameters(arch).total).toBe(trained + tables);
    expect(trainableParameters(arch, FULL, undefined)).toBe(trained);
    expect([arch.normAfterResidual, arch.finalNorm, arch.encoder?.finalNorm]).toEqual([
      undefined,
      true,
      true,
    ]);
  });

  it('counts NLLB-200-distilled-600M (M2M100): 615,073,792 parameters, its tables buffers that parameters() leaves out', () => {
    // facebook/nllb-200-distilled-600M's config.json: M2M100Config's shape (12 + 12 pre-LN
    // layers of 1,024, a 4,096-wide ReLU MLP) over a 256,206-token vocabulary.
    const nllb = { model_type: 'm2m_100', vocab_size: 256206 };
    const arch = architectureFromConfig('nllb-200-distilled-600M', nllb);
    const h = 1024;
    const { encoder, decoder } = layers(h, 4096);
    const total = 256206 * h + 2 * 2 * h + 12 * encoder + 12 * decoder; // each stack's layer_norm
    expect(total).toBe(615_073_792);
    expect(countParameters(arch).total).toBe(total);
    expect(trainableParameters(arch, FULL, undefined)).toBe(total);
    expect([arch.positionTable, arch.learnedPositionEmbeddings, arch.activation]).toEqual([
      'buffer',
      1026, // max_position_embeddings + offset 2
      'relu',
    ]);
  });

  it('refuses, by field, separate encoder and decoder embeddings and heads it has no recipe for', () => {
    const refused = (config: Record<string, unknown>) => {
      try {
        architectureFromConfig('marian', config);
      } catch (error) {
        return (error as { errors: { field: string; message: string }[] }).errors;
      }
      return [];
    };
    expect(
      refused({ ...OPUS_MT, share_encoder_decoder_embeddings: false }).map((e) => e.field),
    ).toEqual(['config.share_encoder_decoder_embeddings']);
    const [head] = refused({ ...OPUS_MT, architectures: ['MarianForCausalLM'] });
    expect(head.field).toBe('config.architectures');
    expect(head.message).toContain('plan MarianMTModel');
    expect(refused({ ...PEGASUS_LARGE, activation_function: 'gelu_new' })[0].message).toContain(
      'not planned for Pegasus',
    );
  });
});
