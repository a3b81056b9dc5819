// The fields every transformer stack shares, read once for all families.
import { ModelArchitecture, NormKind, PlanValidationError } from '../vocabulary';
import { Config, ConfigReader } from './config-reader';
import { Family } from './family';

/** The shape fields without which nothing can be counted. */
interface Core {
  h: number;
  layers: number;
  heads: number;
  vocab: number;
  kvHeads?: number;
  headDim?: number;
  f?: number;
}

/** Reads the core fields, recording each missing or malformed one; throws if any failed. */
function readCore(
  read: ConfigReader,
  mlp: 'gated' | 'plain',
  hasExperts: boolean,
  wholeHeads?: Family['wholeHeads'],
): Core {
  const h = read.integer('hiddenSize');
  const layers = read.integer('numLayers');
  const heads = read.integer('numAttentionHeads');
  const vocab = read.integer('vocabSize');
  const kvHeads = read.integer('numKeyValueHeads', false);
  const headDim = read.integer('headDim', false);
  let f = read.integer('intermediateSize', false);
  if (f === undefined && h !== undefined) {
    if (mlp === 'plain')
      f = 4 * h; // GPT-2/BLOOM/Falcon leave n_inner unset: 4h
    else if (!hasExperts)
      read.fail('intermediate_size', 'missing intermediate_size: the MLP width');
  }
  if (headDim === undefined && h !== undefined && heads !== undefined && h % heads !== 0) {
    if (wholeHeads)
      read.fail(
        wholeHeads.heads,
        `${wholeHeads.heads} (${heads}) does not divide ${wholeHeads.width} (${h}), which the model code requires (it has no head_dim): give a head count that divides it`,
      );
    else
      read.fail(
        'head_dim',
        `num_attention_heads (${heads}) does not divide hidden_size (${h}): give head_dim`,
      );
  }
  if (kvHeads !== undefined && heads !== undefined && heads % kvHeads !== 0) {
    // Grouped-query attention: every K/V head serves the same number of query heads.
    read.fail(
      'num_key_value_heads',
      `num_key_value_heads (${kvHeads}) must divide num_attention_heads (${heads})`,
    );
  }
  if (read.errors.length > 0 || !h || !layers || !heads || !vocab) {
    throw new PlanValidationError(read.errors);
  }
  return { h, layers, heads, vocab, kvHeads, headDim, f };
}

/** Whether the config names routed experts under any family's key. */
export function expertCount(config: Config): number {
  for (const key of ['num_local_experts', 'num_experts', 'n_routed_experts']) {
    if (typeof config[key] === 'number') return config[key];
  }
  return 0;
}

/** Biases on the attention and MLP linears. */
function biases(read: ConfigReader, everywhere: boolean) {
  return {
    qkvBias:
      read.bool('qkvBias', 'attention_bias', 'qkv_bias', 'add_qkv_bias', 'use_qkv_bias') ||
      everywhere,
    attentionOutputBias: read.bool('attentionOutputBias', 'attention_bias') || everywhere,
    mlpBias: read.bool('mlpBias', 'mlp_bias') || everywhere,
  };
}

/** Norm kinds one family's code alone has, run only by the Llama layer's recipe (hf-llama.ts):
 * other families' code reads a plain weight. */
const OWN_NORMS: Partial<Record<NormKind, string>> = {
  'layernorm-weightless':
    "a LayerNorm without weights is OLMo-1's (OlmoLayerNorm): give model_type 'olmo'",
  layernorm1p:
    "a LayerNorm applied as weight + 1 is Nemotron's (NemotronLayerNorm1P): give model_type 'nemotron'",
};

/** The config's `norm`, else the family's; a family's own norm kind only in that family. */
function normKind(read: ConfigReader, family: Family): NormKind {
  const norm = (read.config.norm as NormKind | undefined) ?? family.norm;
  const own = OWN_NORMS[norm];
  if (own && family.norm !== norm) {
    read.fail('norm', `${own}, or one of rmsnorm, layernorm, layernorm-nobias`);
    throw new PlanValidationError(read.errors);
  }
  return norm;
}

