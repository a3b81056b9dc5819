// What a layer recipe is: the parameters one layer of a model code creates, in module order,
// and what its forward allocates, saves and frees.
import {
  adaptedQkvParts,
  moduleAdapted,
  modulePath,
  qkvParts,
  shapeAdapted,
} from '../../model/lora-modules';
import { isLoraTarget, LinearShape, linearShapes } from '../../model/parameters';
import { LoraSettings, ModelArchitecture } from '../../vocabulary';
import { Nn } from '../autograd/nn';
import { Param, Tensor } from '../autograd/runtime';
import {
  adapter,
  baseParam,
  LayerWeights,
  linearParams,
  LinearParams,
  loraParamsOf,
  makeBuffer,
  makeParam,
  normParams,
  ParamStorage,
} from '../model/rank-model';
import { AttentionHeads } from '../autograd/attention';
import { AttentionKernelRun, AttentionPlan, AttentionRequest } from './attention-kernel';
import type { ExpertRouting } from './hf-moe';
import type { FinalNorm } from '../model/causal-lm';

/** What a layer reads besides its input: rotary tables, the mask, its shapes on this rank. */
export interface LayerInputs {
  cos: Tensor;
  sin: Tensor;
  /** The mask this layer's attention receives: eager's additive 4-D mask, or the boolean one
   * SDPA is handed where is_causal cannot stand for it (flash takes is_causal instead). */
  mask?: Tensor;
  /** The scores pass through cap * tanh(x / cap) in eager attention (Gemma-2). */
  softcap?: boolean;
  /** Eager attention with a learned sink logit per head (gpt-oss). */
  sinks?: boolean;
  /** Dropout on the attention probabilities in training (the config's attention_dropout): the
   * kernels that materialise them keep its mask; flash and memory-efficient draw it inside. */
  dropout?: boolean;
  /** An encoder-decoder's encoder output, which a decoder layer's cross-attention reads. */
  encoderStates?: Tensor;
  /** The ALiBi tensor the attention adds to its scores (MPT's position_bias, BLOOM's alibi). */
  positionBias?: Tensor;
  /** What DeBERTa-v2's encoder hands every layer for its relative position scores. */
  relative?: RelativeInputs;
  heads: AttentionHeads;
  /** Keys one query attends over (the sequence on this rank). */
  keys: number;
  /** How tokens reach the experts of a mixture-of-experts layer. */
  routing?: ExpertRouting;
  /** The kernel that runs (attention-kernel.ts decides it from the request). */
  attention: AttentionKernelRun;
}

/** DebertaV2Encoder.forward's rel_embeddings (the table through its LayerNorm) and
 * relative_pos (int64 bucketed distances, one per query and key). */
export interface RelativeInputs {
  embeddings: Tensor;
  positions: Tensor;
}

/** What building a layer's weights needs. */
export interface WeightContext {
  arch: ModelArchitecture;
  storage: ParamStorage;
  tensorParallel: number;
  expertParallel: number;
}

/** An encoder-decoder's two stacks (T5): where the decoder starts (a fresh embedding of the
 * decoder's tokens, the encoder output kept for every decoder layer), and what each stack
 * builds once for its layers (T5's position bias), held while the stack runs. */
export interface StackTensors {
  decoderStart: number;
  /** `kernel`: the attention kernel the stack's first layer runs. */
  build(
    nn: Nn,
    tokens: number,
    keys: number,
    elementBytes: number,
    decoder: boolean,
    kernel: AttentionKernelRun,
  ): Tensor[];
}

/** What a model code does around its layers, where it departs from Llama's: the embedding
 * scaled by sqrt(hidden) (Gemma), the final norm's kind, fp32 rotary tables (OLMo-2). */
/** The embedding tensor a model's forward keeps as a local until it returns, after its layers
 * no longer read it: 'lookup', Hugging Face's XModel.forward (`inputs_embeds =
 * self.embed_tokens(input_ids)`, then `hidden_states = inputs_embeds`; GPT-2's position_embeds
 * too); 'output', what an embedding module returns (BertModel's embedding_output, Gemma-3's
 * scaled embedding); 'decoder-input', the embedding's output kept past the head and the loss,
 * which the same forward computes (Megatron's GPTModel.forward); 'none', code that rebinds one
 * variable (`h = layer(h)`: torchtitan, torchtune, litgpt). */
export type EmbeddingLocal = 'lookup' | 'output' | 'decoder-input' | 'none';

