// GPT-J (modeling_gptj.py): GPTJBlock feeds one LayerNorm's output to attention and the MLP side
// by side and adds both to the residual; q, k, v and out_proj carry no bias, fc_in and fc_out do,
// and so does lm_head. RoPE turns the first rotary_dim channels of each head (planned over the
// whole head, as Phi's: the saved rotated q and k are the same).
import { ModelArchitecture } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';

/** GPTJConfig's defaults (configuration_gptj.py): GPT-J-6B's shape. */
export const GPTJ_DEFAULTS: Config = {
  vocab_size: 50400,
  n_positions: 2048,
  n_embd: 4096,
  n_layer: 28,
  n_head: 16,
  rotary_dim: 64,
  activation_function: 'gelu_new',
  resid_pdrop: 0.0,
  embd_pdrop: 0.0,
  attn_pdrop: 0.0,
  tie_word_embeddings: false,
};

/** GPTJAttention and CodeGenAttention: sin and cos span rotary_dim channels of each head (the
 * whole head where rotary_dim is null). */
export function readRotaryDim(arch: ModelArchitecture, read: ConfigReader): void {
  const rotaryDim = read.config.rotary_dim;
  arch.partialRotaryFactor ??= typeof rotaryDim === 'number' ? rotaryDim / arch.headDim : 1;
}

export const gptj: Family = {
  types: ['gptj'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 1,
  defaults: GPTJ_DEFAULTS,
  refine: (arch, read) => {
    arch.parallelResidual = true; // hidden_states = attn_output + feed_forward_hidden_states + residual
    arch.mlpBias = true; // GPTJMLP: nn.Linear(embed_dim, intermediate_size), bias by default
    arch.outputHeadBias = true; // GPTJForCausalLM: lm_head = nn.Linear(n_embd, vocab_size)
    readRotaryDim(arch, read);
  },
};
