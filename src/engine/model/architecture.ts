// Maps a Hugging Face config.json (or our own field names) onto the engine's ModelArchitecture.
import { FieldError, ModelArchitecture, NormKind, PlanValidationError } from '../vocabulary';
import { modelLimitErrors } from './limits';

type Config = Record<string, unknown>;

/** Architecture families we can describe, by HF model_type. */
const FAMILIES: Record<string, { mlp: 'gated' | 'plain'; norm: NormKind; normsPerLayer: number }> =
  {
    llama: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    mistral: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    mixtral: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    qwen2: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    qwen2_moe: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    qwen3: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    qwen3_moe: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    gemma: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    gemma2: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 4 },
    phi3: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    olmo2: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    deepseek_v3: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    deepseek_v2: { mlp: 'gated', norm: 'rmsnorm', normsPerLayer: 2 },
    cohere: { mlp: 'gated', norm: 'layernorm-nobias', normsPerLayer: 1 },
    gpt2: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 2 },
    gpt_neox: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 2 },
    bloom: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 2 },
    falcon: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 2 },
    phi: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 1 },
    stablelm: { mlp: 'gated', norm: 'layernorm', normsPerLayer: 2 },
    // Encoder-only BERT: the same layer shapes; its task heads are small beside the vocabulary.
    bert: { mlp: 'plain', norm: 'layernorm', normsPerLayer: 2 },
    // T5's MLP kind comes from feed_forward_proj; its T5LayerNorm is RMS-style (weight only).
    t5: { mlp: 'plain', norm: 'rmsnorm', normsPerLayer: 2 },
  };

/** Names older checkpoints gave a family (Falcon's first RefinedWeb configs). */
const TYPE_ALIASES: Record<string, string> = {
  refinedweb: 'falcon',
  refinedwebmodel: 'falcon',
  rw: 'falcon',
};

/** Config keys that name the same field across families (first one present wins). */
const ALIASES: Record<string, string[]> = {
  hiddenSize: ['hiddenSize', 'hidden_size', 'n_embd', 'n_embed', 'd_model'],
  numLayers: ['numLayers', 'num_hidden_layers', 'n_layer', 'num_layers'],
  numAttentionHeads: ['numAttentionHeads', 'num_attention_heads', 'n_head', 'num_heads'],
  numKeyValueHeads: [
    'numKeyValueHeads',
    'num_key_value_heads',
    'num_kv_heads',
    'n_head_kv',
    'multi_query_group_num',
  ],
  headDim: ['headDim', 'head_dim', 'd_kv'],
  intermediateSize: ['intermediateSize', 'intermediate_size', 'n_inner', 'ffn_hidden_size', 'd_ff'],
  vocabSize: ['vocabSize', 'vocab_size', 'padded_vocab_size'],
  maxPositionEmbeddings: [
    'maxPositionEmbeddings',
    'max_position_embeddings',
    'n_positions',
    'seq_length',
  ],
};

function pick(config: Config, field: string): unknown {
  for (const key of ALIASES[field] ?? [field]) {
    if (config[key] !== undefined && config[key] !== null) return config[key];
  }
  return undefined;
}

/** The model_type as written, or the family named by `architectures` (e.g. Qwen3MoeForCausalLM). */
function rawModelType(config: Config): string | undefined {
  const type = config.model_type ?? config.modelType;
  if (typeof type === 'string') return type.toLowerCase();
  const archs = config.architectures;
  if (Array.isArray(archs) && typeof archs[0] === 'string') {
    const name = archs[0].toLowerCase();
    // The longest matching family wins, so Gemma2ForCausalLM is gemma2 and not gemma.
    return [...Object.keys(FAMILIES), ...Object.keys(TYPE_ALIASES)]
      .filter((family) => name.startsWith(family.replace(/_/g, '')))
      .sort((a, b) => b.length - a.length)[0];
  }
  return undefined;
}

function modelType(config: Config): string | undefined {
  const type = rawModelType(config);
  return type === undefined ? undefined : (TYPE_ALIASES[type] ?? type);
}

/** True when the object already uses the engine's own field names. */
function isEngineShape(config: Config): boolean {
  return typeof config.hiddenSize === 'number' && typeof config.numLayers === 'number';
}

