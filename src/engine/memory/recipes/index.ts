// Which layer recipe plans a model: its family's model code, as the request runs it.
import { ModelArchitecture, NormKind, PlanRequest } from '../../vocabulary';
import { hfBertRecipe } from './hf-bert';
import { hfDebertaV2Recipe } from './hf-deberta';
import { hfDebertaRecipe } from './hf-deberta-v1';
import { hfBloomRecipe } from './hf-bloom';
import { hfDeepseekRecipe } from './hf-deepseek';
import { hfJambaRecipe, hfMamba2HybridRecipe, hfMambaRecipe } from './hf-mamba';
import { hfLfm2Recipe } from './hf-lfm2';
import { hfQwen3NextRecipe } from './hf-qwen3-next';
import { hfFalconH1Recipe } from './hf-falcon-h1';
import { hfNemotronHRecipe } from './hf-nemotron-h';
import { hfT5Recipe } from './hf-t5';
import { hfBartRecipe, hfWhisperRecipe } from './hf-bart';
import { hfMllamaRecipe } from './hf-mllama';
import { hfParallelRecipe } from './hf-parallel';
import { hfGpt2Recipe } from './hf-gpt2';
import { hfGptNeoRecipe } from './hf-gpt-neo';
import { hfMptRecipe } from './hf-mpt';
import { hfOptRecipe } from './hf-opt';
import { hfLlamaRecipe, LLAMA, LlamaVariant } from './hf-llama';
import { litgptRecipe } from './litgpt';
import { nativeLlamaRecipe } from './native-llama';
import { megatronRecipe } from './megatron';
import { LayerRecipe, ModelEnds } from './recipe';
import {
  AttentionPlan,
  bidirectionalImagesNote,
  eagerOnly,
  hfAttentionPlan,
} from './attention-kernel';
import { PARALLEL_EXPERTS } from './hf-moe';
import { dtypePolicy } from '../../request/dtype-policy';
import { frameworkCode } from '../../model/model-code';

/** How the Llama layer applies each norm kind: LlamaRMSNorm, nn.LayerNorm (with or without its
 * bias), OLMo-1's OlmoLayerNorm. */
const LAYER_NORMS: Record<NormKind, LlamaVariant['rmsNorm']> = {
  rmsnorm: 'llama',
  layernorm: 'layernorm',
  'layernorm-nobias': 'layernorm',
  'layernorm-weightless': 'weightless',
  layernorm1p: 'layernorm1p',
};

function activationOf(arch: ModelArchitecture): LlamaVariant['activation'] {
  if (arch.activation === 'relu2' || arch.activation === 'xielu') return arch.activation;
  return arch.activation.startsWith('gelu') ? 'gelu' : 'silu';
}

/** The Llama-family variant an architecture is, from its fields. */
function llamaVariant(arch: ModelArchitecture): LlamaVariant {
  const noRope = new Set(arch.noRopeLayers ?? []);
  return {
    ...LLAMA,
    // NoPE layers (Llama-4, SmolLM3): q and k go to attention as projected.
    ropeFor: noRope.size > 0 ? (layer) => !noRope.has(layer) : undefined,
    norms: arch.normsPerLayer === 4 ? 'sandwich' : 'pre',
    rmsNorm: LAYER_NORMS[arch.norm],
    plainMlp: arch.mlp === 'plain',
    qkNorm: arch.qkNorm ? (arch.qkNormPerHead ? 'whole' : 'per-head') : undefined,
    activation: activationOf(arch),
    outputGate: arch.attentionOutputGate,
    normlessFirstAttention: arch.normlessFirstAttention,
  };
}

/** Gemma, Gemma-2, Gemma-3 (modeling_gemma*.py): (1 + weight) RMSNorms in fp32, the embedding
 * scaled by sqrt(hidden) in the hidden dtype (GemmaModel.forward's normalizer,
 * Gemma3TextScaledWordEmbedding), Gemma RMSNorm at the end too. */
