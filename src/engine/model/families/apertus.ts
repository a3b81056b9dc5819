// Apertus (modular_apertus.py): Llama's layer with per-head q/k RMSNorms before RoPE (as
// Qwen3's), its two norms named attention_layernorm and feedforward_layernorm, and NemotronMLP's
// plain up_proj, activation, down_proj with the xIELU activation, whose alpha_p and alpha_n are
// trained (memory/recipes/hf-llama.ts xielu).
import { Config } from '../config-reader';
import { Family } from '../family';

/** ApertusConfig's defaults (configuration_apertus.py). */
const APERTUS_DEFAULTS: Config = {
  vocab_size: 131072,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'xielu',
  max_position_embeddings: 65536,
  tie_word_embeddings: false,
  attention_bias: false,
};

const XIELU_NOTE =
  "xIELU planned as transformers runs it without the xielu CUDA extension (XIELUActivation's Python fallback, each op its own tensor); with the extension installed the activation keeps less, so the plan errs high";

export const apertus: Family = {
  types: ['apertus'],
  mlp: 'plain',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: APERTUS_DEFAULTS,
  refine: (arch) => {
    arch.qkNorm = true; // ApertusAttention: q_norm and k_norm of head_dim
    if (arch.activation === 'xielu') arch.notes = [...(arch.notes ?? []), XIELU_NOTE];
  },
};
