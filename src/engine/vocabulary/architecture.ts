// The shape of a model: what the planner reads to count parameters and what layers keep.
/** How the MLP of a layer is built. */
export type MlpKind = 'gated' | 'plain';
/** A norm's parameters: RMSNorm a weight; LayerNorm a weight and a bias, or a weight only
 * (Cohere); OLMo-1's OlmoLayerNorm neither; Nemotron's LayerNorm1P a weight (applied as
 * weight + 1) and a bias. */
export const NORM_KINDS = [
  'rmsnorm',
  'layernorm',
  'layernorm-nobias',
  'layernorm-weightless',
  'layernorm1p',
] as const;
export type NormKind = (typeof NORM_KINDS)[number];

/** Whether a norm of this kind has a bias beside its weight. */
export function normHasBias(norm: NormKind): boolean {
  return norm === 'layernorm' || norm === 'layernorm1p';
}

/** Parameters of one norm over `size`: RMSNorm a weight; LayerNorm and LayerNorm1P a weight and
 * a bias; OlmoLayerNorm nothing. */
export function normElementsOf(norm: NormKind, size: number): number {
  if (norm === 'layernorm-weightless') return 0;
  return normHasBias(norm) ? 2 * size : size;
}

/** How a MoE layer's router picks and weighs experts: a softmax over the logits, top-k, the
 * weights left in fp32 (Mixtral, Qwen-MoE, OLMoE); top-k of the logits, then a
 * softmax over the k in their dtype (gpt-oss's GptOssTopKRouter); DeepSeek-V2's fp32 linear and
 * softmax whose top-k weights stay fp32 (DeepseekV2Moe); or DeepSeek-V3's fp32 linear with
 * sigmoid scores and a group-limited top-k (DeepseekV3TopkRouter, also GLM-4.5's and
 * Kimi-K2's); Llama-4's top-k of the logits scattered into a row of -inf, then an fp32
 * sigmoid: a weight for every expert, zero where it was not chosen (Llama4Router); or ERNIE
 * 4.5's fp32 softmax, experts chosen on it plus a correction bias, their probabilities divided
 * by their sum (Ernie4_5_MoeTopKRouter); or HunYuan-MoE's fp32 gate on an fp32 copy of the
 * input, a softmax, top-k divided by its sum, cast to the logits' dtype (HunYuanMoEV1Gate); or
 * JetMoE's and Granite-MoE's top-k of the fp32 logits, a softmax over the k, cast to the hidden
 * dtype (JetMoeTopKGating, GraniteMoeTopKGating); or LFM2-MoE's sigmoid in the logits' dtype,
 * experts chosen on it plus an fp32 bias, the chosen sigmoids renormalised and scaled. */