function gemmaRecipe(arch: ModelArchitecture): LayerRecipe {
  const recipe = hfLlamaRecipe({ ...llamaVariant(arch), rmsNorm: 'gemma' });
  const gemma3 = arch.modelType?.startsWith('gemma3') === true;
  return {
    ...recipe,
    source: `transformers models/${arch.modelType}/modeling_${arch.modelType}.py`,
    ends: {
      scaledEmbedding: true,
      finalNorm: 'gemma',
      // Gemma3TextScaledWordEmbedding scales inside the module: inputs_embeds is scaled; its
      // rotary module makes a pair for the global layers and one (rope_local_base_freq) for
      // the local ones
      embeddingLocal: gemma3 ? 'output' : 'lookup',
      rotaryPerLayerType: gemma3,
    },
  };
}

/** Granite 3.x (modeling_granite.py): Llama's layer, each sub-layer's output scaled before its
 * residual add; GraniteModel.forward rebinds inputs_embeds to the embedding times
 * embedding_multiplier (the scaled tensor is the local kept), GraniteForCausalLM divides the
 * logits by logits_scaling. attention_multiplier only replaces the softmax scale. Granite-MoE
 * (modular_granitemoe.py) runs the same layer around GraniteMoeMoE: JetMoE's parallel experts
 * (hf-moe.ts parallelExperts) under its top-k gating; Granite 4.0 (modular_granitemoehybrid.py)
 * puts Mamba-2 mixers in some layers' place of attention (hf-mamba.ts). */
function graniteRecipe(arch: ModelArchitecture): LayerRecipe {
  const hybrid = arch.modelType === 'granitemoehybrid';
  const variant: LlamaVariant = {
    ...llamaVariant(arch),
    scaledResidual: true,
    ...(arch.moe ? { experts: PARALLEL_EXPERTS } : {}),
  };
  const ends: ModelEnds = { scaledEmbedding: true, embeddingLocal: 'output', scaledLogits: true };
  if (!hybrid) {
    return {
      ...hfLlamaRecipe(variant),
      source: arch.moe
        ? `transformers models/${arch.modelType}/modular_${arch.modelType}.py (GraniteMoe decoder layer)`
        : 'transformers models/granite/modeling_granite.py (GraniteDecoderLayer)',
      ends,
    };
  }
  const source =
    'transformers models/granitemoehybrid/modular_granitemoehybrid.py (GraniteMoeHybridDecoderLayer)';
  return { ...hfMamba2HybridRecipe(arch, variant, source), ends };
}

/** Bamba (modular_bamba.py): Llama's layers, Mamba-2 mixers in all but attn_layer_indices. Its
 * RoPE covers half of each head (partial_rotary_factor 0.5), planned over the whole head as the
 * other partial-rotary families are (larger tables and rotation transients, the same kept
 * bytes). */
function bambaRecipe(arch: ModelArchitecture): LayerRecipe {
  return hfMamba2HybridRecipe(
    arch,
    llamaVariant(arch),
    'transformers models/bamba/modular_bamba.py (BambaDecoderLayer, BambaMixer)',
  );
}

/** Qwen3-Next (modular_qwen3_next.py): Gemma-3's (1 + weight) RMSNorms, its final norm too;
 * gated attention and Gated DeltaNet mixers (hf-qwen3-next.ts). Its RoPE covers a quarter of each
 * head (partial_rotary_factor 0.25), planned over the whole head as Bamba's is. */
function qwen3NextRecipe(arch: ModelArchitecture): LayerRecipe {
  const variant: LlamaVariant = { ...llamaVariant(arch), rmsNorm: 'gemma' };
  return { ...hfQwen3NextRecipe(arch, variant), ends: { finalNorm: 'gemma' } };
}

/** Qwen3.5 and Qwen3.5-MoE (modular_qwen3_5.py, modeling_qwen3_5_moe.py): Qwen3-Next's layers
 * and ends, the Gated DeltaNet's four projections (GatedDeltaConfig.splitProjections). */
