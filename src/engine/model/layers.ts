// What each layer of a model is: the per-layer vocabulary the memory recipes read.
import { AttentionWindow, LayerKind, LayerType, MixerKind, ModelArchitecture } from '../vocabulary';

/** Whether layer `layerIndex` belongs to the encoder of an encoder-decoder model. */
export function isEncoderLayer(arch: ModelArchitecture, layerIndex: number): boolean {
  return arch.encoder !== undefined && layerIndex < arch.encoder.numLayers;
}

/** Whether layer `layerIndex` routes tokens to experts: the listed MoE layers, or every layer
 * after the first dense ones. */
export function isMoeLayer(arch: ModelArchitecture, layerIndex: number): boolean {
  const moe = arch.moe;
  if (!moe) return false;
  return moe.layers ? moe.layers.includes(layerIndex) : layerIndex >= moe.firstDenseLayers;
}

/** Main-stack layers that route to experts. */
export function moeLayerCount(arch: ModelArchitecture): number {
  let count = 0;
  for (let layer = 0; layer < arch.numLayers; layer++) if (isMoeLayer(arch, layer)) count++;
  return count;
}

/** Layers the parameters count: the main stack, then any multi-token-prediction modules. */
export function countedLayers(arch: ModelArchitecture): number {
  return arch.numLayers + (arch.mtp?.layers ?? 0);
}

/** Without `layer_types`, a fraction f of the layers slides: layer i where ceil((i + 1) f)
 * steps up, which gives every layer for f = 1 (Mistral) and the even layers for f = 0.5
 * (HF Gemma2: is_sliding = layer_idx % 2 == 0). */
function fractionSlides(arch: ModelArchitecture, layer: number): boolean {
  if (!arch.slidingWindow) return false;
  const fraction = arch.slidingWindowLayerFraction ?? 1;
  return Math.ceil((layer + 1) * fraction) > Math.ceil(layer * fraction);
}

/** The layer's type: from `layerTypes` where given, else full or sliding attention. */
export function layerType(arch: ModelArchitecture, layerIndex: number): LayerType {
  // Multi-token-prediction modules repeat the last main layer's type.
  const index = Math.min(layerIndex, arch.numLayers - 1);
  const given = arch.layerTypes?.[index];
  if (given) return given;
  return fractionSlides(arch, index) ? 'sliding_attention' : 'full_attention';
}

function windowOf(arch: ModelArchitecture, type: LayerType): AttentionWindow {
  if (type === 'sliding_attention' && arch.slidingWindow) {
    return { kind: 'sliding', size: arch.slidingWindow };
  }
  if (type === 'chunked_attention' && arch.attentionChunkSize) {
    return { kind: 'chunked', size: arch.attentionChunkSize };
  }
  return { kind: 'full' };
}

/** A mixer that carries a state along the sequence (a scan, a causal convolution, a delta
 * rule) rather than attending alone. */
export interface SequenceMixer {
  /** The architecture block that shapes it (and sizes the state serving keeps). */
  block: 'ssm' | 'shortConv' | 'gatedDelta';
  /** The model codes that run it: recipes/index.ts picks a layer recipe by model type, so a
   * layer of this kind is planned only under one of these. */
  modelTypes: readonly string[];
  /** What a position needs from the positions before it (context parallelism cannot split it). */
  carries: string;
}

/** Every mixer other than attention, the one place that says what it carries. */
export const MIXER_CODES: Partial<Record<MixerKind, SequenceMixer>> = {
  mamba: {
    block: 'ssm',
    modelTypes: ['mamba', 'falcon_mamba', 'jamba'],
    carries: "a Mamba scan's state",
  },
  mamba2: {
    block: 'ssm',
    modelTypes: ['mamba2', 'bamba', 'granitemoehybrid', 'nemotron_h'],
    carries: "a Mamba-2 scan's state",
  },
  'short-conv': {
    block: 'shortConv',
    modelTypes: ['lfm2', 'lfm2_moe'],
    carries: "LFM2's short convolution's earlier taps",
  },
  'gated-delta': {
    block: 'gatedDelta',
    modelTypes: ['qwen3_next', 'qwen3_5', 'qwen3_5_text', 'qwen3_5_moe', 'qwen3_5_moe_text'],
    carries: "a Gated DeltaNet's recurrent state",
  },
  'attention-mamba2': {
    block: 'ssm',
    modelTypes: ['falcon_h1'],
    carries: "a Mamba-2 scan's state",
  },
};

export function mixerOf(type: LayerType): MixerKind {
  if (type === 'mamba' || type === 'mamba2') return type;
  if (type === 'mlp' || type === 'moe') return 'none';
  if (type === 'conv') return 'short-conv';
  if (type === 'linear_attention') return 'gated-delta';
  if (type === 'hybrid') return 'attention-mamba2';
  return type === 'cross_attention' ? 'cross-attention' : 'attention';
}