export const ROUTER_KINDS = [
  'softmax',
  'top-k-softmax',
  'fp32-softmax',
  'grouped-sigmoid',
  'top-k-sigmoid',
  'biased-softmax',
  'fp32-gate-softmax',
  'top-k-gating',
  'biased-sigmoid',
  'fp32-biased-sigmoid',
] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

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
  /** The router bias buffer is fp32 whatever the model's dtype (Glm4MoeTopkRouter registers
   * e_score_correction_bias with dtype=torch.float32); absent: the model's dtype. */
  routerBiasFp32?: boolean;
  /** The router's weight is stored and trained in fp32 whatever the model's dtype (ERNIE 4.5's
   * `_keep_in_fp32_modules_strict`); absent: the model's dtype. */
  routerWeightFp32?: boolean;
  /** The top-k weights are divided by their sum; false where norm_topk_prob is false (Qwen2-MoE,
   * Qwen3-MoE, OLMoE, DeepSeek-V3 and GLM-4.5 read it) and for Jamba, which never divides
   * (family.ts readNormTopkProb). Absent: divided, as Mixtral always does. */
  renormalize?: boolean;
  /** The router's kind; absent: softmax. */
  router?: RouterKind;
  /** A one-output linear (h x 1) gates the shared expert (Qwen2-MoE's shared_expert_gate). */
  sharedExpertGate?: boolean;
  /** The layers that route to experts when it is not every layer from `firstDenseLayers` on
   * (Llama-4's moe_layers, Jamba's expert_layer_period/offset). */
  layers?: number[];
  /** Routed experts and the router carry biases (gpt-oss: gate_up_proj_bias, down_proj_bias,
   * router.bias). */
  expertBias?: boolean;
  /** Every routed expert computes every token, weighted by the router's score (zero where it
   * was not chosen): Llama4TextMoe repeats the hidden states once per expert into one bmm over
   * all of them. Absent: each expert computes only the tokens routed to it. */
  denseExperts?: boolean;
  /** The shared expert runs before the router, its output held through the routed experts and
   * added after them (HunYuanMoEV1Moe.forward, Ernie4_5_MoeSparseMoeBlock.forward). */
  sharedExpertFirst?: boolean;
  /** The routed experts work in this narrower width: fc1_latent_proj (h to it) before them,
   * fc2_latent_proj (back to h) after (NemotronHMoE's moe_latent_size); absent: h. */
  latentSize?: number;
}

/** What mixes tokens in a layer: attention, attention to another stack's states, a selective
 * state-space scan (Mamba-1, Mamba-2), LFM2's short convolution, Qwen3-Next's Gated DeltaNet, or
 * Falcon-H1's attention and Mamba-2 side by side (model/layers.ts MIXER_CODES says what each
 * carries along the sequence). */
export type MixerKind =
  | 'attention'
  | 'cross-attention'
  | 'mamba'
  | 'mamba2'
  | 'short-conv'
  | 'gated-delta'
  /** Falcon-H1: attention and a Mamba-2 mixer side by side on the same normed input. */
  | 'attention-mamba2'
  /** Nemotron-H's MLP and MoE blocks: the layer mixes no tokens, it holds the MLP alone. */
  | 'none';

/** How far back an attention layer looks. */
export type AttentionWindow =
  | { kind: 'full' }
  /** The last `size` tokens (Mistral, Gemma-2/3 local layers, gpt-oss sliding layers). */
  | { kind: 'sliding'; size: number }
  /** Tokens of the same `size`-token chunk only (Llama-4's chunked attention). */
  | { kind: 'chunked'; size: number };

/** The per-layer type names of Hugging Face `layer_types`, plus the hybrid stacks' mixers. */
export type LayerType =
  | 'full_attention'
  | 'sliding_attention'
  | 'chunked_attention'
  | 'cross_attention'
  | 'mamba'
  | 'mamba2'
  /** LFM2's gated short convolution (Lfm2ShortConv). */
  | 'conv'
  /** Qwen3-Next's Gated DeltaNet (Qwen3NextGatedDeltaNet). */
  | 'linear_attention'
  /** Falcon-H1's layer: attention and a Mamba-2 mixer in parallel (FalconH1DecoderLayer). */
  | 'hybrid'
  /** Nemotron-H's blocks of an MLP alone and of a sparse MoE block alone (NemotronHBlock). */
  | 'mlp'
  | 'moe';

/** One layer as the memory recipes read it: built once per distinct `key`, then repeated. */
export interface LayerKind {
  /** Stable text naming everything below: equal keys mean identical layers. */
  key: string;
  mixer: MixerKind;
  /** `full` for layers that do not attend (state-space mixers). */
  attentionWindow: AttentionWindow;
  mlp: 'dense' | 'moe' | 'none';
  /** Learned per-head attention sinks in the softmax (gpt-oss). */
  sinks?: boolean;
  /** False where an attention layer skips the position encoding the model otherwise applies
   * (Llama-4's NoPE layers), and for layers that do not attend. */
  rope: boolean;
  /** An encoder layer of an encoder-decoder model (T5). */
  encoder?: boolean;
  /** A multi-token-prediction module appended after the main stack (DeepSeek-V3). */
  mtp?: boolean;
}

