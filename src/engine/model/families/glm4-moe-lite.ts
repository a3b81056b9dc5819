// GLM-4.7-Flash (transformers v5 models/glm4_moe_lite/modeling_glm4_moe_lite.py): DeepSeek-V3's
// decoder layer as GLM writes it: multi-latent attention (q_a_proj, q_a_layernorm, q_b_proj;
// kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj; interleaved RoPE on qk_rope_head_dim) and
// Glm4MoeLiteMoE (an fp32 router linear, sigmoid scores plus the fp32 e_score_correction_bias
// buffer, group-limited top-k renormalised and scaled, one shared MLP of n_shared_experts x
// moe_intermediate_size) on the layers mlp_layer_types calls sparse.
import { PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family, indicesWhere, readNormTopkProb } from '../family';
import { uncountedMtpNote } from './deepseek';

/** Glm4MoeLiteConfig's defaults (configuration_glm4_moe_lite.py; GLM-4.7-Flash's shape). */
const GLM4_MOE_LITE_DEFAULTS: Config = {
  vocab_size: 154880,
  hidden_size: 2048,
  intermediate_size: 10240,
  moe_intermediate_size: 1536,
  num_hidden_layers: 47,
  num_attention_heads: 20,
  num_key_value_heads: 20,
  n_shared_experts: 1,
  n_routed_experts: 64,
  routed_scaling_factor: 1.8,
  kv_lora_rank: 512,
  q_lora_rank: 768,
  qk_rope_head_dim: 64,
  v_head_dim: 256,
  qk_nope_head_dim: 192,
  num_experts_per_tok: 4,
  hidden_act: 'silu',
  max_position_embeddings: 202752,
  tie_word_embeddings: false,
  attention_bias: false,
};

/** Glm4MoeLiteConfig.__post_init__: mlp_layer_types, or ['dense'] + ['sparse'] * (layers - 1);
 * the layer reads its own entry (first_k_dense_replace is not read). */
function sparseLayers(read: ConfigReader, layers: number): number[] {
  const types = read.config.mlp_layer_types;
  if (types === undefined || types === null) return indicesWhere(layers, (i) => i > 0);
  const valid =
    Array.isArray(types) &&
    types.length >= layers &&
    types.every((type) => type === 'dense' || type === 'sparse');
  if (!valid) {
    read.fail(
      'mlp_layer_types',
      `must give 'dense' or 'sparse' for each of the ${layers} layers, as the checkpoint's config.json does`,
    );
    throw new PlanValidationError(read.errors);
  }
  return indicesWhere(layers, (i) => types[i] === 'sparse');
}

export const glm4MoeLite: Family = {
  types: ['glm4_moe_lite'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  // attribute_map: head_dim reads qk_rope_head_dim (20 heads do not divide 2,048); the
  // multi-latent attention's own widths then set the planned head (readMla)
  defaults: (config) => ({
    ...GLM4_MOE_LITE_DEFAULTS,
    head_dim: config.qk_rope_head_dim ?? GLM4_MOE_LITE_DEFAULTS.qk_rope_head_dim,
  }),
  refine: (arch, read) => {
    if (arch.moe && !read.config.moe) {
      arch.moe.router = 'grouped-sigmoid';
      // Glm4MoeLiteTopkRouter registers e_score_correction_bias in fp32 (_keep_in_fp32_modules)
      arch.moe.routerBias = true;
      arch.moe.routerBiasFp32 = true;
      arch.moe.firstDenseLayers = 0;
      arch.moe.layers = sparseLayers(read, arch.numLayers);
    }
    readNormTopkProb(arch, read, true); // Glm4MoeLiteConfig: norm_topk_prob=True
    // Glm4MoeLiteModel: _keys_to_ignore_on_load_unexpected drops the checkpoint's MTP layer.
    const note = uncountedMtpNote(read.numberOr(0, 'num_nextn_predict_layers'), 'Glm4MoeLiteModel');
    if (note) arch.notes = [...(arch.notes ?? []), note];
  },
};
