// gpt-oss (modeling_gpt_oss.py): every layer MoE with biased experts and router, attention
// with biases and a learned sink logit per head, sliding and full attention alternating.
import { LayerType } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family } from '../family';

/** GptOssConfig's defaults (configuration_gpt_oss.py). */
const GPT_OSS_DEFAULTS: Config = {
  num_hidden_layers: 36,
  num_local_experts: 128,
  vocab_size: 201088,
  hidden_size: 2880,
  intermediate_size: 2880,
  head_dim: 64,
  num_attention_heads: 64,
  num_key_value_heads: 8,
  sliding_window: 128,
  tie_word_embeddings: false,
  max_position_embeddings: 131072,
  num_experts_per_tok: 4,
};

export const gptOss: Family = {
  types: ['gpt_oss'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GPT_OSS_DEFAULTS,
  refine: (arch, read) => {
    // GptOssConfig sets attention_bias = True whatever the file says.
    arch.qkvBias = true;
    arch.attentionOutputBias = true;
    arch.attentionSinks = true;
    if (arch.moe) {
      arch.moe.expertBias = true; // gate_up_proj_bias, down_proj_bias, router.bias
      arch.moe.router = 'top-k-softmax'; // GptOssTopKRouter: top-k of the logits, then softmax
    }
    // layer_types, else sliding on even layers: "sliding_attention" if (i + 1) % 2.
    arch.layerTypes = Array.isArray(read.config.layer_types)
      ? (read.config.layer_types as LayerType[])
      : Array.from({ length: arch.numLayers }, (_, i) =>
          (i + 1) % 2 ? 'sliding_attention' : 'full_attention',
        );
  },
};
