// Exact parameter counts from architecture fields (memory-model.md section 1).
import {
  LoraSettings,
  MlaConfig,
  ModelArchitecture,
  GatedDeltaConfig,
  ShortConvConfig,
  SsmConfig,
  TrainingSettings,
  normElementsOf,
} from '../vocabulary';
import {
  adaptedHeadLinears,
  classifierParameters,
  loraEndTargets,
  maskedLmTransformElements,
  savedClassifierElements,
} from './heads';
import { countedLayers, isEncoderLayer, isMoeLayer, layerKind, MIXER_CODES } from './layers';
import { AdaptedLora, adaptedModules, pathMatches } from './lora-modules';
import { VisionLinear, visionLinears, visionParameters } from './vision';
export { isEncoderLayer, isMoeLayer } from './layers';
export { isLoraTarget } from './lora-modules';

/** One linear layer of a decoder layer, as tensor parallelism splits it. */
export interface LinearShape {
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** Identical copies in the layer (routed experts). */
  copies: number;
  group: 'attention' | 'mlp' | 'expert' | 'shared-expert' | 'router';
  /** Megatron splits column-parallel outputs and row-parallel inputs; routers stay whole. */
  tensorParallel: 'column' | 'row' | 'replicated';
}

export interface LayerParameters {
  /** The token mixer: attention (with its norms, sinks, gates) or a state-space mixer. */
  attention: number;
  norms: number;
  denseMlp: number;
  router: number;
  sharedExperts: number;
  routedExperts: number;
  routedExpertEach: number;
  total: number;
  /** Parameters a token passes through: top-k routed experts instead of all. */
  activeTotal: number;
}

export interface ParameterCounts {
  embedding: number;
  positionEmbedding: number;
  embeddingNorm: number;
  /** DeBERTa-v2's relative position table (2 x span rows of h) and its LayerNorm. */
  relativePositions: number;
  /** DeBERTa-v2's ConvLayer after the first layer: the Conv1d and its bias, its LayerNorm. */
  encoderConv: number;
  /** Whisper's encoder input: its two convolutions and frozen position table. */
  audioInput: number;
  /** project_in and project_out together (OPT-350m's embedding width to h and back). */
  embeddingProjections: number;
  layers: LayerParameters[];
  finalNorm: number;
  outputHead: number;
  /** The image encoder and its projector (0 for text-only models). */
  vision: number;
  total: number;
  /** Parameters a text token passes through: top-k routed experts instead of all, no vision
   * tower. */
  active: number;
}

function linear(
  name: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
  group: LinearShape['group'],
  tensorParallel: LinearShape['tensorParallel'],
  copies = 1,
): LinearShape {
  return { name, inFeatures, outFeatures, bias, copies, group, tensorParallel };
}

/** q, k, v and o of standard multi-head / grouped-query attention. */
function attentionLinears(arch: ModelArchitecture, prefix = ''): LinearShape[] {
  const h = arch.hiddenSize;
  const qWidth = arch.numAttentionHeads * arch.headDim;
  const kvWidth = arch.numKeyValueHeads * arch.headDim;
  const bias = arch.qkvBias;
  const out = linear(`${prefix}o_proj`, qWidth, h, arch.attentionOutputBias, 'attention', 'row');
  if (arch.fusedQkv) {
    const qkv = linear(`${prefix}qkv_proj`, h, qWidth + 2 * kvWidth, bias, 'attention', 'column');
    return [qkv, ...positionProjections(arch), out]; // DeBERTa-v1's in_proj, pos_proj, pos_q_proj
  }
  // Qwen3NextAttention's q_proj makes each head's query and its output gate.
  const qOut = arch.attentionOutputGate ? 2 * qWidth : qWidth;
  return [
    linear(`${prefix}q_proj`, h, qOut, bias, 'attention', 'column'),
    linear(`${prefix}k_proj`, h, kvWidth, arch.keyBias ?? bias, 'attention', 'column'),
    linear(`${prefix}v_proj`, h, kvWidth, bias, 'attention', 'column'),
    ...positionProjections(arch),
    out,
  ];
}

