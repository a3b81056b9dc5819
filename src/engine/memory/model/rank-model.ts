// The parameters one rank holds, as the model code creates them: in module order, in the dtype
// the precision regime stores them in, sharded where ZeRO-3 shards them, with LoRA adapters and
// QLoRA's 4-bit linears where the method asks for them.
import { shapeAdapted } from '../../model/lora-modules';
import { LinearShape } from '../../model/parameters';
import { linearElementsPerRank, RankParameters, StageSpan } from '../../model/placement';
import { DtypePolicy, modelTensorBytes } from '../../request/dtype-policy';
import {
  LoraSettings,
  ModelArchitecture,
  normHasBias,
  NormKind,
  PlanRequest,
} from '../../vocabulary';
import { Param } from '../autograd/runtime';
import type { VisionWeights } from '../recipes/vision-weights';

/** A linear module: its weight (and bias) as the kernel sees them, and what wraps it. */
export interface LinearParams {
  name: string;
  weight: Param;
  bias?: Param;
  inFeatures: number;
  outFeatures: number;
  /** PEFT's lora_A (r x in) and lora_B (out x r). */
  lora?: LoraParams;
  /** Stored as NF4 and dequantised for each use (QLoRA). */
  quantized: boolean;
}

export interface LoraParams {
  a: Param;
  b: Param;
  rank: number;
  dropout: boolean;
  /** litgpt's LoRAQKVLinear adapting only some of q, k and v: lora_B's output covers those
   * parts alone, and zero_pad scatters it into the fused output's width. */
  adaptedOutFeatures?: number;
  /** DoRA's magnitude, one per output feature (PEFT's lora_magnitude_vector, torchtune's
   * DoRALinear.magnitude), trained beside A and B. */
  magnitude?: Param;
}

export interface LayerWeights {
  index: number;
  linears: Map<string, LinearParams>;
  /** Norm weights (and LayerNorm biases under `<name>.bias`). */
  norms: Map<string, Param>;
  /** Parameters no linear owns: router biases, per-head q/k norms, position buckets. */
  other: Param[];
  /** Every base parameter in the order the layer's modules create them. */
  order: Param[];
}

export interface RankModel {
  /** A vision-language model's image encoder and projector (on the first stage). */
  vision?: VisionWeights;
  embedding?: Param;
  /** PEFT's lora.Embedding on the token embedding: lora_embedding_A (r x vocab rows) and
   * lora_embedding_B (h x r). */
  embeddingLora?: { a: Param; b: Param; rank: number };
  positions?: Param;
  embeddingNorm?: Param[];
  /** BART's decoder's own position table and embedding LayerNorm (the encoder's are
   * `positions` and `embeddingNorm`). */
  decoderEmbedding?: { positions: Param; norm?: Param[] };
  /** OPT-350m's project_in (embedding width to h) on the first stage. */
  projectIn?: LinearParams;
  layers: LayerWeights[];
  /** DeBERTa's relative position table (DebertaV2Encoder.rel_embeddings) and the LayerNorm over
   * it (norm_rel_ebd), which every layer's attention reads; how its encoder builds the relative
   * positions (log buckets; DeBERTa-v1's repeated key ids). */
  relativePositions?: { table: Param; norm?: Param[]; logBuckets: boolean; repeatedKeys: boolean };
  /** Whisper's encoder input (WhisperEncoder): conv1 and conv2 (weights and biases) and the
   * frozen embed_positions table. */
  audio?: { conv1: Param[]; conv2: Param[]; positions: Param; melBins: number; frames: number };
  /** DeBERTa-v2's ConvLayer after the first layer (DebertaV2Encoder.conv). */
  encoderConv?: {
    weight: Param;
    bias: Param;
    norm: Param[];
    activation: 'tanh' | 'gelu';
    /** hidden_dropout_prob (ConvLayer.dropout). */
    dropout: number;
  };
  finalNorm?: Param[];
  /** OPT-350m's project_out (h to the embedding width) before the head, on the last stage. */
  projectOut?: LinearParams;
  /** A masked-LM head's transform before the vocabulary projection (BERT's
   * cls.predictions.transform: dense, GELU, LayerNorm). */
  headTransform?: { dense: LinearParams; norm: Param[] };
  head?: LinearParams;
  /** A sequence classifier's pooler (BERT) and classifier, in place of the vocabulary head. */
  classifier?: {
    pooler?: LinearParams;
    classifier: LinearParams;
    /** RobertaClassificationHead: dropout on the first token before the dense layer too. */
    dropoutFirst?: boolean;
    /** The pooler's activation: BERT's and RoBERTa's tanh, DistilBERT's ReLU, ELECTRA's GELU. */
    activation?: 'tanh' | 'relu' | 'gelu';
    /** A norm after the activation (ModernBertPredictionHead's). */
    norm?: Param[];
    /** Every parameter of the head: the linears', and the frozen originals of PEFT's copies. */
    params: Param[];
  };
  /** The head reads the embedding's own weight (tied) on this rank. */
  tiedHead: boolean;
  /** Every parameter in module order: how they are allocated and how the optimizer walks them. */
  all: Param[];
}