/** The common decoder fields of a config; family modules refine them afterwards. */
export function readDecoder(
  id: string,
  read: ConfigReader,
  family: Family,
  name?: string,
): ModelArchitecture {
  const config = read.config;
  const mlp = (config.mlp as 'gated' | 'plain' | undefined) ?? family.mlp;
  const core = readCore(read, mlp, expertCount(config) > 0, family.wholeHeads);
  const everywhere = family.biasEverywhere?.(read) ?? false;
  const arch: ModelArchitecture = {
    id,
    name: name ?? (typeof config.name === 'string' ? config.name : id),
    hfId: typeof config._name_or_path === 'string' ? config._name_or_path : undefined,
    hiddenSize: core.h,
    numLayers: core.layers,
    numAttentionHeads: core.heads,
    numKeyValueHeads: core.kvHeads ?? core.heads,
    headDim: core.headDim ?? core.h / core.heads,
    intermediateSize: core.f ?? 0,
    vocabSize: core.vocab,
    tieWordEmbeddings: read.flag('tieWordEmbeddings', read.flag('tie_word_embeddings', false)),
    mlp,
    activation: String(
      config.activation ??
        config.hidden_act ??
        config.hidden_activation ??
        config.activation_function ??
        'silu',
    ),
    norm: normKind(read, family),
    normsPerLayer: read.numberOr(family.normsPerLayer, 'normsPerLayer'),
    qkNorm: read.bool('qkNorm', 'use_qk_norm'),
    ...biases(read, everywhere),
    learnedPositionEmbeddings: read.numberOr(0, 'learnedPositionEmbeddings'),
    embeddingNorm: read.bool('embeddingNorm'),
    finalNorm: config.finalNorm !== false,
    maxPositionEmbeddings: (read.pick('maxPositionEmbeddings') as number | undefined) ?? 4096,
  };
  if (read.bool('qkNormPerHead')) arch.qkNormPerHead = true;
  if (typeof config.parallelResidual === 'boolean') arch.parallelResidual = config.parallelResidual;
  if (read.bool('fusedQkv')) arch.fusedQkv = true;
  if (read.bool('fusedGateUp')) arch.fusedGateUp = true;
  readWindowsAndCaps(arch, read);
  return arch;
}

/** Sliding window and tanh soft-caps, where the config uses them. */
function readWindowsAndCaps(arch: ModelArchitecture, read: ConfigReader): void {
  const slidingWindow = read.numberOr(0, 'slidingWindow', 'sliding_window');
  if (slidingWindow > 0 && read.config.use_sliding_window !== false) {
    arch.slidingWindow = slidingWindow;
    arch.slidingWindowLayerFraction = read.numberOr(1, 'slidingWindowLayerFraction');
  }
  // Gemma-2 soft-caps scores and logits with tanh; Gemma-3 sets both to null.
  const attentionCap = read.numberOr(0, 'attentionLogitSoftcapping', 'attn_logit_softcapping');
  if (attentionCap > 0) arch.attentionLogitSoftcapping = attentionCap;
  const finalCap = read.numberOr(0, 'finalLogitSoftcapping', 'final_logit_softcapping');
  if (finalCap > 0) arch.finalLogitSoftcapping = finalCap;
}

/** Routed experts from any family's keys (Mixtral, Qwen-MoE, DeepSeek), or the engine's own. */
export function readMoe(arch: ModelArchitecture, read: ConfigReader, family: Family): void {
  const config = read.config;
  const own = config.moe as ModelArchitecture['moe'] | undefined;
  const experts = expertCount(config);
  if (own) arch.moe = own;
  else if (experts > 0 && !family.readsOwnMoe) {
    const expertWidth = read.numberOr(arch.intermediateSize, 'moe_intermediate_size');
    arch.moe = {
      numExperts: experts,
      expertsPerToken: read.numberOr(2, 'num_experts_per_tok'),
      expertIntermediateSize: expertWidth,
      // Qwen2-MoE names one gated shared expert by its width; DeepSeek counts n_shared_experts.
      sharedExperts: read.numberOr(
        config.shared_expert_intermediate_size ? 1 : 0,
        'n_shared_experts',
      ),
      sharedExpertIntermediateSize: read.numberOr(expertWidth, 'shared_expert_intermediate_size'),
      sharedExpertGate: false,
      firstDenseLayers: read.numberOr(0, 'first_k_dense_replace'),
      routerBias: config.topk_method === 'noaux_tc', // DeepSeek-V3's e_score_correction_bias
    };
  }
  const moe = arch.moe;
  if (moe && !(moe.expertsPerToken >= 1 && moe.expertsPerToken <= moe.numExperts)) {
    // A token is routed to k distinct experts, so k cannot exceed the experts there are.
    throw new PlanValidationError([
      {
        field: `${read.prefix}.num_experts_per_tok`,
        message: `num_experts_per_tok (${moe.expertsPerToken}) must be from 1 to the number of experts (${moe.numExperts})`,
      },
    ]);
  }
}

/** DeepSeek-V2/V3 multi-latent attention, or the engine's own `mla`. */
export function readMla(arch: ModelArchitecture, read: ConfigReader): void {
  const config = read.config;
  const own = config.mla as ModelArchitecture['mla'] | undefined;
  if (own) arch.mla = own;
  else if (typeof config.kv_lora_rank === 'number') {
    arch.mla = {
      qLoraRank: read.numberOr(0, 'q_lora_rank'),
      kvLoraRank: config.kv_lora_rank,
      qkNopeHeadDim: read.numberOr(128, 'qk_nope_head_dim'),
      qkRopeHeadDim: read.numberOr(64, 'qk_rope_head_dim'),
      vHeadDim: read.numberOr(128, 'v_head_dim'),
    };
    arch.headDim = arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim;
  }
}

/** A *ForSequenceClassification model: a pooled head of num_labels replaces the vocabulary. */
export function readClassification(arch: ModelArchitecture, read: ConfigReader): void {
  const config = read.config;
  const first = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  if (!first.endsWith('ForSequenceClassification')) return;
  const labels =
    config.id2label && typeof config.id2label === 'object'
      ? Object.keys(config.id2label).length
      : 0;
  arch.sequenceClassificationLabels = read.numberOr(labels || 2, 'num_labels');
}