/** A selective state-space mixer (Mamba: Gu and Dao 2023; Mamba-2: Dao and Gu 2024). */
export interface SsmConfig {
  version: 1 | 2;
  /** N: the state size per channel (d_state). */
  stateSize: number;
  /** The causal depthwise convolution's width (d_conv). */
  convKernel: number;
  /** d_inner = expand x hidden_size. */
  expand: number;
  innerSize: number;
  /** Rank of the time-step projection (Mamba-1's dt_rank; unused by Mamba-2). */
  dtRank: number;
  /** Groups sharing B and C (Mamba-2's n_groups; 1 for Mamba-1). */
  groups: number;
  /** Mamba-2 heads and their width (d_inner = heads x headDim); 0 for Mamba-1. */
  heads: number;
  headDim: number;
  convBias: boolean;
  /** Biases on in_proj and out_proj. */
  projBias: boolean;
  /** Jamba's RMSNorms on dt, B and C inside the mixer. */
  innerNorms?: boolean;
  /** FalconMamba's RMS normalisation of dt, B and C inside its fused kernel (weightless:
   * FalconMambaMixer's b_c_rms and dt_rms are buffers of ones). */
  kernelNorms?: boolean;
  /** Mamba-2's gated RMSNorm before out_proj; false where the mixer has none (Falcon-H1 without
   * mamba_rms_norm: the kernel multiplies by silu(z) instead). */
  gatedNorm?: boolean;
  /** A bias on out_proj where it differs from in_proj's (Falcon-H1's projectors_bias). */
  outProjBias?: boolean;
}

/** LFM2's Lfm2ShortConv (modeling_lfm2.py): in_proj to B, C and x (3h), B x x through a
 * depthwise causal conv1d of `cacheLength` taps, C times its output, out_proj. */
export interface ShortConvConfig {
  /** conv_L_cache: the convolution's width, and the positions a sequence's cache keeps. */
  cacheLength: number;
  /** conv_bias: biases on in_proj, out_proj and the convolution. */
  bias: boolean;
}

/** Qwen3-Next's Gated DeltaNet (modular_qwen3_next.py Qwen3NextGatedDeltaNet; Yang, Kautz and
 * Hatamizadeh 2024, "Gated Delta Networks"): in_proj_qkvz and in_proj_ba, a causal depthwise
 * convolution over q, k and v, the chunked gated delta rule, a gated RMSNorm, out_proj. */
export interface GatedDeltaConfig {
  /** linear_num_key_heads: q and k heads (each repeated to the value heads' count). */
  keyHeads: number;
  /** linear_num_value_heads. */
  valueHeads: number;
  keyHeadDim: number;
  valueHeadDim: number;
  /** linear_conv_kernel_dim: the convolution's width, and the positions its cache keeps. */
  convKernel: number;
  /** Qwen3.5's Qwen3_5GatedDeltaNet: in_proj_qkv, in_proj_z, in_proj_b and in_proj_a in place
   * of in_proj_qkvz and in_proj_ba, and no reordering copies. */
  splitProjections?: boolean;
}

/** One linear outside the text stack (a vision projector), as `inFeatures -> outFeatures`. */
export interface ProjectorLinear {
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** A matrix the model holds as an nn.Parameter, not an nn.Linear (Gemma-3's
   * mm_input_projection_weight): LoRA does not adapt it. */
  parameter?: boolean;
}