function qwen3_5Recipe(arch: ModelArchitecture): LayerRecipe {
  const variant: LlamaVariant = { ...llamaVariant(arch), rmsNorm: 'gemma' };
  const file = arch.moe ? 'qwen3_5_moe/modeling_qwen3_5_moe.py' : 'qwen3_5/modular_qwen3_5.py';
  const source = `transformers models/${file} (Qwen3_5DecoderLayer, Qwen3_5GatedDeltaNet)`;
  return { ...hfQwen3NextRecipe(arch, variant, source), ends: { finalNorm: 'gemma' } };
}

/** A family that runs Llama's layer with the knobs its fields set (llamaVariant) and any of its
 * own, planned under its own model file (`transformers models/<file>`). */
function llamaLayer(
  file: string,
  knobs: (arch: ModelArchitecture) => Partial<LlamaVariant> = () => ({}),
  ends?: ModelEnds,
) {
  return (arch: ModelArchitecture): LayerRecipe => ({
    ...hfLlamaRecipe({ ...llamaVariant(arch), ...knobs(arch) }),
    source: `transformers models/${file}`,
    ...(ends ? { ends } : {}),
  });
}

/** GLM-4's RoPE: tables over partial_rotary_factor of each head, repeat-interleaved each layer. */
const glmRotary = (arch: ModelArchitecture) => ({
  interleavedRotary: arch.partialRotaryFactor ?? 0.5,
});

/** StarCoder2's and Seed-OSS's residual_dropout on each sub-layer's output, before its add. */
const residualDropout = (arch: ModelArchitecture) => ({
  residualDropout: arch.dropout?.residual ?? 0,
});

/** OLMo-2 and OLMo-3 (modeling_olmo2.py, modeling_olmo3.py): norms after attention and MLP
 * only, RMSNorms that multiply by the weight in fp32, q/k norms over the whole projections,
 * OLMo-2's fp32 rotary tables. */
function olmo2Recipe(arch: ModelArchitecture): LayerRecipe {
  const variant: LlamaVariant = {
    ...llamaVariant(arch),
    norms: 'post',
    rmsNorm: 'fp32-weight',
    qkNorm: 'whole',
    rotaryCastBack: true,
  };
  // OLMo-3's rotary module is Gemma-2's: cos and sin come back in the hidden dtype, so q and k
  // rotate in it and the cast back is a no-op (modeling_olmo3.py Olmo3RotaryEmbedding).
  const olmo3 = arch.modelType === 'olmo3';
  return {
    ...hfLlamaRecipe(variant),
    source: olmo3
      ? 'transformers models/olmo3/modeling_olmo3.py (Olmo3DecoderLayer)'
      : 'transformers models/olmo2/modeling_olmo2.py (Olmo2DecoderLayer)',
    ends: { finalNorm: 'fp32-weight', rotaryFp32: !olmo3 },
  };
}

/** FlexOlmo (modular_flex_olmo.py): OLMo-2's layer around OLMoE's sparse block, whose experts
 * and router follow from the fields. */
function flexOlmoRecipe(arch: ModelArchitecture): LayerRecipe {
  return {
    ...olmo2Recipe(arch),
    source: 'transformers models/flex_olmo/modular_flex_olmo.py (FlexOlmoDecoderLayer)',
  };
}

/** gpt-oss (modeling_gpt_oss.py): no SDPA path (_supports_sdpa = False), so its eager attention
 * with a sink logit per head runs whatever is asked; experts with the clamped GLU. */
function gptOssRecipe(arch: ModelArchitecture): LayerRecipe {
  const recipe = hfLlamaRecipe({ ...llamaVariant(arch), experts: { clampedGlu: true } });
  return {
    ...recipe,
    source: 'transformers models/gpt_oss/modeling_gpt_oss.py (GptOssDecoderLayer)',
    attention: eagerOnly(
      "gpt-oss's model code has no SDPA path (attention sinks): its eager attention runs and keeps every score matrix",
    ),
  };
}

/** The note of model code whose attention classes are eager and flash_attention_2 only
 * (GPTJ_ATTENTION_CLASSES, GPT_NEO_ATTENTION_CLASSES). */
