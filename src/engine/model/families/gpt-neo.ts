// GPT-Neo (modeling_gpt_neo.py): GPT-2's pre-LayerNorm block with bias-free q_proj, k_proj and
// v_proj, a biased out_proj, c_fc and c_proj (nn.Linear), gelu_new, learned positions (wpe) and
// a tied head. Its `attention_types` alternate global and local layers; a local layer only masks
// its full score matrix down to `window_size` keys (GPTNeoSelfAttention's causal buffer), and
// the cache keeps every token, so the plan treats every layer as full attention.
import { Config } from '../config-reader';
import { Family } from '../family';

/** GPTNeoConfig's defaults (configuration_gpt_neo.py): GPT-Neo 1.3B's shape. */
const GPT_NEO_DEFAULTS: Config = {
  vocab_size: 50257,
  max_position_embeddings: 2048,
  hidden_size: 2048,
  num_layers: 24,
  num_heads: 16,
  activation_function: 'gelu_new',
  resid_dropout: 0.0,
  embed_dropout: 0.0,
  attention_dropout: 0.0,
  tie_word_embeddings: true,
};

export const gptNeo: Family = {
  types: ['gpt_neo'],
  // modeling_gpt_neo.py: resid_dropout, the MLP's dropout and the embeddings' drop are modules;
  // flash attention reads the config's attention_dropout (eager's module is left planned)
  dropoutModules: ['residual', 'embedding'],
  mlp: 'plain',
  norm: 'layernorm',
  normsPerLayer: 2,
  defaults: GPT_NEO_DEFAULTS,
  refine: (arch, read) => {
    arch.qkvBias = false; // GPTNeoSelfAttention: q_proj, k_proj, v_proj with bias=False
    arch.attentionOutputBias = true; // out_proj with bias=True
    arch.mlpBias = true; // GPTNeoMLP: nn.Linear's default bias
    // wpe: nn.Embedding(max_position_embeddings, hidden_size).
    arch.learnedPositionEmbeddings = read.numberOr(2048, 'max_position_embeddings');
  },
};
