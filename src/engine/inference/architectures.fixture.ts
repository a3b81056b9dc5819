// Architectures written out from the models' Hugging Face config.json files, for the specs.
import { architectureFromConfig } from '../model/architecture';
import { ModelArchitecture } from '../vocabulary';

const llamaLike: Omit<ModelArchitecture, 'id' | 'name'> = {
  hiddenSize: 4096,
  numLayers: 32,
  numAttentionHeads: 32,
  numKeyValueHeads: 8,
  headDim: 128,
  intermediateSize: 14336,
  vocabSize: 128256,
  tieWordEmbeddings: false,
  mlp: 'gated',
  activation: 'silu',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  qkNorm: false,
  qkvBias: false,
  attentionOutputBias: false,
  mlpBias: false,
  learnedPositionEmbeddings: 0,
  embeddingNorm: false,
  finalNorm: true,
  maxPositionEmbeddings: 8192,
};

// meta-llama/Meta-Llama-3-8B: 8,030,261,248 parameters.
export const llama3_8b: ModelArchitecture = { ...llamaLike, id: 'llama-3-8b', name: 'Llama-3-8B' };

// meta-llama/Llama-2-7b-hf: multi-head attention (32 KV heads), 6,738,415,616 parameters.
export const llama2_7b: ModelArchitecture = {
  ...llamaLike,
  id: 'llama-2-7b',
  name: 'Llama-2-7B',
  numKeyValueHeads: 32,
  intermediateSize: 11008,
  vocabSize: 32000,
  maxPositionEmbeddings: 4096,
};

// mistralai/Mistral-7B-v0.1: sliding_window 4096 on every layer.
export const mistral7b: ModelArchitecture = {
  ...llamaLike,
  id: 'mistral-7b',
  name: 'Mistral-7B',
  vocabSize: 32000,
  maxPositionEmbeddings: 32768,
  slidingWindow: 4096,
};

// google/gemma-2-9b: local (4096) and global layers alternate, head_dim 256, tied embeddings.
export const gemma2_9b: ModelArchitecture = {
  ...llamaLike,
  id: 'gemma-2-9b',
  name: 'Gemma-2-9B',
  hiddenSize: 3584,
  numLayers: 42,
  numAttentionHeads: 16,
  numKeyValueHeads: 8,
  headDim: 256,
  vocabSize: 256000,
  tieWordEmbeddings: true,
  activation: 'gelu_pytorch_tanh',
  normsPerLayer: 4,
  slidingWindow: 4096,
  slidingWindowLayerFraction: 0.5,
};

// deepseek-ai/DeepSeek-V3: MLA (kv_lora_rank 512, rope 64), 3 dense layers then 256 experts top-8.
export const deepseekV3: ModelArchitecture = {
  ...llamaLike,
  id: 'deepseek-v3',
  name: 'DeepSeek-V3',
  hiddenSize: 7168,
  numLayers: 61,
  numAttentionHeads: 128,
  numKeyValueHeads: 128,
  headDim: 192,
  intermediateSize: 18432,
  vocabSize: 129280,
  maxPositionEmbeddings: 163840,
  moe: {
    numExperts: 256,
    expertsPerToken: 8,
    expertIntermediateSize: 2048,
    sharedExperts: 1,
    sharedExpertIntermediateSize: 2048,
    firstDenseLayers: 3,
    routerBias: true,
  },
  mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
};

// google-t5/t5-base's config.json: 12 encoder and 12 decoder blocks of d_model 768, 12 heads of
// 64, a ReLU d_ff of 3,072, 32 relative-position buckets, 32,128 tokens.
export const T5_BASE_CONFIG = {
  architectures: ['T5ForConditionalGeneration'],
  model_type: 't5',
  d_model: 768,
  d_ff: 3072,
  d_kv: 64,
  num_heads: 12,
  num_layers: 12,
  num_decoder_layers: 12,
  vocab_size: 32128,
  feed_forward_proj: 'relu',
  relative_attention_num_buckets: 32,
  is_encoder_decoder: true,
};
export const t5Base = architectureFromConfig('t5-base', T5_BASE_CONFIG);

// openai/whisper-large-v3's config.json: 32 + 32 pre-LN layers of 1,280, 20 heads, a 5,120-wide
// GELU MLP, 128 mel bins, 1,500 source and 448 target positions, 51,866 tokens.
export const WHISPER_LARGE_V3_CONFIG = {
  model_type: 'whisper',
  architectures: ['WhisperForConditionalGeneration'],
  d_model: 1280,
  encoder_layers: 32,
  decoder_layers: 32,
  encoder_attention_heads: 20,
  decoder_attention_heads: 20,
  encoder_ffn_dim: 5120,
  decoder_ffn_dim: 5120,
  num_mel_bins: 128,
  vocab_size: 51866,
  max_source_positions: 1500,
  max_target_positions: 448,
};
export const whisperLargeV3 = architectureFromConfig('whisper-large-v3', WHISPER_LARGE_V3_CONFIG);
