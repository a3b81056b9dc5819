// Qwen3-Next (models/qwen3_next/modular_qwen3_next.py, configuration_qwen3_next.py): Qwen3-MoE's
// layer whose token mixer is a Gated DeltaNet (Qwen3NextGatedDeltaNet) in the
// `linear_attention` layers and gated attention (q_proj makes a sigmoid gate for the output,
// per-head q/k norms, RoPE over a quarter of each head) in the `full_attention` ones; Qwen2-MoE's
// sparse block with its gated shared expert; Gemma-3's (1 + weight) RMSNorms.
import { Config, ConfigReader } from '../config-reader';
import {
  Family,
  fixedStateNote,
  givenLayerTypes,
  readNormTopkProb,
  readSparseLayers,
} from '../family';
import { GatedDeltaConfig, LayerType, PlanValidationError } from '../../vocabulary';

/** The defaults Qwen3NextConfig shares with Qwen3.5's text configs: the gated attention's heads
 * and the Gated DeltaNet's (each class sets them alike). */
export const QWEN3_NEXT_MIXER_DEFAULTS: Config = {
  num_attention_heads: 16,
  hidden_act: 'silu',
  max_position_embeddings: 32768,
  tie_word_embeddings: false,
  attention_bias: false,
  head_dim: 256,
  linear_conv_kernel_dim: 4,
  linear_key_head_dim: 128,
  linear_value_head_dim: 128,
  linear_num_key_heads: 16,
  linear_num_value_heads: 32,
};

/** Qwen3NextConfig's defaults: Qwen3-Next-80B-A3B's shape. */
const QWEN3_NEXT_DEFAULTS: Config = {
  ...QWEN3_NEXT_MIXER_DEFAULTS,
  vocab_size: 151936,
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 48,
  num_key_value_heads: 2,
  decoder_sparse_step: 1,
  moe_intermediate_size: 512,
  shared_expert_intermediate_size: 512,
  num_experts_per_tok: 10,
  num_experts: 512,
  norm_topk_prob: true,
};

/** layer_types, else every full_attention_interval-th layer (default 4) attends and the others
 * run the Gated DeltaNet (Qwen3NextConfig.__post_init__). */
export function qwen3NextLayerTypes(read: ConfigReader, layers: number): LayerType[] {
  const allowed = ['full_attention', 'linear_attention'] as const;
  const given = givenLayerTypes(read, read.config.layer_types, layers, allowed);
  if (given) return given;
  const interval = read.numberOr(4, 'full_attention_interval');
  return Array.from({ length: layers }, (_, i) =>
    (i + 1) % interval === 0 ? 'full_attention' : 'linear_attention',
  );
}

/** Qwen3NextGatedDeltaNet's heads: the value heads are a whole multiple of the key heads, which
 * q and k are repeat-interleaved to (fix_query_key_value_ordering splits by key head). */
export function gatedDelta(read: ConfigReader): GatedDeltaConfig {
  const delta: GatedDeltaConfig = {
    keyHeads: read.numberOr(16, 'linear_num_key_heads'),
    valueHeads: read.numberOr(32, 'linear_num_value_heads'),
    keyHeadDim: read.numberOr(128, 'linear_key_head_dim'),
    valueHeadDim: read.numberOr(128, 'linear_value_head_dim'),
    convKernel: read.numberOr(4, 'linear_conv_kernel_dim'),
  };
  if (delta.valueHeads % delta.keyHeads !== 0) {
    read.fail(
      'linear_num_value_heads',
      `must be a multiple of linear_num_key_heads (${delta.keyHeads}): each key head serves a whole number of value heads`,
    );
    throw new PlanValidationError(read.errors);
  }
  return delta;
}

export const qwen3Next: Family = {
  types: ['qwen3_next'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: QWEN3_NEXT_DEFAULTS,
  refine: (arch, read) => {
    arch.layerTypes = qwen3NextLayerTypes(read, arch.numLayers);
    arch.gatedDelta = gatedDelta(read);
    arch.qkNorm = true; // q_norm and k_norm over head_dim
    arch.attentionOutputGate = true;
    if (arch.moe && !read.config.moe) arch.moe.sharedExpertGate = true;
    readNormTopkProb(arch, read, true);
    readSparseLayers(arch, read);
    arch.notes = [
      fixedStateNote('qwen3_next', 'Gated DeltaNet layers'),
      "qwen3_next: planned as transformers' fast path runs it (flash-linear-attention's chunk_gated_delta_rule and FusedRMSNormGated, causal-conv1d's causal_conv1d_fn); without those packages the model falls back to a Python chunked loop that keeps more; RoPE over a quarter of each head is planned over the whole head",
    ];
  },
};