/** DisentangledSelfAttention's own projections of the relative positions where share_att_key is
 * off: pos_key_proj for content-to-position scores, pos_query_proj for position-to-content
 * (both biased), created after value_proj; DeBERTa-v1's pos_proj is bias-free
 * (modeling_deberta.py: nn.Linear(h, all_head_size, bias=False)) and its pos_q_proj biased. */
function positionProjections(arch: ModelArchitecture): LinearShape[] {
  const relative = arch.disentangled;
  if (!relative || relative.sharedKey) return [];
  const width = arch.numAttentionHeads * arch.headDim;
  const projection = (name: string, bias: boolean) =>
    linear(name, arch.hiddenSize, width, bias, 'attention', 'column');
  return [
    ...(relative.contentToPosition ? [projection('pos_key_proj', !relative.inProjection)] : []),
    ...(relative.positionToContent ? [projection('pos_query_proj', true)] : []),
  ];
}

/** DeBERTa-v1's q_bias and v_bias (modeling_deberta.py DisentangledSelfAttention: one vector of
 * all_head_size each, added to the bias-free in_proj's q and v); 0 elsewhere. */
function inProjectionBiases(arch: ModelArchitecture): number {
  return arch.disentangled?.inProjection ? 2 * arch.numAttentionHeads * arch.headDim : 0;
}

/** DebertaV2Encoder's rel_embeddings (2 x span rows of h) and, with norm_rel_ebd 'layer_norm',
 * the LayerNorm over it; 0 without relative attention. */
export function relativePositionElements(arch: ModelArchitecture): number {
  const relative = arch.disentangled;
  if (!relative) return 0;
  const norm = relative.normalized ? normElements(arch, arch.hiddenSize) : 0;
  return 2 * relative.span * arch.hiddenSize + norm;
}

/** DeBERTa-v2's ConvLayer (DebertaV2Encoder.conv): nn.Conv1d(h, h, kernel, groups) with its
 * bias, and a LayerNorm over h; 0 without one. */
export function encoderConvElements(arch: ModelArchitecture): number {
  const conv = arch.encoderConv;
  if (!conv) return 0;
  const h = arch.hiddenSize;
  return h * (h / conv.groups) * conv.kernel + h + normElements(arch, h);
}

/** WhisperEncoder's conv1 (mel bins x h x 3, with a bias), conv2 (h x h x 3, with a bias) and
 * embed_positions (frames x h, frozen); 0 without an audio encoder. */
export function audioInputElements(arch: ModelArchitecture): number {
  const audio = arch.encoder?.audio;
  if (!audio) return 0;
  const h = arch.hiddenSize;
  return audio.melBins * h * 3 + h + h * h * 3 + h + audio.frames * h;
}

/** DeepSeek-V2/V3 multi-latent attention (DeepSeek-V2 paper, section 2.1). */
function mlaLinears(arch: ModelArchitecture, mla: MlaConfig): LinearShape[] {
  const h = arch.hiddenSize;
  const a = arch.numAttentionHeads;
  const qHead = mla.qkNopeHeadDim + mla.qkRopeHeadDim;
  const q =
    mla.qLoraRank > 0
      ? [
          linear('q_a_proj', h, mla.qLoraRank, false, 'attention', 'replicated'),
          linear('q_b_proj', mla.qLoraRank, a * qHead, false, 'attention', 'column'),
        ]
      : [linear('q_proj', h, a * qHead, false, 'attention', 'column')];
  const kvA = mla.kvLoraRank + mla.qkRopeHeadDim;
  const kvB = a * (mla.qkNopeHeadDim + mla.vHeadDim);
  return [
    ...q,
    linear('kv_a_proj_with_mqa', h, kvA, false, 'attention', 'replicated'),
    linear('kv_b_proj', mla.kvLoraRank, kvB, false, 'attention', 'column'),
    linear('o_proj', a * mla.vHeadDim, h, arch.attentionOutputBias, 'attention', 'row'),
  ];
}

