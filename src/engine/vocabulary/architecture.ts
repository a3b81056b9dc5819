// The shape of a model: what the planner reads to count parameters and what layers keep.
/** How the MLP of a layer is built. */
export type MlpKind = 'gated' | 'plain';
/** RMSNorm has a weight only; LayerNorm has weight and bias unless `layernorm-nobias`. */
export type NormKind = 'rmsnorm' | 'layernorm' | 'layernorm-nobias';

export interface MoeConfig {
  /** Routed experts per MoE layer (E). */
  numExperts: number;
  /** Experts each token is routed to (top-k). */
  expertsPerToken: number;
  /** Width of one routed expert's MLP (f_moe). */
  expertIntermediateSize: number;
  /** Shared (always-active) experts per MoE layer. */
  sharedExperts: number;
  /** Width of one shared expert's MLP. */
  sharedExpertIntermediateSize: number;
  /** The first k decoder layers use a dense MLP of `intermediateSize` instead of experts. */
  firstDenseLayers: number;
  /** Router has a per-expert bias (DeepSeek-V3's e_score_correction_bias counts as one). */
  routerBias: boolean;
  /** A one-output linear (h x 1) gates the shared expert (Qwen2-MoE's shared_expert_gate). */
  sharedExpertGate?: boolean;
}

/** The encoder stack of an encoder-decoder model (T5-style relative position buckets). */
export interface EncoderConfig {
  numLayers: number;
  relativeAttentionBuckets: number;
}

/** Multi-latent attention (DeepSeek-V2/V3). */
export interface MlaConfig {
  qLoraRank: number; // 0 means q is projected directly from h
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

/** The shape of a decoder-only transformer, enough to count every parameter and activation. */
export interface ModelArchitecture {
  id: string;
  name: string;
  hfId?: string;
  hiddenSize: number; // h
  numLayers: number; // L
  numAttentionHeads: number; // a
  numKeyValueHeads: number; // g
  headDim: number; // d
  intermediateSize: number; // f (dense MLP width)
  vocabSize: number; // V
  tieWordEmbeddings: boolean;
  mlp: MlpKind;
  activation: string; // silu, gelu, gelu_pytorch_tanh, ...
  norm: NormKind;
  /** Norms inside each decoder layer (2 for Llama, 4 for Gemma-2, 1 for parallel blocks). */
  normsPerLayer: number;
  /** Attention and MLP read the same layer input (GPT-NeoX, Falcon, Phi): their norms share it. */
  parallelResidual?: boolean;
  /** q, k and v come from one linear that the model code splits (HF Phi-3's qkv_proj). */
  fusedQkv?: boolean;
  /** The gated MLP's gate and up projections are one linear (HF Phi-3's gate_up_proj). */
  fusedGateUp?: boolean;
  /** Per-head RMSNorm on q and k of size headDim (Qwen3, OLMo-2). */
  qkNorm: boolean;
  /** q/k norms with a separate weight per head (Cohere Command-R+: a x d and g x d). */
  qkNormPerHead?: boolean;
  /** Biases on q/k/v projections. */
  qkvBias: boolean;
  /** Bias on the attention output projection. */
  attentionOutputBias: boolean;
  mlpBias: boolean;
  /** Learned absolute position embeddings (GPT-2/GPT-3): rows of size h; 0 for RoPE/ALiBi. */
  learnedPositionEmbeddings: number;
  /** A norm right after the token embedding (BLOOM). */
  embeddingNorm: boolean;
  /** Final norm before the output head. */
  finalNorm: boolean;
  /** The output head has a bias of V (Phi-1/Phi-2). */
  outputHeadBias?: boolean;
  /** A *ForSequenceClassification model: a pooled head of this many labels replaces the
   * vocabulary projection, so no per-token logits exist. */
  sequenceClassificationLabels?: number;
  maxPositionEmbeddings: number;
  /** Sliding-window attention width where the model uses it (Mistral, Gemma-2 local layers). */
  slidingWindow?: number;
  /** Fraction of layers that use the sliding window (Gemma-2 alternates: 0.5). */
  slidingWindowLayerFraction?: number;
  /** Attention scores pass through cap * tanh(x / cap) before softmax (Gemma-2: 50). */
  attentionLogitSoftcapping?: number;
  /** The logits pass through cap * tanh(x / cap) before the loss (Gemma-2: 30). */
  finalLogitSoftcapping?: number;
  moe?: MoeConfig;
  mla?: MlaConfig;
  /** Encoder-decoder models (T5): `numLayers` counts both stacks, the first `encoder.numLayers`
   * layers are the encoder's; the decoder layers add cross-attention (4 linears and a norm). */
  encoder?: EncoderConfig;
  /** Published exact parameter count where one exists (checked against our own count). */
  publishedParameters?: number;
  source?: string;
}