function eagerOrFlash2Note(model: string): string {
  return `${model}'s model code has no SDPA path (eager or flash_attention_2 only): its eager attention runs, with fp32 scores, unless the run loads it with attn_implementation='flash_attention_2'`;
}

/** GPT-Neo (modeling_gpt_neo.py): GPT_NEO_ATTENTION_CLASSES has eager and flash_attention_2 and
 * no SDPA, so its eager attention runs, with fp32 scores, unless the run loads flash-attn. */
function gptNeoRecipe(arch: ModelArchitecture): LayerRecipe {
  const dropout = {
    attention: arch.dropout?.attention ?? 0,
    residual: arch.dropout?.residual ?? 0,
  };
  return {
    ...hfGptNeoRecipe(dropout),
    attention: eagerOnly(eagerOrFlash2Note('GPT-Neo')),
  };
}

/** Llama-4's text layers (modeling_llama4.py Llama4TextDecoderLayer): RoPE only on the layers
 * no_rope_layers marks, Llama4TextL2Norm on their q and k, the attention temperature on the
 * others, chunked attention, MoE layers with a shared expert (the routed experts planned as
 * v5's grouped_mm path). */
function llama4Recipe(arch: ModelArchitecture): LayerRecipe {
  const variant: LlamaVariant = {
    ...llamaVariant(arch),
    qkNorm: 'l2', // use_qk_norm: Llama4TextL2Norm on the RoPE layers
  };
  return {
    ...hfLlamaRecipe(variant),
    source: 'transformers models/llama4/modeling_llama4.py (Llama4TextDecoderLayer)',
  };
}

/** GPT-J's and CodeGen's block (hf-parallel.ts), whose eager attention with fp32 scores runs
 * whatever kernel was asked: GPTJ_ATTENTION_CLASSES has eager and flash_attention_2 and no SDPA;
 * CodeGenAttention is eager only. */
function eagerParallelRecipe(family: 'gptj' | 'codegen', note: string) {
  return (arch: ModelArchitecture): LayerRecipe => ({
    ...hfParallelRecipe(arch, family),
    attention: eagerOnly(note),
  });
}

/** ModernBERT (modular_modernbert.py ModernBertEncoderLayer): Llama's pre-norm layer with its
 * bias-free LayerNorms, Wqkv and Wi (GeGLU: GELU of the first half times the second), no norm
 * before layer 0's attention, a final norm, and no local kept past the embeddings. Its
 * apply_rotary_pos_emb rotates q.float() and k.float() against the rotary tables and casts
 * back: planned as OLMo-2's promotion against fp32 tables (the same kept bytes; the fp32 copies
 * of q and k are transients either way). With flash-attn installed it loads
 * flash_attention_2, whose local windows take no mask: the note says what SDPA does instead. */
function modernbertRecipe(arch: ModelArchitecture): LayerRecipe {
  const variant: LlamaVariant = { ...llamaVariant(arch), rotaryCastBack: true };
  return {
    ...hfLlamaRecipe(variant),
    source: 'transformers models/modernbert/modular_modernbert.py (ModernBertEncoderLayer)',
    attention: (request) => {
      const plan = hfAttentionPlan(request);
      if (request.asked === 'eager') return plan;
      return { ...plan, notes: [...plan.notes, MODERNBERT_FLASH_NOTE] };
    },
    // ModernBertRotaryEmbedding (Gemma-3's) makes a pair per layer type: global and local theta
    ends: {
      finalNorm: 'layer',
      rotaryFp32: true,
      embeddingLocal: 'none',
      rotaryPerLayerType: true,
    },
  };
}

const MODERNBERT_FLASH_NOTE =
  "ModernBERT is planned as PyTorch's SDPA runs it; with flash-attn installed it loads flash_attention_2 (its default then), whose local windows need no mask";

/** BERT's encoder layer with the config's dropouts (RoBERTa's and XLM-RoBERTa's are copies). */
function bertRecipe(arch: ModelArchitecture): LayerRecipe {
  return hfBertRecipe(bertDropout(arch));
}

/** attention_probs_dropout_prob (DistilBERT's attention_dropout) and hidden_dropout_prob
 * (its dropout). */