/** The image encoder of a vision-language model, enough to count it and plan its activations. */
export interface VisionTower {
  /** The Hugging Face vision model_type it was read from (siglip_vision_model, ...). */
  kind: string;
  /** Encoder layers, including Mllama's gated global layers. */
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  patchSize: number;
  imageSize: number;
  /** Patches the encoder attends over per image (or per tile). */
  patchesPerImage: number;
  /** Embeddings one image becomes in the text stack's input or cross-attention states. */
  tokensPerImage: number;
  norm: NormKind;
  mlp: MlpKind;
  /** Biases on the encoder's q, k, v and o, and on its MLP linears. */
  attentionBias: boolean;
  mlpBias: boolean;
  /** Parameters outside the encoder layers: patch and position embeddings, pre/post norms,
   * tile embeddings and gates, as each family's modeling code creates them. */
  embeddingParameters: number;
  /** Scalar gates per layer (Mllama's gate_attn and gate_ffn on its global layers). */
  layerGates?: number;
  /** Linears that carry the encoder's output into the text stack, and their norms' weights. */
  projector: ProjectorLinear[];
  projectorNormParameters: number;
  /** 'qwen': the Qwen ViTs' own code (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5: VisionAttention,
   * PatchMerger): one qkv linear, 2-D RoPE on q and k in fp32, attention over each image, the
   * images' outputs joined by torch.cat before proj; the merger a norm over each patch, then
   * 2 x 2 patches viewed as one row, linear, GELU, linear. 'clip': CLIPVisionTransformer as
   * LlavaModel.get_image_features runs it (modeling_clip.py, modeling_llava.py): the patches and
   * a class token (both in patchesPerImage), pre_layrnorm over them, blocks whose MLP is fc1,
   * quick_gelu, fc2, the features read after `featureLayers` blocks, then LlavaMultiModalProjector
   * (linear_1, GELU, linear_2). 'internvl': InternVLVisionModel as InternVLModel
   * .get_image_features runs it (modeling_internvl.py): the patches and a class token, blocks
   * whose attention and MLP outputs are scaled by lambda_1 and lambda_2 (layerScale) before
   * their residual adds, the last block's output without the class token pixel-shuffled
   * (pixelShuffle x pixelShuffle patches a token), then InternVLMultiModalProjector (LayerNorm,
   * linear_1, GELU, linear_2). 'idefics3': Idefics3VisionTransformer as Idefics3Model and
   * SmolVLMModel.get_image_features run it (modeling_idefics3.py, modeling_smolvlm.py): SigLIP's
   * blocks, post_layernorm over every patch, the patches pixel-shuffled into one token each
   * (pixelShuffle), the connector's one bias-free linear. 'paligemma': SiglipVisionModel as
   * PaliGemmaModel.get_image_features runs it (modeling_paligemma.py): SigLIP's blocks,
   * post_layernorm over every patch, the projector's one biased linear, its output divided by
   * sqrt(text hidden size). 'onevision': SiglipVisionModel as LlavaOnevisionModel
   * .get_image_features runs it (modeling_llava_onevision.py): SigLIP's blocks, the features read
   * after `featureLayers` of them (post_layernorm runs over the last and feeds nothing), the
   * projector (linear_1, GELU, linear_2) on every crop's patches, then LLaVA-NeXT's packing with
   * the grid's features resized (resizedGridTokens). 'aya': SiglipVisionModel as
   * AyaVisionModel.get_image_features runs it (modeling_aya_vision.py): SigLIP's blocks, the
   * features read after `featureLayers` of them (post_layernorm runs over the last and feeds
   * nothing), pixel-shuffled (pixelShuffle x pixelShuffle patches a token), then
   * AyaVisionMultiModalProjector (LayerNorm, linear_1, SwiGLU, linear_2). 'idefics2':
   * Idefics2VisionTransformer as Idefics2Model.forward runs it (modeling_idefics2.py): SigLIP's
   * blocks, post_layernorm over every patch, then Idefics2Connector: modality_projection (a
   * gated MLP to the text width: the projector's first three linears) and the perceiver
   * resampler (`resampler`), whose latents are the image's tokens. Absent: the generic ViT
   * block with separate q, k, v and o and the projector's linears on gathered patches. */
  layout?:
    'qwen' | 'clip' | 'internvl' | 'idefics3' | 'paligemma' | 'onevision' | 'aya' | 'idefics2';
  /** How the text stack attends over the image tokens in training: each image's tokens to one
   * another ('images': Gemma3Model's token_type_ids_mask_function), or the whole prefix, image
   * and prompt, to itself ('prefix': PaliGemma's prefix-LM). Either way the causal mask cannot
   * be left to the kernel: every layer receives an explicit one. Absent: causal. */
  bidirectional?: 'images' | 'prefix';
  /** The attention output linear's bias where it differs from q, k and v's (InternVL's
   * projection_layer always has one). Absent: attentionBias. */
  projectionBias?: boolean;
  /** RMSNorms over the whole q and k projections (InternVL's use_qk_norm). */
  qkNorm?: boolean;
  /** A learned per-channel scale on each block's attention and MLP outputs (InternVL's
   * lambda_1 and lambda_2). */
  layerScale?: boolean;
  /** Patches along each side that one image token gathers (InternVL's pixel shuffle: 2 for
   * downsample_ratio 0.5). */
  pixelShuffle?: number;
  /** Crops of imageSize one image becomes, each through the tower (LLaVA-NeXT's anyres: the
   * base image and the tiles of its grid resolution); patchesPerImage counts them all, and
   * the projector's text-wide image_newline is in projectorNormParameters. Absent: 1. */
  crops?: number;
  /** Image features one crop hands the projector (its patches, and the class token under
   * vision_feature_select_strategy 'full'). Absent: tokensPerImage. */
  cropFeatures?: number;
  /** LLaVA-OneVision's anyres_max: the grid's features an image keeps once bilinearly resized
   * (pack_image_features' nn.functional.interpolate), before a newline ends each row. Absent:
   * the grid's own, as LLaVA-NeXT packs them. */
  resizedGridTokens?: number;
  /** The MLP's activation where it is not one fused GELU kernel: CLIP's quick_gelu
   * (x * sigmoid(1.702 x)). */
  activation?: 'quick_gelu';
  /** The blocks whose output the image features are (LLaVA's vision_feature_layer: -2 reads
   * all but the last); the blocks after them run with nothing downstream. Absent: all. */
  featureLayers?: number;
  /** The model's module paths of one block's linears within the block, attention's then the
   * MLP's (SigLIP's self_attn.out_proj, Qwen's attn.qkv): the names LoRA targets match.
   * Absent: self_attn.q_proj, k_proj, v_proj, o_proj and mlp.fc1, fc2 (or gate, up, down). */
  linearNames?: string[];
  /** Pixels one patch holds (channels x frames x patch^2) where the patch embedding is a
   * convolution over pixel_values (Qwen's Conv3d), which keeps its input for its weight's
   * gradient. */
  pixelsPerPatch?: number;
  /** Idefics2's perceiver resampler (Idefics2PerceiverResampler): `latents` learned queries
   * (the image's tokens), `depth` layers of an RMSNorm over the latents and one over the
   * context, attention of the latents over the context and themselves joined (`heads` query
   * heads, `kvHeads` key/value heads, `headDim` wide), a post-attention RMSNorm and a gated
   * SiLU MLP 4 x the text width; a final RMSNorm. Its linears follow modality_projection's in
   * `projector` (q, k, v, o, gate, up, down a layer); the latents and norms are in
   * projectorNormParameters. */
  resampler?: PerceiverResampler;
  /** Qwen3-VL's deepstack mergers (modeling_qwen3_vl.py Qwen3VLVisionPatchMerger with
   * use_postshuffle_norm): each reads the tower's states after one block, and its image tokens
   * are added to the text stack's states after its first layers, one merger a layer. */
  deepstack?: DeepstackMerger[];
}