/** The MLP of one block: gated (gate, up, down) or plain (up, down). */
function mlpLinears(
  arch: ModelArchitecture,
  width: number,
  group: LinearShape['group'],
  copies: number,
  prefix = '',
  bias = arch.mlpBias,
  h = arch.hiddenSize,
): LinearShape[] {
  const down = linear(`${prefix}down_proj`, width, h, bias, group, 'row', copies);
  if (arch.mlp === 'gated' && arch.fusedGateUp && group === 'mlp') {
    return [linear(`${prefix}gate_up_proj`, h, 2 * width, bias, group, 'column', copies), down];
  }
  const gate =
    arch.mlp === 'gated'
      ? [linear(`${prefix}gate_proj`, h, width, bias, group, 'column', copies)]
      : [];
  return [...gate, linear(`${prefix}up_proj`, h, width, bias, group, 'column', copies), down];
}

/** The channels a Mamba mixer's depthwise conv1d runs over: Mamba-2's x, B and C (d_inner + 2 x
 * groups x d_state), Mamba-1's x (d_inner). */
export function ssmConvChannels(ssm: SsmConfig): number {
  return ssm.version === 2 ? ssm.innerSize + 2 * ssm.groups * ssm.stateSize : ssm.innerSize;
}

/** in_proj's output width: Mamba-2's z, x, B, C and dt at once (d_inner + conv channels + heads,
 * modeling_mamba2.py); Mamba-1's x and the gate z. */
export function ssmInProjectionWidth(ssm: SsmConfig): number {
  if (ssm.version === 1) return 2 * ssm.innerSize;
  return ssm.innerSize + ssmConvChannels(ssm) + ssm.heads;
}

/** The channels Qwen3NextGatedDeltaNet's conv1d runs over: q and k of the key heads, v of the
 * value heads (its conv_dim). */
export function gatedDeltaConvChannels(delta: GatedDeltaConfig): number {
  return 2 * delta.keyHeads * delta.keyHeadDim + delta.valueHeads * delta.valueHeadDim;
}

/** The projections of a Mamba mixer (HF MambaMixer, Mamba2Mixer, JambaMambaMixer). */
function ssmLinears(arch: ModelArchitecture, ssm: SsmConfig): LinearShape[] {
  const h = arch.hiddenSize;
  const inner = ssm.innerSize;
  const out = linear('out_proj', inner, h, ssm.outProjBias ?? ssm.projBias, 'attention', 'row');
  const inProj = linear(
    'in_proj',
    h,
    ssmInProjectionWidth(ssm),
    ssm.projBias,
    'attention',
    'column',
  );
  if (ssm.version === 2) return [inProj, out];
  return [
    inProj,
    linear('x_proj', inner, ssm.dtRank + 2 * ssm.stateSize, false, 'attention', 'row'),
    linear('dt_proj', ssm.dtRank, inner, true, 'attention', 'column'),
    out,
  ];
}

/** Lfm2ShortConv's in_proj (h -> B, C and x) and out_proj, biased where conv_bias is set. */
function shortConvLinears(arch: ModelArchitecture, conv: ShortConvConfig): LinearShape[] {
  const h = arch.hiddenSize;
  return [
    linear('in_proj', h, 3 * h, conv.bias, 'attention', 'column'),
    linear('out_proj', h, h, conv.bias, 'attention', 'row'),
  ];
}

/** Qwen3NextGatedDeltaNet's in_proj_qkvz (q and k of the key heads, v and the gate z of the
 * value heads), in_proj_ba (beta and the decay's a, one per value head) and out_proj; Qwen3.5's
 * the same outputs from four linears, out_proj created before them (Qwen3_5GatedDeltaNet). */
function gatedDeltaLinears(arch: ModelArchitecture, delta: GatedDeltaConfig): LinearShape[] {
  const h = arch.hiddenSize;
  const keys = delta.keyHeads * delta.keyHeadDim;
  const values = delta.valueHeads * delta.valueHeadDim;
  const heads = delta.valueHeads;
  const out = linear('out_proj', values, h, false, 'attention', 'row');
  const column = (name: string, width: number) =>
    linear(name, h, width, false, 'attention', 'column');
  if (delta.splitProjections) {
    return [
      out,
      column('in_proj_qkv', 2 * keys + values),
      column('in_proj_z', values),
      column('in_proj_b', heads),
      column('in_proj_a', heads),
    ];
  }
  return [column('in_proj_qkvz', 2 * keys + 2 * values), column('in_proj_ba', 2 * heads), out];
}