/**
 * A ModelArchitecture from a Hugging Face config.json or from the engine's own field names.
 * Missing fields throw PlanValidationError listing each one; unknown extra keys are ignored.
 */
export function architectureFromConfig(
  id: string,
  config: Config,
  name?: string,
  fieldPrefix = 'config',
): ModelArchitecture {
  const errors: FieldError[] = [];
  const ownShape = isEngineShape(config);
  const type = ownShape ? undefined : modelType(config);
  const family = type ? FAMILIES[type] : undefined;
  if (!ownShape && !family) {
    errors.push({
      field: `${fieldPrefix}.model_type`,
      message: `unknown or missing model_type '${String(config.model_type ?? '')}'; supported: ${Object.keys(FAMILIES).join(', ')} (or give hidden_size, num_hidden_layers, ... with mlp 'gated' or 'plain')`,
    });
  }
  const number = (field: string, required = true): number | undefined => {
    const value = pick(config, field);
    if (value === undefined) {
      if (required) {
        errors.push({
          field: `${fieldPrefix}.${ALIASES[field]?.[1] ?? field}`,
          message: `missing ${ALIASES[field]?.slice(1).join(' / ') ?? field}: a positive integer from the model's config.json`,
        });
      }
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      errors.push({
        field: `${fieldPrefix}.${ALIASES[field]?.[1] ?? field}`,
        message: `must be a positive integer, got ${JSON.stringify(value)}`,
      });
      return undefined;
    }
    return value;
  };
  const h = number('hiddenSize');
  const layers = number('numLayers');
  const heads = number('numAttentionHeads');
  const vocab = number('vocabSize');
  const kvHeads = number('numKeyValueHeads', false);
  const headDimGiven = number('headDim', false);
  // T5: 'gated-gelu' (v1.1, T0, Flan-T5) is a GeGLU; the original 'relu' is a plain MLP.
  const t5Mlp = String(config.feed_forward_proj ?? 'relu').startsWith('gated-') ? 'gated' : 'plain';
  const mlpKind =
    (config.mlp as 'gated' | 'plain' | undefined) ??
    (type === 't5' ? t5Mlp : family?.mlp) ??
    'gated';
  let f = number('intermediateSize', false);
  if (f === undefined && h !== undefined) {
    if (mlpKind === 'plain')
      f = 4 * h; // GPT-2/BLOOM/Falcon leave n_inner unset: 4h
    else if (!config.num_local_experts && !config.n_routed_experts && !config.num_experts) {
      errors.push({
        field: `${fieldPrefix}.intermediate_size`,
        message: 'missing intermediate_size: the MLP width',
      });
    }
  }
  if (headDimGiven === undefined && h !== undefined && heads !== undefined && h % heads !== 0) {
    errors.push({
      field: `${fieldPrefix}.head_dim`,
      message: `num_attention_heads (${heads}) does not divide hidden_size (${h}): give head_dim`,
    });
  }
  if (kvHeads !== undefined && heads !== undefined && heads % kvHeads !== 0) {
    // Grouped-query attention: every K/V head serves the same number of query heads.
    errors.push({
      field: `${fieldPrefix}.num_key_value_heads`,
      message: `num_key_value_heads (${kvHeads}) must divide num_attention_heads (${heads})`,
    });
  }
  if (
    errors.length > 0 ||
    h === undefined ||
    layers === undefined ||
    heads === undefined ||
    vocab === undefined
  ) {
    throw new PlanValidationError(errors);
  }

  const bool = (...keys: string[]) => keys.some((k) => config[k] === true);
  const numberOr = (fallback: number, ...keys: string[]) => {
    for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
    return fallback;
  };
  // RefinedWeb (Falcon-40B's first config) is the new decoder: grouped K/V, two norms per layer.
  const newDecoder = bool('new_decoder_architecture') || rawModelType(config) === 'refinedweb';
  const biasEverywhere =
    type === 'gpt2' ||
    type === 'bloom' ||
    type === 'gpt_neox' ||
    type === 'phi' ||
    type === 'bert' ||
    (type === 'falcon' && bool('bias'));
  const arch: ModelArchitecture = {
    id,
    name: name ?? (typeof config.name === 'string' ? config.name : id),
    hfId: typeof config._name_or_path === 'string' ? config._name_or_path : undefined,
    hiddenSize: h,
    numLayers: layers,
    numAttentionHeads: heads,
    numKeyValueHeads:
      kvHeads ?? (type === 'falcon' && !newDecoder && bool('multi_query') ? 1 : heads),
    headDim: headDimGiven ?? h / heads,
    intermediateSize: f ?? 0,
    vocabSize: vocab,
    tieWordEmbeddings:
      typeof config.tieWordEmbeddings === 'boolean'
        ? config.tieWordEmbeddings
        : typeof config.tie_word_embeddings === 'boolean'
          ? config.tie_word_embeddings
          : ['gpt2', 'bloom', 'falcon', 'gemma', 'gemma2', 'cohere', 't5'].includes(type ?? ''),
    mlp: mlpKind,
    activation: String(
      config.activation ?? config.hidden_act ?? config.activation_function ?? 'silu',
    ),
    norm: (config.norm as NormKind | undefined) ?? family?.norm ?? 'rmsnorm',
    normsPerLayer: numberOr(family?.normsPerLayer ?? 2, 'normsPerLayer'),
    qkNorm:
      bool('qkNorm', 'use_qk_norm') || type === 'qwen3' || type === 'qwen3_moe' || type === 'olmo2',
    // Cohere's q/k LayerNorms hold a weight per head; OLMo-2 normalises the whole a*d and g*d.
    qkNormPerHead:
      bool('qkNormPerHead') || (type === 'cohere' && bool('use_qk_norm')) || type === 'olmo2',
    qkvBias:
      bool('qkvBias', 'attention_bias', 'qkv_bias', 'add_qkv_bias', 'use_qkv_bias') ||
      type === 'qwen2' ||
      type === 'qwen2_moe' ||
      biasEverywhere,
    attentionOutputBias:
      bool('attentionOutputBias') || (bool('attention_bias') && type !== 'qwen2') || biasEverywhere,
    mlpBias: bool('mlpBias', 'mlp_bias') || biasEverywhere,
    learnedPositionEmbeddings:
      numberOr(0, 'learnedPositionEmbeddings') ||
      (type === 'gpt2' || type === 'bert'
        ? ((pick(config, 'maxPositionEmbeddings') as number) ?? 1024)
        : 0) + (type === 'bert' ? numberOr(2, 'type_vocab_size') : 0), // BERT's token-type rows
    embeddingNorm: bool('embeddingNorm') || type === 'bloom' || type === 'bert',
    finalNorm: config.finalNorm !== false && type !== 'bert', // post-LN: no final norm
    maxPositionEmbeddings: (pick(config, 'maxPositionEmbeddings') as number | undefined) ?? 4096,
  };
  if (type === 'falcon' && bool('parallel_attn') && !newDecoder) arch.normsPerLayer = 1;
  // HF defaults: GPT-NeoX and Falcon are parallel unless told otherwise, StableLM is not.
  const flag = (key: string, fallback: boolean) =>
    typeof config[key] === 'boolean' ? (config[key] as boolean) : fallback;
  if (typeof config.parallelResidual === 'boolean') arch.parallelResidual = config.parallelResidual;
  else if (type === 'gpt_neox') arch.parallelResidual = flag('use_parallel_residual', true);
  else if (type === 'stablelm') arch.parallelResidual = flag('use_parallel_residual', false);
  else if (type === 'falcon') arch.parallelResidual = newDecoder || flag('parallel_attn', true);
  else if (type === 'phi' || type === 'cohere') arch.parallelResidual = true;
  if (type === 'phi') arch.outputHeadBias = true; // PhiForCausalLM's lm_head has bias=True
  if (type === 'phi3' || type === 'phi')
    arch.tieWordEmbeddings = config.tie_word_embeddings === true;
  if (type === 'phi3' || bool('fusedQkv')) arch.fusedQkv = true;
  if (type === 'phi3' || bool('fusedGateUp')) arch.fusedGateUp = true;
  const slidingWindow = numberOr(0, 'slidingWindow', 'sliding_window');
  if (slidingWindow > 0 && config.use_sliding_window !== false) {
    arch.slidingWindow = slidingWindow;
    arch.slidingWindowLayerFraction =
      type === 'gemma2' ? 0.5 : numberOr(1, 'slidingWindowLayerFraction');
  }
  // Gemma-2 soft-caps scores and logits with tanh; Gemma-3 sets both to null.
  const attentionCap = numberOr(0, 'attentionLogitSoftcapping', 'attn_logit_softcapping');
  if (attentionCap > 0) arch.attentionLogitSoftcapping = attentionCap;
  const finalCap = numberOr(0, 'finalLogitSoftcapping', 'final_logit_softcapping');
  if (finalCap > 0) arch.finalLogitSoftcapping = finalCap;
  const experts = numberOr(0, 'num_local_experts', 'num_experts', 'n_routed_experts');
  const ownMoe = config.moe as ModelArchitecture['moe'] | undefined;
  if (ownMoe) arch.moe = ownMoe;
  else if (experts > 0) {
    const expertWidth = numberOr(f ?? 0, 'moe_intermediate_size');
    arch.moe = {
      numExperts: experts,
      expertsPerToken: numberOr(2, 'num_experts_per_tok'),
      expertIntermediateSize: expertWidth,
      // Qwen2-MoE names one gated shared expert by its width; DeepSeek counts n_shared_experts.
      sharedExperts: numberOr(config.shared_expert_intermediate_size ? 1 : 0, 'n_shared_experts'),
      sharedExpertIntermediateSize: numberOr(expertWidth, 'shared_expert_intermediate_size'),
      sharedExpertGate: type === 'qwen2_moe',
      firstDenseLayers: numberOr(0, 'first_k_dense_replace'),
      routerBias: config.topk_method === 'noaux_tc', // DeepSeek-V3's e_score_correction_bias
    };
  }
  if (
    arch.moe &&
    !(arch.moe.expertsPerToken >= 1 && arch.moe.expertsPerToken <= arch.moe.numExperts)
  ) {
    // A token is routed to k distinct experts, so k cannot exceed the experts there are.
    throw new PlanValidationError([
      {
        field: `${fieldPrefix}.num_experts_per_tok`,
        message: `num_experts_per_tok (${arch.moe.expertsPerToken}) must be from 1 to the number of experts (${arch.moe.numExperts})`,
      },
    ]);
  }
  const ownMla = config.mla as ModelArchitecture['mla'] | undefined;
  if (ownMla) arch.mla = ownMla;
  else if (typeof config.kv_lora_rank === 'number') {
    arch.mla = {
      qLoraRank: numberOr(0, 'q_lora_rank'),
      kvLoraRank: config.kv_lora_rank,
      qkNopeHeadDim: numberOr(128, 'qk_nope_head_dim'),
      qkRopeHeadDim: numberOr(64, 'qk_rope_head_dim'),
      vHeadDim: numberOr(128, 'v_head_dim'),
    };
    arch.headDim = arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim;
  }
  if (config.encoder && typeof config.encoder === 'object') {
    arch.encoder = config.encoder as ModelArchitecture['encoder'];
  } else if (type === 't5') {
    // num_layers is the encoder's depth; num_decoder_layers defaults to it (T5Config).
    arch.encoder = {
      numLayers: layers,
      relativeAttentionBuckets: numberOr(32, 'relative_attention_num_buckets'),
    };
    arch.numLayers = layers + numberOr(layers, 'num_decoder_layers');
    arch.activation = String(config.feed_forward_proj ?? 'relu').replace('gated-', '');
    arch.maxPositionEmbeddings = numberOr(512, 'n_positions');
  }
  const firstArchitecture = Array.isArray(config.architectures)
    ? String(config.architectures[0])
    : '';
  if (firstArchitecture.endsWith('ForSequenceClassification')) {
    const labels =
      config.id2label && typeof config.id2label === 'object'
        ? Object.keys(config.id2label).length
        : 0;
    arch.sequenceClassificationLabels = numberOr(labels || 2, 'num_labels');
  }
  const outOfRange = modelLimitErrors(arch, config, fieldPrefix);
  if (outOfRange.length > 0) throw new PlanValidationError(outOfRange);
  return arch;
}
