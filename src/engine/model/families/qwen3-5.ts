// Qwen3.5 and Qwen3.5-MoE (transformers v5 models/qwen3_5/modular_qwen3_5.py,
// models/qwen3_5_moe/modeling_qwen3_5_moe.py): Qwen3-Next's layers, their Gated DeltaNet with four
// input projections (Qwen3_5GatedDeltaNet: in_proj_qkv, in_proj_z, in_proj_b, in_proj_a) in
// place of in_proj_qkvz and in_proj_ba; a dense Qwen3NextMLP (Qwen3.5) or Qwen3-Next's sparse
// block with its gated shared expert and always-renormalised top-k (Qwen3.5-MoE); M-RoPE over a
// part of each head; and Qwen3-VL's vision tower without its deepstack mergers
// (Qwen3_5ForConditionalGeneration) where the config has a vision_config.
import { Config } from '../config-reader';
import { Family, fixedStateNote, visionConfigOf } from '../family';
import { qwen3Family, qwen3VlTower } from './qwen3-vl';
import { gatedDelta, QWEN3_NEXT_MIXER_DEFAULTS, qwen3NextLayerTypes } from './qwen3-next';

/** What Qwen3_5TextConfig and Qwen3_5MoeTextConfig share: Qwen3NextConfig's mixer defaults and
 * a larger vocabulary. */
const QWEN3_5_COMMON: Config = { ...QWEN3_NEXT_MIXER_DEFAULTS, vocab_size: 248320 };

/** Qwen3_5TextConfig's defaults (Qwen3.5-9B's shape, its docstring says). */
const QWEN3_5_DEFAULTS: Config = {
  ...QWEN3_5_COMMON,
  hidden_size: 4096,
  intermediate_size: 12288,
  num_hidden_layers: 32,
  num_key_value_heads: 4,
};

/** Qwen3_5MoeTextConfig's defaults (Qwen3.5-35B-A3B's shape). */
const QWEN3_5_MOE_DEFAULTS: Config = {
  ...QWEN3_5_COMMON,
  hidden_size: 2048,
  num_hidden_layers: 40,
  num_key_value_heads: 2,
  moe_intermediate_size: 512,
  shared_expert_intermediate_size: 512,
  num_experts_per_tok: 8,
  num_experts: 256,
};

const QWEN3_5_NOTE =
  "qwen3_5: planned as transformers' fast path runs it (flash-linear-attention's chunk_gated_delta_rule and FusedRMSNormGated, causal-conv1d's causal_conv1d_fn, as the hub kernels it loads provide them); without them the model falls back to a Python chunked loop that keeps more; M-RoPE over a quarter of each head is planned as RoPE over the whole head";

function qwen3_5Family(types: string[], defaults: Config, moe: boolean): Family {
  return qwen3Family(types, defaults, (arch, read, { root }) => {
    arch.layerTypes = qwen3NextLayerTypes(read, arch.numLayers);
    arch.gatedDelta = { ...gatedDelta(read), splitProjections: true };
    arch.qkNorm = true; // q_norm and k_norm over head_dim
    arch.attentionOutputGate = true;
    // Qwen3_5MoeSparseMoeBlock: the shared expert's sigmoid gate; its router always divides
    // the top-k weights by their sum (no norm_topk_prob to read)
    if (moe && arch.moe && !read.config.moe) {
      arch.moe.sharedExpertGate = true;
      arch.moe.renormalize = true;
    }
    // Qwen3_5VisionConfig is Qwen3VLVisionConfig without deepstack_visual_indexes
    if (root.vision_config)
      arch.vision = qwen3VlTower(visionConfigOf(root), 'qwen3_5_vision', false);
    arch.notes = [fixedStateNote(types[0], 'Gated DeltaNet layers'), QWEN3_5_NOTE];
  });
}

export const qwen3_5 = qwen3_5Family(['qwen3_5', 'qwen3_5_text'], QWEN3_5_DEFAULTS, false);
export const qwen3_5Moe = qwen3_5Family(
  ['qwen3_5_moe', 'qwen3_5_moe_text'],
  QWEN3_5_MOE_DEFAULTS,
  true,
);