/** The token mixer's linears of one layer. */
function mixerLinears(arch: ModelArchitecture, layerIndex: number): LinearShape[] {
  const kind = layerKind(arch, layerIndex);
  if (kind.mixer === 'none') return []; // Nemotron-H's MLP and MoE blocks mix no tokens
  if ((kind.mixer === 'mamba' || kind.mixer === 'mamba2') && arch.ssm) {
    return ssmLinears(arch, arch.ssm);
  }
  if (kind.mixer === 'short-conv' && arch.shortConv) return shortConvLinears(arch, arch.shortConv);
  if (kind.mixer === 'gated-delta' && arch.gatedDelta)
    return gatedDeltaLinears(arch, arch.gatedDelta);
  // Falcon-H1: the layer's attention and its Mamba-2 mixer side by side
  if (kind.mixer === 'attention-mamba2' && arch.ssm)
    return [...attentionLinears(arch), ...ssmLinears(arch, arch.ssm)];
  // Mllama's cross-attention layers project their keys and values from the projected image
  // states, already h wide (MllamaTextCrossAttention).
  if (kind.mixer === 'cross-attention') return attentionLinears(arch, 'cross_attn.');
  const shapes = arch.mla ? mlaLinears(arch, arch.mla) : attentionLinears(arch);
  // DeepSeek-V3's MTP module joins the normalised hidden state and embedding: 2h -> h.
  if (kind.mtp)
    shapes.push(
      linear('eh_proj', 2 * arch.hiddenSize, arch.hiddenSize, false, 'mlp', 'replicated'),
    );
  return shapes;
}

/** Router, routed experts, shared experts and any latent projections of an MoE layer. */
function moeLinears(arch: ModelArchitecture): LinearShape[] {
  const moe = arch.moe!;
  const bias = moe.expertBias === true;
  const h = arch.hiddenSize;
  const l = moe.latentSize ?? h; // the routed experts' input and output width
  const shapes = [linear('router', h, moe.numExperts, bias, 'router', 'replicated')];
  shapes.push(
    ...mlpLinears(arch, moe.expertIntermediateSize, 'expert', moe.numExperts, '', bias, l),
  );
  if (moe.sharedExperts > 0) {
    // DeepSeek fuses its shared experts into one MLP of n_shared x moe_intermediate_size.
    const width = moe.sharedExpertIntermediateSize * moe.sharedExperts;
    shapes.push(...mlpLinears(arch, width, 'shared-expert', 1, 'shared_experts.'));
  }
  if (moe.latentSize) {
    // NemotronHMoE's fc1_latent_proj and fc2_latent_proj run on every token, whole on each rank
    shapes.push(linear('fc1_latent_proj', h, l, arch.mlpBias, 'shared-expert', 'replicated'));
    shapes.push(linear('fc2_latent_proj', l, h, arch.mlpBias, 'shared-expert', 'replicated'));
  }
  return shapes;
}

/** Every linear of layer `layerIndex` with its shape (the output head is not a layer's). */
export function linearShapes(arch: ModelArchitecture, layerIndex: number): LinearShape[] {
  const shapes = mixerLinears(arch, layerIndex);
  // T5 decoder layers attend to the encoder output with a second, same-shaped attention.
  if (arch.encoder && !isEncoderLayer(arch, layerIndex)) {
    shapes.push(...attentionLinears(arch, 'cross_attn.'));
  }
  const mlp = layerKind(arch, layerIndex).mlp;
  if (mlp === 'moe') shapes.push(...moeLinears(arch));
  else if (mlp === 'dense') shapes.push(...mlpLinears(arch, arch.intermediateSize, 'mlp', 1));
  return shapes;
}

function linearElements(shape: LinearShape): number {
  return (
    (shape.inFeatures * shape.outFeatures + (shape.bias ? shape.outFeatures : 0)) * shape.copies
  );
}

/** RMSNorm has a weight (h); LayerNorm and LayerNorm1P a weight and a bias (2h); OlmoLayerNorm
 * nothing. */
function normElements(arch: ModelArchitecture, size: number): number {
  return normElementsOf(arch.norm, size);
}