function bertDropout(arch: ModelArchitecture) {
  return { attention: arch.dropout?.attention ?? 0, hidden: arch.dropout?.residual ?? 0 };
}

/** Hugging Face families by model_type, where their layer is not Llama's with the fields' knobs. */
const HF_RECIPES: Record<string, (arch: ModelArchitecture) => LayerRecipe> = {
  gpt2: (arch) => hfGpt2Recipe(arch.dropout?.residual ?? 0),
  opt: (arch) => hfOptRecipe(arch.dropout?.residual ?? 0, arch.normAfterResidual === true),
  bert: bertRecipe,
  roberta: bertRecipe, // RobertaLayer is BertLayer copied
  'xlm-roberta': bertRecipe,
  camembert: bertRecipe, // CamembertLayer is RobertaLayer copied
  electra: bertRecipe, // modeling_electra.py ElectraLayer: BertLayer copied
  deberta: hfDebertaRecipe,
  'deberta-v2': hfDebertaV2Recipe,
  modernbert: modernbertRecipe,
  // TransformerBlock: BertLayer's ops with no dropout on the attention output (out_lin)
  distilbert: (arch) => hfBertRecipe({ ...bertDropout(arch), attentionOutput: 0 }),
  gemma: gemmaRecipe,
  gemma2: gemmaRecipe,
  vaultgemma: gemmaRecipe, // Gemma-2's layer with its two pre-norms only
  gemma3: gemmaRecipe,
  gemma3_text: gemmaRecipe,
  olmo2: olmo2Recipe,
  olmo3: olmo2Recipe,
  flex_olmo: flexOlmoRecipe,
  // MiniMax-M2: Mixtral's layer and experts, RMSNorms over the whole q and k projections (the
  // fields' knobs); its router is hf-moe-routers.ts fp32-biased-sigmoid
  minimax_m2: llamaLayer('minimax_m2/modular_minimax_m2.py (MiniMaxM2DecoderLayer)'),
  // OLMo-1: Llama's layer; its weightless OlmoLayerNorms follow from the norm kind
  olmo: llamaLayer('olmo/modular_olmo.py (OlmoDecoderLayer)'),
  hunyuan_v1_dense: llamaLayer(
    'hunyuan_v1_dense/modular_hunyuan_v1_dense.py (HunYuanDenseV1Attention)',
    () => ({ qkNormAfterRope: true }),
  ),
  // HunYuan MoE: the dense model's attention; its sparse block's gate is hf-moe-routers.ts's
  // fp32-gate-softmax
  hunyuan_v1_moe: llamaLayer(
    'hunyuan_v1_moe/modular_hunyuan_v1_moe.py (HunYuanMoEV1DecoderLayer)',
    () => ({ qkNormAfterRope: true }),
  ),
  // OLMo-2's post norms with Llama's RMSNorm; per-head q/k norms and NoPE full layers by fields
  exaone4: llamaLayer('exaone4/modular_exaone4.py (Exaone4DecoderLayer)', () => ({
    norms: 'post',
  })),
  // ERNIE 4.5: fp32 rotary tables (Ernie4_5RotaryEmbedding keeps them "in full precision")
  // and the rotation in fp32
  ernie4_5: llamaLayer(
    'ernie4_5/modular_ernie4_5.py (Ernie4_5DecoderLayer)',
    () => ({ rotaryInFp32: true }),
    { rotaryFp32: true },
  ),
  // ERNIE 4.5 MoE: the dense model's attention and rotary; its sparse block's router is
  // hf-moe-routers.ts's biased-softmax, its experts v5's
  ernie4_5_moe: llamaLayer(
    'ernie4_5_moe/modular_ernie4_5_moe.py (Ernie4_5_MoeDecoderLayer)',
    () => ({ rotaryInFp32: true }),
    { rotaryFp32: true },
  ),
  glm: llamaLayer('glm/modular_glm.py (GlmDecoderLayer)', glmRotary),
  // Helium: an fp32 product RMSNorm (its weight cast first) in Llama's places, RoPE on
  // interleaved dimensions
  helium: llamaLayer(
    'helium/modular_helium.py (HeliumDecoderLayer)',
    () => ({ rmsNorm: 'fp32-weight-cast', interleavedRotary: 1 }),
    { finalNorm: 'fp32-weight-cast' },
  ),
  // GLM-4-0414's four norms run as Gemma-2's sandwich (normsPerLayer 4), with Llama's RMSNorm
  glm4: llamaLayer('glm4/modular_glm4.py (Glm4DecoderLayer)', glmRotary),
  // Llama's layer with per-head q/k norms and NemotronMLP's plain MLP with xIELU: all from
  // the fields (the activation in hf-llama.ts xielu)
  apertus: llamaLayer('apertus/modular_apertus.py (ApertusDecoderLayer, ApertusMLP)'),
  // Llama's layer with NemotronMLP: up_proj, relu2, down_proj (the plain MLP with relu2)
  arcee: llamaLayer('arcee/modular_arcee.py (ArceeMLP)'),
  // Llama's layer with NemotronLayerNorm1P and NemotronMLP (relu2): both follow from the fields
  nemotron: llamaLayer('nemotron/modeling_nemotron.py (NemotronDecoderLayer)'),
  // DeepSeek-V3's layer and MoE block around grouped-query attention (no MLA)
  glm4_moe: llamaLayer('glm4_moe/modular_glm4_moe.py (Glm4MoeDecoderLayer)'),
  // The same around Qwen3's attention, whose per-head q/k norms follow from the fields
  dots1: llamaLayer('dots1/modular_dots1.py (Qwen3Attention in DeepseekV3DecoderLayer)'),
  // Llama's pre-norm layer with whole-projection q/k RMSNorms and Mixtral's experts in each layer
  olmoe: llamaLayer('olmoe/modular_olmoe.py (OlmoeDecoderLayer)'),
  granite: graniteRecipe,
  granitemoe: graniteRecipe,
  granitemoeshared: graniteRecipe,
  granitemoehybrid: graniteRecipe,
  // StarCoder2's biased LayerNorms, plain MLP and final LayerNorm follow from its fields
  starcoder2: llamaLayer(
    'starcoder2/modeling_starcoder2.py (Starcoder2DecoderLayer)',
    residualDropout,
  ),
  // GPT-BigCode (v5): Llama's pre-LayerNorm layer without RoPE (learned positions), q and the K/V
  // head sliced from one c_attn, the attention interface, a plain MLP and resid_pdrop's masks on
  // both outputs; GPTBigCodeModel's causal-mask buffer with the embedding
  gpt_bigcode: llamaLayer(
    'gpt_bigcode/modeling_gpt_bigcode.py (GPTBigCodeBlock)',
    (arch) => ({ ropeFor: () => false, ...residualDropout(arch) }),
    { causalMaskBuffer: true },
  ),
  seed_oss: llamaLayer(
    'seed_oss/modular_seed_oss.py (SeedOssAttention, SeedOssMLP)',
    residualDropout,
  ),
  bloom: (arch) =>
    hfBloomRecipe({ attention: arch.dropout?.attention ?? 0, hidden: arch.dropout?.residual ?? 0 }),
  falcon: (arch) => hfParallelRecipe(arch, 'falcon'),
  gpt_neox: (arch) => hfParallelRecipe(arch, 'gpt_neox'),
  phi: (arch) => hfParallelRecipe(arch, 'phi'),
  gptj: eagerParallelRecipe('gptj', eagerOrFlash2Note('GPT-J')),
  codegen: eagerParallelRecipe(
    'codegen',
    "CodeGen's model code has one attention, eager, with fp32 scores: it runs whatever kernel was asked",
  ),
  mpt: (arch) => hfMptRecipe(arch.dropout?.attention ?? 0),
  gpt_neo: gptNeoRecipe,
  stablelm: (arch) => hfParallelRecipe(arch, 'stablelm'),
  cohere: (arch) => hfParallelRecipe(arch, 'cohere'),
  cohere2: (arch) => hfParallelRecipe(arch, 'cohere'),
  gpt_oss: gptOssRecipe,
  llama4: llama4Recipe,
  llama4_text: llama4Recipe,
  phimoe: (arch) => hfLlamaRecipe(llamaVariant(arch)),
  mamba: hfMambaRecipe,
  falcon_mamba: hfMambaRecipe,
  mamba2: hfMambaRecipe,
  jamba: hfJambaRecipe,
  bamba: bambaRecipe,
  lfm2: (arch) => hfLfm2Recipe(arch, llamaVariant(arch)),
  lfm2_moe: (arch) => hfLfm2Recipe(arch, llamaVariant(arch)),
  qwen3_next: qwen3NextRecipe,
  qwen3_5: qwen3_5Recipe,
  qwen3_5_text: qwen3_5Recipe,
  qwen3_5_moe: qwen3_5Recipe,
  qwen3_5_moe_text: qwen3_5Recipe,
  falcon_h1: (arch) => hfFalconH1Recipe(arch, { ...llamaVariant(arch), scaledKey: true }),
  nemotron_h: (arch) => hfNemotronHRecipe(arch, llamaVariant(arch)),
  ministral3: llamaLayer('ministral3/modular_ministral3.py (Ministral3Attention)', () => ({
    scaledQuery: true,
  })),
  t5: hfT5Recipe,
  umt5: hfT5Recipe,
  bart: hfBartRecipe,
  mbart: hfBartRecipe,
  marian: hfBartRecipe,
  pegasus: hfBartRecipe,
  m2m_100: hfBartRecipe,
  whisper: hfWhisperRecipe,
  mllama: hfMllamaRecipe,
};

