// Architectures written out from the models' Hugging Face config.json files, for the specs.
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