/** Idefics2PerceiverConfig's shape (configuration_idefics2.py), at the text width. */
export interface PerceiverResampler {
  latents: number;
  depth: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** One deepstack merger: a LayerNorm over the merged patches' width, Linear(in, in), GELU,
 * Linear(in, out), with biases. */
export interface DeepstackMerger {
  /** The tower block whose output it reads (0-based); one past the last block never runs. */
  afterLayer: number;
  inFeatures: number;
  outFeatures: number;
}

/** DeepSeek-V3's multi-token-prediction modules (DeepSeek-V3 report, section 2.2): each one a
 * full decoder layer plus enorm, hnorm and the 2h -> h eh_proj. */
export interface MtpConfig {
  layers: number;
}

/** The encoder stack of an encoder-decoder model: T5's relative position buckets and final
 * norm, or BART's (Marian's, Pegasus's) stacks that each embed on their own. */
export interface EncoderConfig {
  numLayers: number;
  /** T5's relative position buckets per stack (0: none, BART). */
  relativeAttentionBuckets: number;
  /** Every self-attention holds and computes its own relative position bias (UMT5's
   * UMT5LayerSelfAttention), where T5's first layer of each stack computes one for the stack. */
  relativeBiasPerLayer?: boolean;
  /** The encoder ends with its own final norm (T5Stack's final_layer_norm); BART's has none.
   * Absent: true. */
  finalNorm?: boolean;
  /** Each stack has its own position table, and its own embedding LayerNorm where
   * `embeddingNorm` (BartEncoder and BartDecoder: embed_positions, layernorm_embedding; Marian's
   * and Pegasus's stacks have the table alone), the token embedding shared. */
  stackEmbeddings?: boolean;
  /** Whisper's encoder input (modeling_whisper.py WhisperEncoder) in place of a token
   * embedding: conv1 (melBins to h, kernel 3, padding 1) and conv2 (h to h, kernel 3, stride 2),
   * both biased, each through GELU, over 2 x `frames` log-mel frames, plus a frozen sinusoidal
   * table of `frames` positions (embed_positions, requires_grad False): the encoder runs over
   * `frames` positions whatever the text's length. */
  audio?: AudioEncoderInput;
}

/** WhisperConfig's num_mel_bins and max_source_positions. */
export interface AudioEncoderInput {
  melBins: number;
  frames: number;
}

/** DeBERTa's disentangled attention (modeling_deberta_v2.py DisentangledSelfAttention): each
 * layer adds content-to-position and position-to-content scores, read from one table of 2 x span
 * relative position embeddings the encoder holds (rel_embeddings), to its content scores. */
export interface DisentangledAttentionConfig {
  /** pos_ebd_size: position_buckets where set, else max_relative_positions (else
   * max_position_embeddings); the table has twice as many rows. */
  span: number;
  /** 'c2p' in pos_att_type: queries scored against the positions' keys. */
  contentToPosition: boolean;
  /** 'p2c' in pos_att_type: keys scored against the positions' queries. */
  positionToContent: boolean;
  /** share_att_key: the positions go through the layer's query_proj and key_proj; otherwise
   * through its own pos_key_proj and pos_query_proj. */
  sharedKey: boolean;
  /** norm_rel_ebd 'layer_norm': the encoder's LayerNorm over the table before its layers run. */
  normalized: boolean;
  /** position_buckets > 0: relative distances are log-bucketed (make_log_bucket_position). */
  logBuckets: boolean;
  /** DeBERTa-v1 (modeling_deberta.py DisentangledSelfAttention): q, k and v from one bias-free
   * in_proj with a q_bias and a v_bias added per head, the positions through its own pos_proj
   * (bias-free) and pos_q_proj, and each layer reading only the 2 x min(s, span) rows of the
   * table its sequence reaches (att_span); otherwise DeBERTa-v2's query_proj, key_proj and
   * value_proj over the whole table. */
  inProjection?: boolean;
}

/** DeBERTa-v2's ConvLayer (modeling_deberta_v2.py): conv_kernel_size, conv_groups and
 * conv_act (GELU keeps its input, tanh its output: one tensor of the same size either way). */
export interface EncoderConvConfig {
  kernel: number;
  groups: number;
  activation: 'tanh' | 'gelu';
}

/** Where a model drops activations during training, and how likely. */
export interface DropoutConfig {
  /** On the attention probabilities (inside SDPA, or eager's attn_dropout). */
  attention: number;
  /** On each sub-layer's output before the residual add (resid_pdrop, hidden_dropout). */
  residual: number;
  /** On the embeddings (embd_pdrop). */
  embedding: number;
  /** After the MLP's activation (BART's activation_dropout). Absent: none. */
  activation?: number;
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
  /** Hugging Face's model_type of the family whose code the layer recipes follow (llama,
   * gpt2, ...); absent for an engine-shaped architecture, planned as a Llama-style layer. */
  modelType?: string;
  /** The vision-language wrapper's model_type (llava, aya_vision ...) where the text stack is
   * wrapped: the type PEFT reads from the loaded model's config for its default targets. */
  wrapperType?: string;
  hiddenSize: number; // h
  numLayers: number; // L
  numAttentionHeads: number; // a
  numKeyValueHeads: number; // g
  headDim: number; // d
  intermediateSize: number; // f (dense MLP width)
  vocabSize: number; // V
  /** Rows of the input embedding where they differ from the head's V (Mllama: V + 8). */
  embeddingVocabSize?: number;
  /** Width of the token embedding and of the head's input where it differs from h (OPT-350m's
   * word_embed_proj_dim): bias-free project_in and project_out map it to and from h. */
  embeddingWidth?: number;
  tieWordEmbeddings: boolean;
  mlp: MlpKind;
  activation: string; // silu, gelu, gelu_pytorch_tanh, ...
  norm: NormKind;
  /** Norms inside each decoder layer (2 for Llama, 4 for Gemma-2, 1 for parallel blocks). */
  normsPerLayer: number;
  /** Attention and MLP read the same layer input (GPT-NeoX, Falcon, Phi): their norms share it. */
  parallelResidual?: boolean;
  /** Each sub-layer's norm runs after its residual add, not before its input (OPT-350m's
   * do_layer_norm_before false). */
  normAfterResidual?: boolean;
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
  /** Bias on k_proj where it differs from q's and v's (WhisperAttention's k_proj has none).
   * Absent: qkvBias. */
  keyBias?: boolean;
  /** Bias on the attention output projection. */
  attentionOutputBias: boolean;
  mlpBias: boolean;
  /** Learned absolute position embeddings (GPT-2/GPT-3): rows of size h; 0 for RoPE/ALiBi. */
  learnedPositionEmbeddings: number;
  /** A sinusoidal position table the model code makes itself (`learnedPositionEmbeddings`
   * rows): 'frozen', an nn.Parameter with requires_grad=False (Marian's and Pegasus's:
   * counted, stored and sharded with the model, never trained); 'buffer', a non-persistent
   * buffer rebuilt longer for a longer sequence (M2M100SinusoidalPositionalEmbedding: not a
   * parameter, never sharded, no sequence limit). Absent: a learned table, trained where the
   * model is. */
  positionTable?: 'frozen' | 'buffer';
  /** A norm right after the token embedding (BLOOM). */
  embeddingNorm: boolean;
  /** Final norm before the output head. */
  finalNorm: boolean;
  /** The output head has a bias of V (Phi-1/Phi-2, BERT's masked-LM decoder). */
  outputHeadBias?: boolean;
  /** A masked-LM head: dense h x h, GELU and LayerNorm before the vocabulary projection
   * (BertOnlyMLMHead, RobertaLMHead, DistilBertForMaskedLM); unused under a classifier. */
  maskedLmHead?: boolean;
  /** The dense of the masked-LM transform and of a pooled classifier head carries a bias
   * (ModernBertPredictionHead's follows classifier_bias). Absent: true. */
  headDenseBias?: boolean;
  /** The first layer has no norm before its attention (ModernBERT's attn_norm = nn.Identity()
   * in layer 0). */
  normlessFirstAttention?: boolean;
  /** A *ForSequenceClassification model: a pooled head of this many labels replaces the
   * vocabulary projection, so no per-token logits exist. */
  sequenceClassificationLabels?: number;
  maxPositionEmbeddings: number;
  /** Sliding-window attention width where the model uses it (Mistral, Gemma-2 local layers). */
  slidingWindow?: number;
  /** Fraction of layers that use the sliding window (Gemma-2 alternates: 0.5). */
  slidingWindowLayerFraction?: number;
  /** Fraction of each head RoPE rotates (partial_rotary_factor), where the model code's tables
   * are that wide and it repeat-interleaves them in every layer (GLM-4: 0.5). */
  partialRotaryFactor?: number;
  /** Attention scores pass through cap * tanh(x / cap) before softmax (Gemma-2: 50). */
  attentionLogitSoftcapping?: number;
  /** The logits pass through cap * tanh(x / cap) before the loss (Gemma-2: 30). */
  finalLogitSoftcapping?: number;
  /** Dropout probabilities the model trains with (GPT-2's attn_pdrop, resid_pdrop, embd_pdrop;
   * BERT's hidden and attention dropout): each active one keeps a mask for backward. */
  dropout?: DropoutConfig;
  moe?: MoeConfig;
  mla?: MlaConfig;
  /** Encoder-decoder models (T5): `numLayers` counts both stacks, the first `encoder.numLayers`
   * layers are the encoder's; the decoder layers add cross-attention (4 linears and a norm). */
  encoder?: EncoderConfig;
  /** DeBERTa's relative position scores (relative_attention). */
  disentangled?: DisentangledAttentionConfig;
  /** DeBERTa-v2's ConvLayer after the first layer (DebertaV2Encoder.conv, conv_kernel_size > 0:
   * deberta-v2-xlarge and -xxlarge): an nn.Conv1d over the encoder's input (h to h, `kernel`
   * wide, `groups` groups, biased), its activation, LayerNorm(first layer's output + it). */
  encoderConv?: EncoderConvConfig;
  /** Per-layer types where layers differ (Hugging Face `layer_types`, hybrid stacks), one per
   * layer; absent, every layer attends as `slidingWindow` and its fraction say. */
  layerTypes?: LayerType[];
  /** Llama-4's chunked attention: tokens see only their own chunk of this many tokens. */
  attentionChunkSize?: number;
  /** Layers that apply no rotary embedding (Llama-4's no_rope_layers zeros). */
  noRopeLayers?: number[];
  /** Learned per-head attention sinks (gpt-oss: `sinks`, one per query head). */
  attentionSinks?: boolean;
  /** State-space mixer of the `mamba`/`mamba2` layers. */
  ssm?: SsmConfig;
  /** LFM2's gated short convolution of the `conv` layers. */
  shortConv?: ShortConvConfig;
  /** Qwen3-Next's Gated DeltaNet of the `linear_attention` layers. */
  gatedDelta?: GatedDeltaConfig;
  /** q_proj projects each head's query and a gate of its width, and the attention's output is
   * multiplied by sigmoid(gate) before o_proj (Qwen3NextAttention). */
  attentionOutputGate?: boolean;
  /** The image encoder and projector of a vision-language model (counted in the totals). */
  vision?: VisionTower;
  /** Multi-token-prediction modules counted and trained (off unless asked for). */
  mtp?: MtpConfig;
  /** Model-specific facts the plan echoes in its assumptions (family assumed, parts not yet
   * planned). */
  notes?: string[];
  /** Published exact parameter count where one exists (checked against our own count). */
  publishedParameters?: number;
  source?: string;
}