export interface ModelEnds {
  /** Default 'lookup' (Hugging Face's model code). */
  embeddingLocal?: EmbeddingLocal;
  /** The embedding is scaled (Gemma's sqrt(hidden)): after the positions are added and before
   * the embedding norm (true), or by the embedding module itself, its scaled lookup the
   * inputs_embeds the positions are added to ('lookup': BartScaledWordEmbedding, Marian's and
   * Pegasus's `embed_tokens(input_ids) * embed_scale`). */
  scaledEmbedding?: boolean | 'lookup';
  /** The position table is looked up once per position, (s, h), and broadcast over the batch
   * (MarianSinusoidalPositionalEmbedding.forward: an arange of the sequence, not expanded to
   * the batch); otherwise once per token. */
  positionsPerSequence?: boolean;
  finalNorm?: FinalNorm;
  /** The embedding's norm, where it is not nn.LayerNorm (DeBERTa-v1's DebertaLayerNorm). */
  embeddingNorm?: FinalNorm;
  rotaryFp32?: boolean;
  /** The model code has no rotary module (T5's relative position bias, DeBERTa's relative
   * scores): no tables are built. */
  noRotary?: boolean;
  /** The rotary module makes a table pair per layer type, each held through the layers (Gemma-3's
   * and ModernBERT's local and global theta: `position_embeddings[layer_type]`). */
  rotaryPerLayerType?: boolean;
  /** The rotary tables are a buffer the model built once (torchtune's cache, torchtitan's
   * freqs_cis, litgpt's cos/sin), not tensors made at every forward. */
  rotaryBuffer?: boolean;
  /** ALiBi instead of rotary tables, built once per forward and held by every layer:
   * MptModel's build_mpt_alibi_tensor(num_heads, max_seq_len), fp32 whatever the sequence
   * ('max-length'); BloomModel's build_alibi_tensor(mask, num_heads, hidden dtype), one row per
   * sequence and head ('per-sequence'). */
  alibi?: 'max-length' | 'per-sequence';
  /** The loss runs under torch.compile: always, or only the chunked loss (torchtune's
   * training.compile_loss patches CEWithChunkedOutputLoss.compute_cross_entropy in place but
   * returns the compiled standard loss, which the recipes drop). */
  compiledLoss?: boolean | 'chunked';
  /** A chunked head applies itself this many positions at a time (litgpt: 128), instead of
   * a fixed number of chunks (torchtune: 8). */
  chunkPositions?: number;
  /** Each chunk's cross-entropy runs on an fp32 copy (false for litgpt). */
  chunkFp32?: boolean;
  /** The loop receives the model's logits cast to fp32 once its forward has returned (litgpt
   * trains through Lightning Fabric, whose _FabricModule.forward applies
   * precision.convert_output: floating outputs to torch.get_default_dtype()). */
  fp32Outputs?: boolean;
  /** Dropout after the final norm (T5Stack). */
  finalDropout?: number;
  /** The head's input scaled by model_dim ** -0.5 first (T5 with a tied head). */
  headInputScale?: boolean;
  /** The logits multiplied by a scalar after the head, a second full-size tensor (Cohere's
   * `logits * self.logit_scale`, Granite's `logits / self.config.logits_scaling`). */
  scaledLogits?: boolean;
  /** A bias buffer added to the head's output, a second full-size tensor
   * (BartForConditionalGeneration's final_logits_bias). */
  logitsBias?: boolean;
  /** The loss is torch.nn.CrossEntropyLoss on the logits as they are (T5's and BART's
   * *ForConditionalGeneration), not ForCausalLMLoss's fp32 copy. */
  lossInLogitsDtype?: boolean;
  /** The model code casts the head's logits to fp32 itself: and returns them so ('returned':
   * GPT-J's `self.lm_head(hidden_states).to(torch.float32)`), or for its loss only, casting them
   * back to the hidden dtype after it ('loss': GPT-Neo's `lm_logits.to(hidden_states.dtype)`). */
  logitsFp32?: 'returned' | 'loss';
  /** Which fused cross-entropy crossEntropy 'fused' means: Megatron's vocab-parallel one, or
   * Liger's fused linear cross-entropy (the default). */
  fusedLoss?: 'megatron' | 'liger';
  /** Where the image tokens go: into the text sequence (default), or to cross-attention
   * layers (Mllama). */
  imageStates?: 'merged' | 'cross-attention';
  /** The model registers one (max_positions, max_positions) bool causal mask as a buffer
   * (GPTBigCodeModel.bias, persistent=False), not one per layer as GPT-2's attention does. */
  causalMaskBuffer?: boolean;
  /** DebertaV2Embeddings.forward: torch.zeros_like(inputs_embeds) stands for the position
   * embeddings it lacks (position_biased_input off), held until it returns; the LayerNorm's
   * output is multiplied by the attention mask before the dropout. */
  maskedEmbeddings?: boolean;
}

