// CodeGen (modeling_codegen.py): GPT-J's block (one LayerNorm feeding attention and the gelu_new
// MLP side by side, RoPE on rotary_dim channels, biased fc_in, fc_out and lm_head) with q, k and
// v from one bias-free qkv_proj, split in four (mp_num = 4) the way the TPU-v4 checkpoints laid
// them out.
import { PlanValidationError } from '../../vocabulary';
import { Family } from '../family';
import { GPTJ_DEFAULTS, readRotaryDim } from './gptj';

// CodeGenAttention.forward: mp_num = 4, hard-coded (the number of TPU-v4 cores it was cut for).
const QKV_SHARDS = 4;

export const codegen: Family = {
  types: ['codegen'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 1,
  defaults: GPTJ_DEFAULTS, // CodeGenConfig's defaults are GPTJConfig's (codegen-6B is GPT-J-6B's shape)
  refine: (arch, read) => {
    if (arch.numAttentionHeads % QKV_SHARDS !== 0) {
      read.fail(
        'n_head',
        `CodeGen splits q, k and v into ${QKV_SHARDS} shards of heads: give n_head divisible by ${QKV_SHARDS}`,
      );
      throw new PlanValidationError(read.errors);
    }
    arch.parallelResidual = true; // attn_output + feed_forward_hidden_states + residual
    arch.qkvBias = false; // qkv_proj: bias=False
    arch.attentionOutputBias = false; // out_proj: bias=False
    arch.mlpBias = true; // CodeGenMLP: nn.Linear's default bias
    arch.outputHeadBias = true; // CodeGenForCausalLM: lm_head = nn.Linear(n_embd, vocab_size)
    readRotaryDim(arch, read);
  },
};