/** Parameters of the q/k norms of one layer: shared d-vectors (Qwen3) or one per head (Cohere). */
function qkNormElements(arch: ModelArchitecture): number {
  if (!arch.qkNorm) return 0;
  const headsWithNorm = arch.qkNormPerHead ? arch.numAttentionHeads + arch.numKeyValueHeads : 2;
  return headsWithNorm * normElements(arch, arch.headDim);
}

/** The norms of layer `layerIndex`, including a stack's final norm where that stack ends mid-model. */
function layerNormElements(arch: ModelArchitecture, layerIndex: number): number {
  const perNorm = normElements(arch, arch.hiddenSize);
  // ModernBERT's first layer: attn_norm is nn.Identity()
  const skipped = arch.normlessFirstAttention && layerIndex === 0 ? 1 : 0;
  if (!arch.encoder) return (arch.normsPerLayer - skipped) * perNorm;
  if (isEncoderLayer(arch, layerIndex)) {
    // T5's encoder ends with its own final_layer_norm, carried by its last layer here.
    const endsEncoder =
      arch.encoder.finalNorm !== false && layerIndex === arch.encoder.numLayers - 1;
    return (arch.normsPerLayer + (endsEncoder ? 1 : 0)) * perNorm;
  }
  return (arch.normsPerLayer + 1) * perNorm; // + the cross-attention norm
}

/** T5's relative position bias (buckets x heads) lives in the first layer of each stack,
 * UMT5's in every layer (its self-attention's). */
function relativePositionBias(arch: ModelArchitecture, layerIndex: number): number {
  const encoder = arch.encoder;
  if (!encoder) return 0;
  const first = layerIndex === 0 || layerIndex === encoder.numLayers;
  if (!first && !encoder.relativeBiasPerLayer) return 0;
  return encoder.relativeAttentionBuckets * arch.numAttentionHeads;
}

/** A Mamba mixer's tensors besides its linears: the depthwise conv1d (weight and bias), A_log,
 * D, and Mamba-2's dt_bias and gated RMSNorm or Jamba's dt/B/C RMSNorms. */
function ssmExtraElements(ssm: SsmConfig): number {
  const channels = ssmConvChannels(ssm);
  const conv = channels * ssm.convKernel + (ssm.convBias ? channels : 0);
  if (ssm.version === 2) {
    const norm = ssm.gatedNorm === false ? 0 : ssm.innerSize; // the gated RMSNorm over d_inner
    return conv + 3 * ssm.heads + norm; // dt_bias, A_log, D per head
  }
  const innerNorms = ssm.innerNorms ? ssm.dtRank + 2 * ssm.stateSize : 0;
  return conv + ssm.innerSize * ssm.stateSize + ssm.innerSize + innerNorms; // + A_log, D
}

/** Qwen3NextGatedDeltaNet's tensors besides its linears: the depthwise conv1d over q, k and v
 * (no bias), dt_bias and A_log per value head, and the gated RMSNorm's weight (a value head
 * wide). */
function gatedDeltaExtraElements(delta: GatedDeltaConfig): number {
  const conv = gatedDeltaConvChannels(delta) * delta.convKernel;
  return conv + 2 * delta.valueHeads + delta.valueHeadDim;
}

/** The mixer's parameters outside its linears (norms inside it, sinks, gates, conv). */
function mixerExtraElements(arch: ModelArchitecture, layerIndex: number): number {
  const kind = layerKind(arch, layerIndex);
  if (kind.mixer === 'none') return 0;
  if (MIXER_CODES[kind.mixer]?.block === 'ssm') return arch.ssm ? ssmExtraElements(arch.ssm) : 0;
  // Lfm2ShortConv's depthwise nn.Conv1d: h channels of cacheLength taps, and their biases
  if (kind.mixer === 'short-conv' && arch.shortConv) {
    const { cacheLength, bias } = arch.shortConv;
    return arch.hiddenSize * cacheLength + (bias ? arch.hiddenSize : 0);
  }
  if (kind.mixer === 'gated-delta' && arch.gatedDelta)
    return gatedDeltaExtraElements(arch.gatedDelta);
  // Mllama cross-attention: q_norm and k_norm over head_dim, and its attention and MLP gates.
  if (kind.mixer === 'cross-attention') return 2 * arch.headDim + 2;
  let extra =
    qkNormElements(arch) + relativePositionBias(arch, layerIndex) + inProjectionBiases(arch);
  // The latent RMSNorms on the compressed q and kv (q_a_layernorm, kv_a_layernorm).
  if (arch.mla) extra += arch.mla.qLoraRank + arch.mla.kvLoraRank;
  if (kind.sinks) extra += arch.numAttentionHeads; // gpt-oss: one sink logit per query head
  // An MTP module normalises the hidden state and the embedding apart (hnorm, enorm).
  if (kind.mtp) extra += 2 * normElements(arch, arch.hiddenSize);
  return extra;
}

