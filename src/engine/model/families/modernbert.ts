// ModernBERT (transformers models/modernbert/modular_modernbert.py, the v5 code): a pre-norm
// encoder of LayerNorms without biases, Wqkv (q, k and v in one linear), RoPE rotated in fp32,
// every third layer global and the others attending a local window both ways, GeGLU's Wi (the
// input and the gate in one linear) and Wo; no norm before the first layer's attention; a
// final norm; ModernBertPredictionHead (dense, GELU, norm) before the tied decoder or the
// classifier.
import { PlanValidationError } from '../../vocabulary';
import { Config } from '../config-reader';
import { Family, givenLayerTypes, indicesWhere } from '../family';

/** ModernBertConfig's defaults (ModernBERT-base's shape). */
const MODERNBERT_DEFAULTS: Config = {
  vocab_size: 50368,
  hidden_size: 768,
  intermediate_size: 1152,
  num_hidden_layers: 22,
  num_attention_heads: 12,
  hidden_activation: 'gelu',
  max_position_embeddings: 8192,
  norm_bias: false,
  attention_bias: false,
  mlp_bias: false,
  attention_dropout: 0,
  embedding_dropout: 0,
  mlp_dropout: 0,
  decoder_bias: true,
  classifier_bias: false,
  classifier_pooling: 'cls',
  local_attention: 128,
  global_attn_every_n_layers: 3,
  tie_word_embeddings: true,
};

const LAYER_TYPES = ['full_attention', 'sliding_attention'] as const;

const MEAN_POOLING_NOTE =
  "modernbert: classifier_pooling 'mean' multiplies the (b, s, h) last hidden state by the mask before summing it, a transient not planned (the head is planned as 'cls' pooling runs it, on one token a sequence)";

export const modernbert: Family = {
  types: ['modernbert'],
  mlp: 'gated',
  norm: 'layernorm-nobias',
  normsPerLayer: 2,
  defaults: MODERNBERT_DEFAULTS,
  refine: (arch, read) => {
    const { config } = read;
    if (config.norm_bias === true) arch.norm = 'layernorm';
    arch.fusedQkv = true; // ModernBertAttention.Wqkv
    arch.fusedGateUp = true; // ModernBertMLP.Wi: input and gate, chunked
    arch.embeddingNorm = true; // ModernBertEmbeddings.norm
    arch.finalNorm = true; // ModernBertModel.final_norm
    arch.normlessFirstAttention = true;
    // ModernBertConfig: layer i is global where i % global_attn_every_n_layers == 0; a local
    // layer attends local_attention // 2 keys each side (its sliding_window, + 1 inclusive)
    const every = read.numberOr(3, 'global_attn_every_n_layers');
    const types =
      givenLayerTypes(read, config.layer_types, arch.numLayers, LAYER_TYPES) ??
      indicesWhere(arch.numLayers, () => true).map((i) =>
        i % every === 0 ? 'full_attention' : 'sliding_attention',
      );
    arch.layerTypes = types;
    arch.slidingWindow = Math.floor(read.numberOr(128, 'local_attention') / 2) + 1;
    // ModernBertForMaskedLM: ModernBertPredictionHead (dense with classifier_bias, norm), then
    // the decoder tied to tok_embeddings with decoder_bias
    arch.maskedLmHead = true;
    arch.outputHeadBias = config.decoder_bias !== false;
    arch.headDenseBias = config.classifier_bias === true;
    const pooling = config.classifier_pooling;
    if (pooling !== 'cls' && pooling !== 'mean') {
      // ModernBertConfig.__init__ raises on any other value
      read.fail('classifier_pooling', "give 'cls' or 'mean'");
      throw new PlanValidationError(read.errors);
    }
    if (arch.sequenceClassificationLabels && pooling === 'mean')
      arch.notes = [...(arch.notes ?? []), MEAN_POOLING_NOTE];
  },
};
