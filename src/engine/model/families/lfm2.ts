// LFM2 (modeling_lfm2.py, configuration_lfm2.py): Llama's pre-norm layers (operator_norm,
// ffn_norm) whose token mixer is Lfm2ShortConv in the `conv` layers and Llama's attention with
// per-head q/k RMSNorms (q_layernorm, k_layernorm, before RoPE) in the `full_attention` ones;
// Lfm2MLP (w1, w3, w2: a gated SiLU MLP) after either; the final norm is embedding_norm.
// LFM2-MoE (modular_lfm2_moe.py): the same layers, the first num_dense_layers with
// Lfm2MoeMLP of intermediate_size, the others Lfm2MoeSparseMoeBlock (Qwen2-MoE's experts under a
// biased sigmoid router).
import { Config, ConfigReader } from '../config-reader';
import { Family, fixedStateNote, givenLayerTypes, readNormTopkProb } from '../family';
import { LayerType, ModelArchitecture } from '../../vocabulary';

/** What Lfm2Config and Lfm2MoeConfig default alike (configuration_lfm2.py,
 * configuration_lfm2_moe.py). */
const LFM2_SHARED_DEFAULTS: Config = {
  vocab_size: 65536,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 128000,
  tie_word_embeddings: true,
  conv_bias: false,
  conv_L_cache: 3,
};

/** Lfm2Config's defaults: every layer attention where neither layer_types nor full_attn_idxs
 * says otherwise. */
const LFM2_DEFAULTS: Config = {
  ...LFM2_SHARED_DEFAULTS,
  hidden_size: 2560,
  intermediate_size: 12288,
  block_multiple_of: 256,
  block_ffn_dim_multiplier: 1.0,
  block_auto_adjust_ff_dim: true,
};

/** Lfm2MLP's width: intermediate_size (block_ff_dim in the original configs), and where
 * block_auto_adjust_ff_dim is set, int(2 x it / 3) times block_ffn_dim_multiplier, rounded up
 * to a multiple of block_multiple_of. */
function mlpWidth(read: ConfigReader): number {
  const given = read.numberOr(12288, 'block_ff_dim', 'intermediate_size');
  if (!read.flag('block_auto_adjust_ff_dim', true)) return given;
  let width = Math.trunc((2 * given) / 3);
  const multiplier = read.config.block_ffn_dim_multiplier;
  if (typeof multiplier === 'number') width = Math.trunc(multiplier * width);
  const multiple = read.numberOr(256, 'block_multiple_of');
  return multiple * Math.ceil(width / multiple);
}

/** layer_types ('full_attention' or 'conv' per layer; layer i reads entry i, so a longer list
 * leaves its tail unread), else full_attn_idxs (all attention by default). */
function lfm2LayerTypes(read: ConfigReader, layers: number): LayerType[] {
  const allowed = ['full_attention', 'conv'] as const;
  const given = givenLayerTypes(read, read.config.layer_types, layers, allowed);
  if (given) return given;
  const indices = read.config.full_attn_idxs;
  const attention = Array.isArray(indices) ? new Set(indices as number[]) : undefined;
  return Array.from({ length: layers }, (_, i) =>
    !attention || attention.has(i) ? 'full_attention' : 'conv',
  );
}

/** What LFM2 and LFM2-MoE share: the layer kinds, per-head q/k norms and the convolution. */
function lfm2Layers(arch: ModelArchitecture, read: ConfigReader): void {
  arch.layerTypes = lfm2LayerTypes(read, arch.numLayers);
  arch.qkNorm = true; // q_layernorm and k_layernorm over head_dim
  arch.shortConv = {
    cacheLength: read.numberOr(3, 'conv_L_cache'),
    bias: read.flag('conv_bias', false),
  };
  // the original configs name the tie tie_embedding (Lfm2Config reads it)
  if (typeof read.config.tie_embedding === 'boolean')
    arch.tieWordEmbeddings = read.config.tie_embedding;
  arch.notes = [fixedStateNote(arch.modelType ?? 'lfm2', 'convolution layers')];
}

export const lfm2: Family = {
  types: ['lfm2'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: LFM2_DEFAULTS,
  refine: (arch, read) => {
    lfm2Layers(arch, read);
    arch.intermediateSize = mlpWidth(read);
  },
};

/** Lfm2MoeConfig's defaults (configuration_lfm2_moe.py): LFM2-8B-A1B's shape. Its
 * layer_types has no default (each layer reads layer_types[i]), so attention everywhere
 * stands for a config without one, as LFM2's full_attn_idxs default does. */
const LFM2_MOE_DEFAULTS: Config = {
  ...LFM2_SHARED_DEFAULTS,
  hidden_size: 2048,
  intermediate_size: 7168,
  moe_intermediate_size: 1792,
  num_dense_layers: 2,
  num_experts_per_tok: 4,
  num_experts: 32,
  use_expert_bias: true,
  routed_scaling_factor: 1.0,
  norm_topk_prob: true,
};

export const lfm2Moe: Family = {
  types: ['lfm2_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: LFM2_MOE_DEFAULTS,
  refine: (arch, read) => {
    lfm2Layers(arch, read); // Lfm2MoeMLP is intermediate_size wide, not adjusted
    if (!arch.moe || read.config.moe) return;
    arch.moe.firstDenseLayers = read.numberOr(2, 'num_dense_layers');
    arch.moe.router = 'biased-sigmoid';
    // expert_bias: an fp32 buffer of num_experts (register_buffer(..., dtype=torch.float32))
    arch.moe.routerBias = read.flag('use_expert_bias', true);
    arch.moe.routerBiasFp32 = true;
    readNormTopkProb(arch, read, true);
  },
};