/** Parameters of the MLP's activation: XIELUActivation's alpha_p and alpha_n, one each
 * (activations.py; Apertus). */
function activationElements(arch: ModelArchitecture, layerIndex: number): number {
  return arch.activation === 'xielu' && layerKind(arch, layerIndex).mlp === 'dense' ? 2 : 0;
}

/** Parameters of layer `layerIndex`. */
export function layerParameters(arch: ModelArchitecture, layerIndex: number): LayerParameters {
  const shapes = linearShapes(arch, layerIndex);
  const sum = (group: LinearShape['group']) =>
    shapes.filter((s) => s.group === group).reduce((acc, s) => acc + linearElements(s), 0);
  const attention = sum('attention') + mixerExtraElements(arch, layerIndex);
  const norms = layerNormElements(arch, layerIndex);
  const moe = isMoeLayer(arch, layerIndex) ? arch.moe : undefined;
  const denseMlp = sum('mlp') + activationElements(arch, layerIndex);
  // DeepSeek-V3's e_score_correction_bias is one per expert; Qwen2-MoE gates its shared expert.
  const router = moe
    ? sum('router') +
      (moe.routerBias ? moe.numExperts : 0) +
      (moe.sharedExpertGate ? arch.hiddenSize : 0)
    : 0;
  const sharedExperts = sum('shared-expert');
  const routedExperts = sum('expert');
  const routedExpertEach = moe ? routedExperts / moe.numExperts : 0;
  const total = attention + norms + denseMlp + router + sharedExperts + routedExperts;
  const activeTotal = moe ? total - routedExperts + routedExpertEach * moe.expertsPerToken : total;
  return {
    attention,
    norms,
    denseMlp,
    router,
    sharedExperts,
    routedExperts,
    routedExpertEach,
    total,
    activeTotal,
  };
}

/** Total and active parameters; tied embeddings are counted once. */
export function countParameters(arch: ModelArchitecture): ParameterCounts {
  // Architectures are never mutated once resolved, so one count per object serves every rank.
  const cached = COUNTS.get(arch);
  if (cached) return cached;
  const counts = computeParameterCounts(arch);
  COUNTS.set(arch, counts);
  return counts;
}

const COUNTS = new WeakMap<ModelArchitecture, ParameterCounts>();

/** One of OPT-350m's bias-free projections (project_in: width to h; project_out: h to width);
 * 0 where the embedding is h wide. */
export function projectionElements(arch: ModelArchitecture): number {
  return arch.embeddingWidth ? arch.embeddingWidth * arch.hiddenSize : 0;
}

/** The token embedding's width and the head's input width: h, or OPT-350m's projected width. */
export function embeddingWidthOf(arch: ModelArchitecture): number {
  return arch.embeddingWidth ?? arch.hiddenSize;
}