export interface LayerRecipe {
  /** The model code it was read from. */
  source: string;
  /** The layer's parameters, in the order its modules create them. */
  weights(context: WeightContext, layer: number): LayerWeights;
  forward(nn: Nn, x: Tensor, weights: LayerWeights, inputs: LayerInputs): Tensor;
  /** The model's layer loop passes the layer by (its module, hooks and checkpoint never run). */
  skips?(layer: number, inputs: LayerInputs): boolean;
  /** The kernel and mask each layer's attention gets (Hugging Face's rules unless the model
   * code has its own). */
  attention?(request: AttentionRequest): AttentionPlan;
  ends?: ModelEnds;
  /** Encoder-decoder models' stacks. */
  stacks?: StackTensors;
  /** Linears a fused kernel takes by weight without calling their modules (Mamba's), so
   * adapters around them never run. */
  kernelLinears?: string[];
}

/** Builds a LayerWeights in module order: linears (weight, then bias) and norms as named. */
export class LayerWeightsBuilder {
  private readonly weights: LayerWeights;
  private readonly shapes: Map<string, LinearShape>;
  readonly order: Param[] = [];

  constructor(
    private readonly context: WeightContext,
    layer: number,
  ) {
    this.weights = { index: layer, linears: new Map(), norms: new Map(), other: [], order: [] };
    this.shapes = new Map(linearShapes(context.arch, layer).map((shape) => [shape.name, shape]));
  }

  /** The named linears, in the order given, where the layer has them. */
  linears(...names: string[]): this {
    for (const name of names) {
      const shape = this.shapes.get(name);
      if (!shape) continue;
      const { arch, storage, tensorParallel, expertParallel } = this.context;
      const linear = linearParams(storage, arch, shape, tensorParallel, expertParallel);
      this.weights.linears.set(name, linear);
      this.weights.order.push(...paramsOf(linear));
    }
    return this;
  }

  /** Stores the named linear's weight in `bytes` an element whatever the model's dtype, and
   * trains it so (a module transformers keeps in fp32: `_keep_in_fp32_modules_strict`). */
  storedIn(name: string, bytes: number): this {
    const linear = this.weights.linears.get(name);
    if (linear) linear.weight.storedBytes = linear.weight.gradientBytes = bytes;
    return this;
  }

  /** A linear the shared shapes name differently (GPT-2's fused c_attn), taking the LoRA
   * targets of the names it stands for. */
  custom(shape: LinearShape, loraNames: string[] = [shape.name]): this {
    const { arch, storage, tensorParallel, expertParallel } = this.context;
    const lora = storage.request.training.lora;
    const targeted =
      !!lora &&
      (lora.targetModules === 'all-linear' ||
        loraNames.some((n) => lora.targetModules.includes(n)));
    const linear = linearParams(storage, arch, shape, tensorParallel, expertParallel, targeted);
    this.weights.linears.set(shape.name, linear);
    this.weights.order.push(...paramsOf(linear));
    return this;
  }

  /** One of the model's own modules holding several shared shapes (Falcon's, BLOOM's and
   * GPT-NeoX's query_key_value, GPT-2's c_attn) or renaming one (GPT-2's c_fc): their outputs
   * side by side. PEFT adapts it as one linear, rank r over the joined outputs, when a target
   * names its path or a shape it holds (lora-modules.ts). */
  module(name: string, parts: string[]): this {
    const shapes = parts.map((part) => this.shapes.get(part)).filter((s) => s !== undefined);
    if (shapes.length === 0) return this;
    const { arch, storage, tensorParallel, expertParallel } = this.context;
    const shape: LinearShape = {
      ...shapes[0],
      name,
      outFeatures: shapes.reduce((sum, s) => sum + s.outFeatures, 0),
      bias: shapes.some((s) => s.bias),
    };
    const linear = linearParams(storage, arch, shape, tensorParallel, expertParallel, false);
    const lora =
      storage.request.training.method === 'full' ? undefined : storage.request.training.lora;
    const path = modulePath(arch, shapes[0].name) ?? name;
    if (lora && moduleAdapted(lora, path, shapes)) {
      linear.lora = adapter(storage, name, linear, 1, lora);
    }
    this.weights.linears.set(name, linear);
    this.weights.order.push(...paramsOf(linear));
    return this;
  }