/** Model types whose layers are each one pre-norm residual block around one module: a mixer,
 * an MLP or a sparse MoE block (NemotronHBlock: `x + mixer(norm(x))`, the block type picking the
 * module), where other decoders follow every mixer with an MLP. */
const SINGLE_MODULE_BLOCKS: readonly string[] = ['nemotron_h'];

/** Whether each of the model's layers holds one module alone (SINGLE_MODULE_BLOCKS). */
export function singleModuleBlocks(arch: ModelArchitecture): boolean {
  return SINGLE_MODULE_BLOCKS.includes(arch.modelType ?? '');
}

/** The layer's MLP: the sparse block on MoE layers, none where a single-module block mixes
 * tokens, and none in state-space models (Mamba), whose intermediateSize is 0. */
function mlpOf(arch: ModelArchitecture, layerIndex: number, mixer: MixerKind): LayerKind['mlp'] {
  if (mixer !== 'none' && singleModuleBlocks(arch)) return 'none';
  if (isMoeLayer(arch, layerIndex)) return 'moe';
  return arch.intermediateSize > 0 ? 'dense' : 'none';
}

/** Layer `layerIndex` as the recipes build it: its mixer, attention window, MLP kind and flags,
 * with a `key` equal for identical layers so each kind is built once and repeated. */
export function layerKind(arch: ModelArchitecture, layerIndex: number): LayerKind {
  const type = layerType(arch, layerIndex);
  const mixer = mixerOf(type);
  const attends = mixerAttends(mixer);
  const mlp = mlpOf(arch, layerIndex, mixer);
  const kind: LayerKind = {
    key: '',
    mixer,
    attentionWindow: attends ? windowOf(arch, type) : { kind: 'full' },
    mlp,
    rope: attends && !(arch.noRopeLayers ?? []).includes(layerIndex),
  };
  if (attends && arch.attentionSinks) kind.sinks = true;
  if (isEncoderLayer(arch, layerIndex)) kind.encoder = true;
  if (layerIndex >= arch.numLayers) kind.mtp = true;
  const window = kind.attentionWindow;
  kind.key = [
    mixer,
    window.kind === 'full' ? 'full' : `${window.kind}-${window.size}`,
    `mlp-${mlp}`,
    kind.rope ? 'rope' : 'nope',
    kind.sinks ? 'sinks' : '',
    kind.encoder ? 'encoder' : '',
    kind.mtp ? 'mtp' : '',
  ]
    .filter(Boolean)
    .join('/');
  return kind;
}

/** Whether the model has cross-attention layers (Mllama), which read the image states where
 * other vision-language models put the image tokens into the text sequence. */
export function hasCrossAttention(arch: ModelArchitecture): boolean {
  return arch.layerTypes?.includes('cross_attention') ?? false;
}

/** Whether a mixer attends, keeping keys and values (attention of either kind), where a
 * state-space or convolution mixer keeps a fixed state. */
export function mixerAttends(mixer: LayerKind['mixer']): boolean {
  return mixer === 'attention' || mixer === 'cross-attention' || mixer === 'attention-mamba2';
}

/** Layer `layerIndex`'s mixer: layerKind's, without building its key (the search reads it for
 * every layer of every layout it bounds). */
export function layerMixer(arch: ModelArchitecture, layerIndex: number): MixerKind {
  return mixerOf(layerType(arch, layerIndex));
}

/** Whether the layer keeps keys and values (attention of either kind). */
export function attendsLayer(arch: ModelArchitecture, layerIndex: number): boolean {
  return mixerAttends(layerMixer(arch, layerIndex));
}

/** Main-stack layers that keep keys and values. */
export function attendingLayerCount(arch: ModelArchitecture): number {
  let count = 0;
  for (let layer = 0; layer < arch.numLayers; layer++) if (attendsLayer(arch, layer)) count++;
  return count;
}

/** Whether any layer applies RoPE: where none does (Mamba, Jamba, Granite 4.0 without
 * position_embedding_type 'rope'), the model code has no rotary module and makes no tables. */
export function anyLayerRotates(arch: ModelArchitecture): boolean {
  for (let layer = 0; layer < countedLayers(arch); layer++) {
    if (layerKind(arch, layer).rope) return true;
  }
  return false;
}

/** The first `layers` layers of the stack as a model of their own (the layout search's probes):
 * the per-layer lists keep what they say of those layers. */
export function firstLayers(arch: ModelArchitecture, layers: number): ModelArchitecture {
  if (layers >= arch.numLayers) return arch;
  const below = (indices: number[]) => indices.filter((index) => index < layers);
  const shortened: ModelArchitecture = { ...arch, numLayers: layers };
  if (arch.layerTypes) shortened.layerTypes = arch.layerTypes.slice(0, layers);
  if (arch.noRopeLayers) shortened.noRopeLayers = below(arch.noRopeLayers);
  if (arch.moe?.layers) shortened.moe = { ...arch.moe, layers: below(arch.moe.layers) };
  return shortened;
}