function computeParameterCounts(arch: ModelArchitecture): ParameterCounts {
  const h = arch.hiddenSize;
  const width = embeddingWidthOf(arch);
  const embedding = (arch.embeddingVocabSize ?? arch.vocabSize) * width;
  // BART's encoder and decoder each hold a position table and an embedding LayerNorm.
  const tables = arch.encoder?.stackEmbeddings ? 2 : 1;
  // M2M100's table is a buffer, not a parameter: nn.Module.parameters() leaves it out.
  const rows = arch.positionTable === 'buffer' ? 0 : arch.learnedPositionEmbeddings;
  const positionEmbedding = tables * rows * h;
  const embeddingNorm = arch.embeddingNorm ? tables * normElements(arch, h) : 0;
  const relativePositions = relativePositionElements(arch);
  const encoderConv = encoderConvElements(arch);
  const audioInput = audioInputElements(arch);
  // OPTDecoder's project_in (width -> h) and project_out (h -> width), bias=False.
  const embeddingProjections = 2 * projectionElements(arch);
  const layers: LayerParameters[] = [];
  for (let layer = 0; layer < countedLayers(arch); layer++) {
    layers.push(layerParameters(arch, layer));
  }
  const finalNorm = arch.finalNorm ? normElements(arch, h) : 0;
  const outputHead = arch.sequenceClassificationLabels
    ? classifierParameters(arch)
    : maskedLmTransformElements(arch) +
      (arch.tieWordEmbeddings ? 0 : arch.vocabSize * width) +
      (arch.outputHeadBias ? arch.vocabSize : 0);
  const ends =
    embedding +
    positionEmbedding +
    embeddingNorm +
    relativePositions +
    encoderConv +
    audioInput +
    embeddingProjections +
    finalNorm +
    outputHead;
  const vision = arch.vision ? visionParameters(arch.vision) : 0;
  const total = ends + vision + layers.reduce((acc, l) => acc + l.total, 0);
  const active = ends + layers.reduce((acc, l) => acc + l.activeTotal, 0);
  return {
    embedding,
    positionEmbedding,
    embeddingNorm,
    relativePositions,
    encoderConv,
    audioInput,
    embeddingProjections,
    layers,
    finalNorm,
    outputHead,
    vision,
    total,
    active,
  };
}

export function loraEnds(
  arch: Pick<ModelArchitecture, 'modelType' | 'sequenceClassificationLabels'>,
  lora: LoraSettings,
): { head: boolean; embedding: boolean } {
  const names = loraEndTargets(arch);
  const named = (list: string[]) =>
    lora.targetModules !== 'all-linear' && list.some((n) => lora.targetModules.includes(n));
  return { head: named(names.head), embedding: named(names.embedding) };
}

/** Whether LoRA adapts OPT-350m's project_in and project_out: PEFT's 'all-linear' wraps every
 * nn.Linear but the output layer, so both; a list, those it names. */
export function loraProjections(
  arch: ModelArchitecture,
  lora: LoraSettings,
): { in: boolean; out: boolean } {
  if (!arch.embeddingWidth) return { in: false, out: false };
  const named = (name: string) =>
    lora.targetModules === 'all-linear' || lora.targetModules.includes(name);
  return { in: named('project_in'), out: named('project_out') };
}

/** One adapter's elements: A (r x in), B (out x r) and DoRA's magnitude (out). */
export function adapterSize(lora: LoraSettings, inFeatures: number, outFeatures: number): number {
  return lora.rank * (inFeatures + outFeatures) + (lora.useDora ? outFeatures : 0);
}

/** LoRA adapters: r x (in + out) per adapted linear (Hu et al. 2021; a fused projection PEFT
 * adapts once, lora-modules.ts), plus DoRA's magnitude of `out` (Liu et al. 2024), the head's
 * (h in, vocab out) and the embedding's (vocab rows, h out) where targeted. */
export function loraParameters(
  arch: ModelArchitecture,
  lora: AdaptedLora,
): { total: number; perLayer: number[]; modules: string[] } {
  const perLayer: number[] = [];
  const modules = new Set<string>();
  for (let layer = 0; layer < countedLayers(arch); layer++) {
    let count = 0;
    for (const { name, parts } of adaptedModules(arch, linearShapes(arch, layer), lora)) {
      modules.add(name);
      const out = parts.reduce((sum, part) => sum + part.outFeatures, 0);
      count += adapterSize(lora, parts[0].inFeatures, out) * parts[0].copies;
    }
    perLayer.push(count);
  }
  const ends = endAdapterElements(arch, lora, arch.vocabSize);
  const projections = loraProjections(arch, lora);
  if (projections.in) modules.add('project_in');
  if (projections.out) modules.add('project_out');
  for (const linear of adaptedHeadLinears(arch, lora)) modules.add(linear.path);
  const total = perLayer.reduce((a, b) => a + b, 0) + ends.embedding + ends.head;
  return { total, perLayer, modules: [...modules] };
}

