// GPT-BigCode (StarCoder, SantaCoder, Granite Code; transformers v5 modeling_gpt_bigcode.py):
// GPT-2's pre-LayerNorm block built from nn.Linear modules, one biased c_attn making q and, under
// multi_query, a single K/V head (GPTBigCodeAttention: embed_dim + 2 x kv_dim outputs), learned
// positions (wpe), a tied head and Hugging Face's attention interface (no RoPE).
import { PlanValidationError } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';

/** GPTBigCodeConfig's defaults (configuration_gpt_bigcode.py). */
const GPT_BIGCODE_DEFAULTS: Config = {
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  activation_function: 'gelu_pytorch_tanh',
  resid_pdrop: 0.1,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  multi_query: true,
  tie_word_embeddings: true,
};

// ACT2FN's activations that run as one kernel keeping its input (GELUTanh, GELUActivation).
const FUSED_GELUS = ['gelu_pytorch_tanh', 'gelu'];

/** An activation written out in Python (SantaCoder's gelu_fast, gelu_new) makes several
 * tensors; the Llama layer's plain MLP plans one fused GELU, so the plan says so. */
function activationNote(activation: string): string {
  return `activation_function '${activation}' is written out in Python (several tensors a call); its MLP is planned with one fused GELU (gelu_pytorch_tanh's), so its activations err low`;
}

export const gptBigCode: Family = {
  types: ['gpt_bigcode'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  biasEverywhere: () => true, // nn.Linear's default bias on c_attn, c_proj, c_fc and c_proj
  defaults: GPT_BIGCODE_DEFAULTS,
  refine: (arch, read) => {
    if (read.config.add_cross_attention === true) {
      // GPTBigCodeBlock: crossattention and ln_cross_attn for an encoder's states (MQA refuses).
      read.fail('add_cross_attention', 'cross-attention layers are not planned: give false');
      throw new PlanValidationError(read.errors);
    }
    arch.fusedQkv = true; // c_attn: q, k and v from one linear
    // GPTBigCodeAttention: kv_heads = 1 if multi_query else num_heads, whatever
    // num_key_value_heads the config carries.
    arch.numKeyValueHeads = read.flag('multi_query', true) ? 1 : arch.numAttentionHeads;
    // wpe: nn.Embedding(max_position_embeddings, hidden_size), n_positions in config.json.
    arch.learnedPositionEmbeddings = arch.maxPositionEmbeddings;
    if (!FUSED_GELUS.includes(arch.activation))
      arch.notes = [...(arch.notes ?? []), activationNote(arch.activation)];
  },
};