/** The model code a request runs: its modelCode, and for code written against PyTorch's own
 * kernels, the framework its preset names. */
function frameworkRecipe(arch: ModelArchitecture, request: PlanRequest): LayerRecipe | undefined {
  const code = frameworkCode(arch, request);
  if (!code || code.gap) return undefined;
  if (code.framework === 'litgpt') return litgptRecipe(arch);
  if (code.framework === 'megatron') return megatronRecipe(arch);
  return nativeLlamaRecipe(arch, code.framework, request.runtime.fusedKernels);
}

/** Hugging Face's model code for the architecture. */
function hfRecipe(arch: ModelArchitecture): LayerRecipe {
  if (arch.mla) return hfDeepseekRecipe(arch); // DeepSeek-V2/V3's multi-latent attention
  const family = arch.modelType ? HF_RECIPES[arch.modelType] : undefined;
  return family ? family(arch) : hfLlamaRecipe(llamaVariant(arch));
}

/** A note when the request's framework has model code of its own that does not cover the
 * model, so its layers are planned as Hugging Face's code runs them. */
export function recipeNote(arch: ModelArchitecture, request: PlanRequest): string | undefined {
  const code = frameworkCode(arch, request);
  if (!code?.gap) return undefined;
  const name = arch.name ?? arch.modelType ?? 'the model';
  return `${code.framework}'s model code is planned for dense decoder layers and ${name} has ${code.gap}: its layers are planned as ${hfRecipe(arch).source} runs them`;
}

export function layerRecipe(arch: ModelArchitecture, request: PlanRequest): LayerRecipe {
  return frameworkRecipe(arch, request) ?? hfRecipe(arch);
}

/** The attention each layer runs for the request, as the model code dispatches it, over the
 * keys of one context-parallel rank. */
export function attentionPlan(
  recipe: LayerRecipe,
  arch: ModelArchitecture,
  request: PlanRequest,
  contextParallel: number,
): AttentionPlan {
  const bidirectional = (request.training.imagesPerSample ?? 0) > 0 && arch.vision?.bidirectional;
  const asked = {
    arch,
    asked: request.runtime.attention,
    computeBytes: dtypePolicy(request).compute,
    keys: request.training.sequenceLength / contextParallel,
    explicitMask: bidirectional ? bidirectionalImagesNote(bidirectional) : undefined,
  };
  return recipe.attention ? recipe.attention(asked) : hfAttentionPlan(asked);
}