/** Whether LoRA adapts one of a vision tower's linears: PEFT matches targets against every
 * module of the model (tuners_utils.py check_target_module_exists), the tower's too, and
 * 'all-linear' takes every nn.Linear but the output layer (_maybe_include_all_linear_layers). */
export function visionLinearAdapted(lora: LoraSettings, linear: VisionLinear): boolean {
  if (linear.parameter) return false;
  const targets = lora.targetModules;
  return targets === 'all-linear' || targets.some((target) => pathMatches(linear.path, target));
}

/** The adapters of a vision tower's targeted linears. */
export function visionAdapterElements(arch: ModelArchitecture, lora: LoraSettings): number {
  if (!arch.vision) return 0;
  return visionLinears(arch.vision)
    .filter((linear) => visionLinearAdapted(lora, linear))
    .reduce((sum, l) => sum + adapterSize(lora, l.inFeatures, l.outFeatures), 0);
}

/** LoRA's adapters at the model's ends, as the stage holding each end has them, over `rows` of
 * the vocabulary: on the embedding side PEFT's lora.Embedding (r x (rows + width); its DoRA is
 * refused, request/validate.ts doraErrors), OPT-350m's project_in and the vision tower's adapters
 * (the tower feeds the first stage); on the head side the
 * head's (width in, rows out), project_out and the head end's linears (heads.ts). */
export function endAdapterElements(
  arch: ModelArchitecture,
  lora: LoraSettings,
  rows: number,
): { embedding: number; head: number } {
  const ends = loraEnds(arch, lora);
  const projections = loraProjections(arch, lora);
  const width = embeddingWidthOf(arch);
  const h = arch.hiddenSize;
  const headLinears = adaptedHeadLinears(arch, lora).reduce(
    (sum, l) => sum + adapterSize(lora, l.inFeatures, l.outFeatures),
    0,
  );
  return {
    embedding:
      (ends.embedding ? lora.rank * (rows + width) : 0) +
      (projections.in ? adapterSize(lora, width, h) : 0) +
      visionAdapterElements(arch, lora),
    head:
      (ends.head ? adapterSize(lora, width, rows) : 0) +
      (projections.out ? adapterSize(lora, h, width) : 0) +
      headLinears,
  };
}

/** Elements a checkpoint saves that are buffers, not parameters: DeepSeek-V3's
 * e_score_correction_bias, one per expert in each MoE layer (DeepseekV3TopkRouter registers it
 * with register_buffer, so it is counted in the published total but never trained). */
function bufferElements(arch: ModelArchitecture): number {
  const moe = arch.moe;
  if (!moe?.routerBias) return 0;
  let moeLayers = 0;
  for (let layer = 0; layer < countedLayers(arch); layer++)
    if (isMoeLayer(arch, layer)) moeLayers++;
  return moeLayers * moe.numExperts;
}

/** Elements of the Parameters the model code freezes itself (requires_grad=False), whatever
 * the method: Marian's and Pegasus's sinusoidal position tables, one per stack
 * (MarianSinusoidalPositionalEmbedding._init_weight), Whisper's encoder table
 * (WhisperEncoder: self.embed_positions.requires_grad_(False)). */
export function selfFrozenElements(arch: ModelArchitecture): number {
  const tables = arch.positionTable === 'frozen' ? countParameters(arch).positionEmbedding : 0;
  const audio = arch.encoder?.audio;
  return tables + (audio ? audio.frames * arch.hiddenSize : 0);
}

/** Parameters the method trains: everything but buffers and self-frozen tables for full
 * fine-tuning, the adapters
 * otherwise (`lora` as the request's model code adapts it, lora-modules.ts requestLora), with
 * PEFT's copy of a sequence classifier's head. */
export function trainableParameters(
  arch: ModelArchitecture,
  training: TrainingSettings,
  lora: AdaptedLora | undefined,
): number {
  if (training.method === 'full')
    return countParameters(arch).total - bufferElements(arch) - selfFrozenElements(arch);
  if (!lora) return 0;
  return loraParameters(arch, lora).total + savedClassifierElements(arch);
}