  /** One linear standing for several of the shared shapes (litgpt's qkv, Megatron's
   * linear_qkv): their outputs side by side. LoRA adapts the parts its targets name, as
   * litgpt's LoRAQKVLinear does: A of r x in per adapted part, B of r x their outputs, which
   * its zero_pad (`padsUnadapted`) scatters into the full width when some part is left out. */
  fused(name: string, parts: string[], padsUnadapted = false): this {
    const shapes = parts.map((part) => this.shapes.get(part)).filter((s) => s !== undefined);
    const { arch } = this.context;
    // A target naming the part (q_proj) or the fused module (Megatron's linear_qkv).
    return this.fusedShapes(name, shapes, padsUnadapted, (lora, fused) => {
      const whole = isLoraTarget(lora, fused);
      return shapes.filter((s) => whole || shapeAdapted(arch, lora, s));
    });
  }

  /** litgpt's qkv over a fused qkv_proj (Phi-3's): its q, k and v parts, adapted as
   * lora-modules.ts adaptedQkvParts says (the counts' rule too). */
  fusedQkvParts(name: string): this {
    const qkv = this.shapes.get('qkv_proj');
    if (!qkv) return this;
    const { arch } = this.context;
    return this.fusedShapes(name, qkvParts(arch, qkv), true, (lora) =>
      adaptedQkvParts(arch, lora, qkv),
    );
  }

  private fusedShapes(
    name: string,
    shapes: LinearShape[],
    padsUnadapted: boolean,
    adaptedOf: (lora: LoraSettings, fused: LinearShape) => LinearShape[],
  ): this {
    if (shapes.length === 0) return this;
    const shape: LinearShape = {
      ...shapes[0],
      name,
      outFeatures: shapes.reduce((sum, s) => sum + s.outFeatures, 0),
      bias: shapes.some((s) => s.bias),
    };
    const { arch, storage, tensorParallel, expertParallel } = this.context;
    const linear = linearParams(storage, arch, shape, tensorParallel, expertParallel, false);
    const lora =
      storage.request.training.method === 'full' ? undefined : storage.request.training.lora;
    const adapted = lora ? adaptedOf(lora, shape) : [];
    if (lora && adapted.length > 0) {
      const rank = lora.rank * adapted.length;
      const out = adapted.reduce((sum, s) => sum + s.outFeatures / tensorParallel, 0);
      const bytes = storage.policy.adapter.weight;
      linear.lora = {
        a: makeParam(`${name}.lora_A`, rank * linear.inFeatures, true, bytes),
        b: makeParam(`${name}.lora_B`, lora.rank * out, true, bytes),
        rank,
        dropout: lora.dropout > 0,
        ...(padsUnadapted && adapted.length < shapes.length ? { adaptedOutFeatures: out } : {}),
      };
    }
    this.weights.linears.set(name, linear);
    this.weights.order.push(...paramsOf(linear));
    return this;
  }

  /** A parameter made by the recipe itself (a 3-D expert weight). */
  param(param: Param): this {
    this.weights.other.push(param);
    this.weights.order.push(param);
    return this;
  }

  /** A buffer the module registers (GPT-2's causal mask), `bytes` per element. */
  buffer(name: string, elements: number, bytes: number): this {
    const param = makeBuffer(name, elements, bytes);
    this.weights.other.push(param);
    this.weights.order.push(param);
    return this;
  }

  /** A norm of `size` (RMSNorm: a weight; LayerNorm: a weight and a bias; OlmoLayerNorm:
   * nothing). */
  norm(name: string, size: number, withBias?: boolean): this {
    const { storage, arch } = this.context;
    const [weight, bias] = normParams(storage, arch.norm, name, size, withBias);
    if (weight) this.weights.norms.set(name, weight);
    if (bias) this.weights.norms.set(`${name}.bias`, bias);
    this.weights.order.push(...[weight, bias].filter((p): p is Param => !!p));
    return this;
  }

  /** A parameter no linear or norm owns (router bias, attention sinks, position buckets). */
  other(name: string, elements: number): this {
    const param = baseParam(this.context.storage, name, elements);
    this.weights.other.push(param);
    this.weights.order.push(param);
    return this;
  }

  build(): LayerWeights {
    return this.weights;
  }
}

/** A linear's base parameters in creation order (nn.Linear registers weight, then bias). */
function paramsOf(linear: LinearParams): Param[] {
  return linear.bias ? [linear.weight, linear.bias] : [linear.weight];
}

/** Adapter parameters of a layer, in module order (get_peft_model adds them after the base). */
export function adapterParams(weights: LayerWeights): Param[] {
  return [...weights.linears.values()].flatMap((l) => (l.lora ? loraParamsOf(l.lora) : []));
}