/** How the parameters of a request are stored and trained. */
export interface ParamStorage {
  policy: DtypePolicy;
  request: PlanRequest;
  /** Bytes per element of a 4-bit linear's weight with its quantisation constants. */
  nf4Bytes: number;
}

export function makeParam(
  name: string,
  elements: number,
  trainable: boolean,
  storedBytes: number,
  gradientBytes = storedBytes,
): Param {
  return { name, elements, storedBytes, trainable, gradientBytes };
}

/** A buffer a module registers (register_buffer), `bytes` per element: never trained, never
 * sharded. */
export function makeBuffer(name: string, elements: number, bytes: number): Param {
  return { ...makeParam(name, elements, false, bytes), buffer: true };
}

/** A norm's parameters as its kind has them: a weight, a bias where `withBias` (LayerNorm),
 * none for OLMo-1's weightless OlmoLayerNorm. */
export function normParams(
  s: ParamStorage,
  norm: NormKind,
  name: string,
  size: number,
  withBias = normHasBias(norm),
): Param[] {
  if (norm === 'layernorm-weightless') return [];
  const weight = baseParam(s, name, size);
  return withBias ? [weight, baseParam(s, `${name}.bias`, size)] : [weight];
}

/** A weight matrix or vector of the base model: trained in full fine-tuning, frozen otherwise. */
export function baseParam(
  s: ParamStorage,
  name: string,
  elements: number,
  quantized = false,
): Param {
  const full = s.request.training.method === 'full';
  if (full)
    return makeParam(name, elements, true, s.policy.trained.weight, s.policy.trained.gradient);
  return makeParam(name, elements, false, quantized ? s.nf4Bytes : s.policy.frozenWeight);
}

/** Bytes per element of the base model's unquantised tensors as stored (buffers cast with it). */
export function baseModelBytes(s: ParamStorage): number {
  return modelTensorBytes(s.policy, s.request);
}

/** One linear of a layer on this rank (tensor parallel splits it, expert parallel divides
 * routed experts), with its adapter when LoRA targets it. */
export function linearParams(
  s: ParamStorage,
  arch: ModelArchitecture,
  shape: LinearShape,
  tensorParallel: number,
  expertParallel: number,
  /** Whether LoRA adapts it (default: PEFT's target-name match). */
  targeted?: boolean,
): LinearParams {
  const local = linearElementsPerRank(shape, arch, tensorParallel);
  const copies = shape.group === 'expert' ? Math.ceil(shape.copies / expertParallel) : shape.copies;
  const method = s.request.training.method;
  const quantized = method === 'qlora' && shape.group !== 'router';
  const lora = method === 'full' ? undefined : s.request.training.lora;
  const weight = baseParam(s, shape.name, local.weight * copies, quantized);
  weight.shape = [local.outFeatures, local.inFeatures];
  const out: LinearParams = {
    name: shape.name,
    weight,
    bias: local.bias > 0 ? baseParam(s, `${shape.name}.bias`, local.bias * copies) : undefined,
    inFeatures: local.inFeatures,
    outFeatures: local.outFeatures * copies,
    quantized,
  };
  if (lora && (targeted ?? shapeAdapted(arch, lora, shape))) {
    out.lora = adapter(s, shape.name, local, copies, lora);
  }
  if (shape.group === 'expert') {
    const adapters = out.lora ? loraParamsOf(out.lora) : [];
    for (const param of [weight, out.bias, ...adapters]) if (param) expertParam(param);
  }
  return out;
}

/** Marks a routed expert's parameter: ZeRO and FSDP shard it over the ranks holding the same
 * experts (sharding/shard-world.ts). */
export function expertParam(param: Param): Param {
  param.expert = true;
  return param;
}

export function adapter(
  s: ParamStorage,
  name: string,
  local: { inFeatures: number; outFeatures: number },
  copies: number,
  lora: LoraSettings,
) {
  const bytes = s.policy.adapter.weight;
  const params: LoraParams = {
    a: makeParam(`${name}.lora_A`, lora.rank * local.inFeatures * copies, true, bytes),
    b: makeParam(`${name}.lora_B`, lora.rank * local.outFeatures * copies, true, bytes),
    rank: lora.rank,
    dropout: lora.dropout > 0,
  };
  // DoraLinearLayer.update_layer: ||W + s B A|| per output feature, in the adapters' dtype.
  if (lora.useDora) {
    params.magnitude = makeParam(`${name}.lora_magnitude`, local.outFeatures * copies, true, bytes);
  }
  return params;
}

/** An adapter's trained parameters: A and B, and DoRA's magnitude. */
export function loraParamsOf(lora: LoraParams): Param[] {
  return lora.magnitude ? [lora.a, lora.b, lora.magnitude] : [lora.a, lora.b];
}

/** Rows of the embedding on this rank (the vocabulary split over tensor parallel ranks). */
export function embeddingRows(params: RankParameters, tensorParallel: number): number {
  return params.paddedVocab / tensorParallel;
}

export type { StageSpan };
