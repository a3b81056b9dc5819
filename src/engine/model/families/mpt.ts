// MPT (modeling_mpt.py): bias-free LayerNorms (their bias set to None) and linears, one Wqkv,
// ALiBi in place of positions, an exact-GELU MLP of 4 x d_model (expansion_ratio unread), a tied head.
// MptConfig names its fields d_model, n_heads, n_layers and keeps the dropouts in attn_config;
// Hugging Face's MptAttention, MptBlock and MptMLP all drop out with attn_config.attn_pdrop.
import { PlanValidationError } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';

const MLP_RATIO = 4;

/** attn_config as a record, empty where the config has none. */
function attnConfig(config: Config): Config {
  const value = config.attn_config;
  return value && typeof value === 'object' ? (value as Config) : {};
}

/** MptConfig's defaults (configuration_mpt.py) under the common names its own stand for. */
function mptDefaults(config: Config): Config {
  const dModel = typeof config.d_model === 'number' ? config.d_model : 2048;
  return {
    d_model: 2048,
    num_attention_heads: config.n_heads ?? 16,
    num_hidden_layers: config.n_layers ?? 24,
    // MptMLP: nn.Linear(hidden_size, 4 * hidden_size), whatever expansion_ratio says.
    intermediate_size: MLP_RATIO * dModel,
    max_position_embeddings: config.max_seq_len ?? 2048,
    vocab_size: 50368,
    attention_dropout: attnConfig(config).attn_pdrop ?? 0,
    activation: 'gelu',
    tie_word_embeddings: true,
  };
}

export const mpt: Family = {
  types: ['mpt'],
  mlp: 'plain',
  norm: 'layernorm-nobias',
  normsPerLayer: 2,
  defaults: mptDefaults,
  refine: (arch, read) => {
    const given = read.config.attn_config;
    if (
      given !== undefined &&
      given !== null &&
      (typeof given !== 'object' || Array.isArray(given))
    )
      read.fail('attn_config', 'must be an object (alibi, attn_pdrop, clip_qkv, qk_ln, ...)');
    const attn = attnConfig(read.config);
    const p = attn.attn_pdrop;
    if (p !== undefined && p !== null && !(typeof p === 'number' && p >= 0 && p < 1))
      read.fail('attn_config.attn_pdrop', `must be a number in [0, 1), got ${JSON.stringify(p)}`);
    if (typeof attn.clip_qkv === 'number') {
      read.fail(
        'attn_config.clip_qkv',
        'clipping Wqkv (a clamped copy) is not planned: leave it null',
      );
    }
    if (attn.qk_ln === true) {
      read.fail(
        'attn_config.qk_ln',
        "Hugging Face's MptAttention has no q/k LayerNorm: give qk_ln false",
      );
    }
    if (read.errors.length > 0) throw new PlanValidationError(read.errors);
    arch.qkvBias = false; // MptAttention: Wqkv and out_proj with bias=False
    arch.attentionOutputBias = false;
    arch.mlpBias = false; // MptMLP: up_proj, down_proj with bias=False
  },
};
