// A causal language model's stage on one rank, as Hugging Face's *ForCausalLM runs it: the
// embedding, the rotary tables, the layers (checkpointed or not), the final norm, the head and
// the loss (transformers models/llama/modeling_llama.py LlamaModel, LlamaForCausalLM).
import { Recompute } from '../../vocabulary';
import { AttentionHeads } from '../autograd/attention';
import { FP32 } from '../autograd/ops';
import { Nn } from '../autograd/nn';
import { Param, Tensor } from '../autograd/runtime';
import { EmbeddingLocal, LayerInputs, LayerRecipe } from '../recipes/recipe';
import { LayerAttention, MaskSpec } from '../recipes/attention-kernel';
import { visionForward } from '../recipes/vision';
import { encoderConvLayer, relativeInputs } from '../recipes/hf-deberta';
import { ExpertRouting } from '../recipes/hf-moe';
import { adapterParams } from '../recipes/recipe';
import { classificationLoss, headAndLoss, headLogits, LossSettings } from './loss';
import { dpoLoss, PreferenceStep } from './dpo';
import { klLogps, ktoLoss } from './kto';
import { embeddingAdapter } from './lora-embedding';
import { ParallelNn } from '../parallel-nn';
import { OP_LEVEL_POLICY } from '../autograd/selective';
import { RankModel } from './rank-model';

export interface StageSettings {
  /** Tokens of one micro-batch on this rank (b x s / context parallel). */
  tokens: number;
  /** Keys one query attends over. */
  keys: number;
  hidden: number;
  heads: AttentionHeads;
  /** The kernel layer `index` runs and the mask it receives (attention-kernel.ts). */
  attentionFor: (index: number) => LayerAttention;
  /** Eager attention soft-caps its scores (Gemma-2's attn_logit_softcapping). */
  softcapScores: boolean;
  /** Eager attention with learned sink logits (gpt-oss). */
  sinks: boolean;
  /** Dropout on the attention probabilities (attention_dropout > 0 in the config). */
  attentionDropout: boolean;
  recompute: Recompute;
  loss: LossSettings;
  /** Rotary tables (cos, sin) for models with rotary embeddings: cast to the hidden dtype, or
   * kept fp32 where the model code returns them so (OLMo-2). */
  rotary: false | 'hidden' | 'fp32';
  /** The layers that read a second pair of rotary tables, their local theta's (the sliding
   * ones, where ModelEnds.rotaryPerLayerType and the stack has both kinds); absent: none. */
  localRotary?: (index: number) => boolean;
  /** The ALiBi tensor the model builds once per forward: rows x columns, fp32 or in the hidden
   * dtype (ModelEnds.alibi). */
  alibi?: { rows: number; cols: number; fp32: boolean };
  /** Gemma scales the embedding by sqrt(hidden) in the compute dtype (ModelEnds.scaledEmbedding:
   * 'lookup' where the embedding module scales its lookup, before the positions are added). */
  scaledEmbedding: boolean | 'lookup';
  /** Rows of one position-table lookup: one per token, or one per position of the local
   * sequence (ModelEnds.positionsPerSequence). */
  positionRows: number;
  /** Dropout on the embeddings (GPT-2's embd_pdrop). */
  embeddingDropout: number;
  /** Which embedding tensor the model's forward keeps as a local until it returns (ModelEnds). */
  embeddingLocal: EmbeddingLocal;
  /** The final norm: LayerNorm (GPT-2, NeoX) or RMSNorm. */
  finalNorm: FinalNorm;
  /** Dropout after the final norm (T5Stack). */
  finalDropout: number;
  /** Images in one micro-batch on this rank (vision-language models). */
  images: number;
  /** The head's input scaled first (T5 with a tied head). */
  headInputScale: boolean;
  /** Tokens per expert in mixture-of-experts layers. */
  routing?: ExpertRouting;
  /** The whole model is built before a data-parallel wrapper shards it. */
  materializeBeforeSharding: boolean;
}

/** An encoder-decoder's stacks as the forward walks its layers (T5Stack twice): the tensors
 * each stack builds in its first layer, held until it ends; at the decoder's first layer the
 * encoder output is kept for cross-attention and the decoder starts from a fresh embedding. */
class StackState {
  encoderStates?: Tensor;
  private held: Tensor[] = [];
  private inDecoder = false;

  constructor(
    private readonly stage: StageModel,
    private readonly elementBytes: number,
  ) {}

  /** Before layer `index`: the decoder's input, and the embedding locals its forward keeps,
   * when the decoder starts there. */
  enter(index: number, x: Tensor): Embedded | undefined {
    const stacks = this.stage.recipe.stacks;
    if (!stacks) return undefined;
    const { nn, settings } = this.stage;
    const first = this.stage.model.layers[0].index === index;
    // The first decoder layer this stage runs (a truncated stack may skip the true first).
    const decoder = index >= stacks.decoderStart && !this.inDecoder;
    if (!first && !decoder) return undefined;
    nn.rt.drop(...this.held);
    let next: Embedded | undefined;
    if (decoder && !first) {
      this.encoderStates = x;
      next = this.stage.embedDecoder();
    }
    this.inDecoder = index >= stacks.decoderStart;
    const { tokens, keys } = settings;
    const kernel = settings.attentionFor(index).kernel;
    this.held = stacks.build(nn, tokens, keys, this.elementBytes, this.inDecoder, kernel);
    return next;
  }

  inputs(shared: LayerInputs): LayerInputs {
    return this.encoderStates ? { ...shared, encoderStates: this.encoderStates } : shared;
  }

  end(): void {
    this.stage.nn.rt.drop(...this.held, this.encoderStates);
  }
}

/** An embedding's output and the locals its model's forward keeps until it returns. */
interface Embedded {
  x: Tensor;
  kept: Tensor[];
}

/** The per-forward tensors the layers read, and the inputs each layer receives. */
interface LayerTables {
  inputsFor: (index: number) => LayerInputs;
  /** What the model's forward holds until it returns (rotary tables, masks). */
  owned: Tensor[];
}

export interface StageOutput {
  /** The loss (last stage) or the activation sent to the next stage. */
  output: Tensor;
  isLoss: boolean;
  /** Logits the model returned (the loop decides whether to keep them). */
  logits: Tensor[];
}

export class StageModel {
  /** TRL's DPO or KTO step on the stage with the head (set by the timeline); absent: the loss
   * the settings name. */
  preference?: PreferenceStep;
  /** The forward now running under no_grad for its logits alone: a reference's (DPO's and
   * KTO's), or the policy's over KTO's KL sequences. */
  private pass?: 'reference' | 'kl';

  constructor(
    readonly nn: Nn,
    readonly model: RankModel,
    readonly recipe: LayerRecipe,
    readonly settings: StageSettings,
    /** Runs once the parameters exist (a data-parallel wrapper's own buffers). */
    private readonly afterBuild: () => void = () => undefined,
  ) {
    // A checkpoint's recompute runs under the autocast state of its forward and leaves it.
    nn.rt.onRecomputeEnd = () => nn.weights.exitAutocast(nn.ops);
  }

  /** from_config on the device: every base parameter in module order (a tied head's own
   * weight is made, then dropped when post_init ties it), then PEFT's adapters. */
  build(): void {
    const { rt } = this.nn;
    rt.enter('build', -1, 'model');
    const model = this.model;
    const whole = this.settings.materializeBeforeSharding;
    for (const param of model.all) allocateParam(this.nn, param, whole);
    if (model.tiedHead && model.embedding) {
      rt.release(rt.allocate(fullParamBytes(model.embedding), 'weights'));
    }
    for (const layer of model.layers) {
      adapterParams(layer).forEach((p) => allocateParam(this.nn, p, whole));
    }
    this.afterBuild();
  }

  /** One micro-batch's forward on this stage: `input` is the activation received from the
   * previous stage (absent on the first). TRL's DPO and KTO losses run once the model has
   * returned its logits (its autocast region, and so autocast's cast cache, closed); KTO's
   * step first scores the KL sequences (KTOTrainer._compute_loss calls _compute_kl_logps on
   * the policy before its own forward). */
  forward(input?: Tensor): StageOutput {
    const { nn, preference: step } = this;
    if (step?.objective === 'kto' && !this.pass) klLogps(nn, () => this.noGradLogits('kl'), step);
    const out = this.modelForward(input);
    if (!step || this.pass) return out;
    nn.rt.enter('forward', -1, `${step.objective} loss`);
    const loss = nn.rt.countedAs('logitsAndLoss', () => {
      const logits = this.wrapperOutput(out.output);
      return step.objective === 'kto' ? ktoLoss(nn, logits, step) : dpoLoss(nn, logits, step);
    });
    return { output: loss, isLoss: true, logits: [] };
  }

  /** This model's forward as TRL's DPO and KTO steps run their reference: under no_grad,
   * without checkpointing (disable_gradient_checkpointing) and with any adapters disabled
   * (PEFT's disable_adapter, where the policy is its own reference); the logits as it returns
   * them. */
  referenceLogits(): Tensor {
    return this.noGradLogits('reference');
  }

  /** A forward under no_grad for its logits: a checkpoint records nothing there
   * (torch.utils.checkpoint saves for a graph that no_grad does not build), so the layers run
   * plainly; the adapters are off for a reference. */
  private noGradLogits(pass: 'reference' | 'kl'): Tensor {
    const { nn } = this;
    this.pass = pass;
    nn.adaptersDisabled = pass === 'reference';
    try {
      return nn.rt.noGrad(() => {
        // Its layers' tensors are activations, though the policy's loss may be running around it.
        const logits = nn.rt.countedAs('activations', () => this.forward().output);
        return nn.rt.countedAs('logitsAndLoss', () => this.wrapperOutput(logits));
      });
    } finally {
      this.pass = undefined;
      nn.adaptersDisabled = false;
    }
  }

  /** What a wrapper around the model returns of its logits: Accelerate's convert_outputs_to_fp32
   * (LossSettings.outputsToFp32) replaces them with an fp32 copy once the forward is done. */
  private wrapperOutput(logits: Tensor): Tensor {
    if (!this.settings.loss.outputsToFp32) return logits;
    const float = this.nn.ops.to(logits, FP32);
    this.nn.rt.drop(logits);
    return float;
  }

  private modelForward(input?: Tensor): StageOutput {
    const { nn } = this;
    const { hooks } = nn.rt;
    return nn.rt.scope(() => {
      // The root's pre-forward (FSDP2 gathers the root unit) is the forward's first work: marked
      // here, it is not counted in the moment before it (the last optimizer step or backward).
      nn.rt.enter('forward', -1, input ? 'stage input' : 'embedding');
      hooks.beforeForward('root');
      // A received activation, or the embedding and the locals the model's forward keeps of it.
      let { x, kept } = input ? { x: input, kept: [] as Tensor[] } : this.firstInput();
      const tables = this.layerTables(x);
      const stacks = new StackState(this, x.elementBytes);
      let deepstack: Tensor[] = [];
      let layerOutputs: Tensor | undefined;
      if (!input) {
        let merged: Tensor;
        ({ merged, deepstack } = this.withImages(x, stacks));
        // LlavaModel.forward: inputs_embeds = inputs_embeds.masked_scatter(...) rebinds the local.
        if (merged !== x && kept.length > 0) {
          nn.rt.drop(...kept);
          kept = [nn.rt.view(merged)];
        }
        x = merged;
      }
      for (const layer of this.model.layers) {
        // At the decoder's start the encoder output lives on in `stacks` for cross-attention;
        // the encoder's forward has returned, and with it its embedding locals.
        const decoderInput = stacks.enter(layer.index, x);
        if (decoderInput) {
          nn.rt.drop(...kept);
          ({ x, kept } = decoderInput);
        }
        const inputs = stacks.inputs(tables.inputsFor(layer.index));
        if (this.recipe.skips?.(layer.index, inputs)) continue;
        nn.rt.enter('forward', layer.index, this.pass ? `${this.pass} layer` : 'layer');
        hooks.beforeForward(`layer:${layer.index}`);
        const layerOutput = this.runLayer(x, layer, inputs);
        hooks.afterForward(`layer:${layer.index}`);
        const y = this.afterFirstLayer(x, layerOutput, layer.index);
        // Qwen3VLTextModel.forward's `layer_outputs` holds a layer's output until the next
        // layer returns, after a deepstack add has rebound `hidden_states` to its copy.
        nn.rt.drop(layerOutputs);
        layerOutputs = undefined;
        if (x !== input) nn.rt.drop(x);
        x = y;
        const feature = deepstack[layer.index];
        if (feature) {
          layerOutputs = x;
          x = this.deepstackAdd(x, feature);
        }
      }
      nn.rt.drop(layerOutputs, ...deepstack);
      stacks.end();
      nn.rt.drop(...tables.owned);
      const hasHead = Boolean(this.model.head || this.model.classifier);
      if (!hasHead) nn.rt.drop(...kept);
      const out: StageOutput = hasHead
        ? this.headAndLoss(x, x !== input, kept)
        : { output: x, isLoss: false, logits: [] };
      hooks.afterForward('root');
      nn.weights.exitAutocast(nn.ops);
      return out;
    });
  }

  /** DebertaV2Encoder.forward: `output_states = self.conv(hidden_states, output_states,
   * input_mask)` after layer 0, over the encoder's input; the layer's output rebound, so freed. */
  private afterFirstLayer(input: Tensor, output: Tensor, index: number): Tensor {
    const conv = this.model.encoderConv;
    if (!conv || index !== 0) return output;
    this.nn.rt.enter('forward', -1, 'encoder conv');
    const convolved = encoderConvLayer(this.nn, input, output, conv);
    this.nn.rt.drop(output);
    return convolved;
  }

  private runLayer(x: Tensor, layer: RankModel['layers'][number], inputs: LayerInputs): Tensor {
    const { nn, recipe } = this;
    const recompute = this.pass ? 'none' : this.settings.recompute;
    if (recompute === 'none') return recipe.forward(nn, x, layer, inputs);
    // The checkpoint keeps every argument of the layer for its recompute: x, cos, sin, mask,
    // an encoder-decoder's encoder output, the ALiBi tensor.
    const extra = [
      inputs.mask,
      inputs.encoderStates,
      inputs.positionBias,
      inputs.relative?.positions,
      inputs.relative?.embeddings,
    ].filter((t): t is Tensor => t !== undefined);
    const args = [x, inputs.cos, inputs.sin, ...extra];
    // Selective: torchtitan's op-level policy (the frameworks that offer op-level selective
    // checkpointing copy it; torchtune's _activation_checkpoint.py does).
    const policy = recompute === 'selective' ? OP_LEVEL_POLICY : undefined;
    return nn.rt.checkpoint(args, () => recipe.forward(nn, x, layer, inputs), policy);
  }

  /** A vision-language model's images: the image encoder and projector run first; their image
   * tokens replace placeholders in the embedded text (masked_scatter: a new tensor), or, for
   * Mllama, are the states its cross-attention layers read. */
  private withImages(x: Tensor, stacks: StackState): { merged: Tensor; deepstack: Tensor[] } {
    const { nn, model, settings } = this;
    if (!model.vision || settings.images === 0) return { merged: x, deepstack: [] };
    nn.rt.enter('forward', -1, 'vision');
    nn.rt.hooks.beforeForward('vision');
    const { tokens, deepstack } = visionForward(nn, model.vision, settings.images);
    nn.rt.hooks.afterForward('vision');
    if (this.recipe.ends?.imageStates === 'cross-attention') {
      stacks.encoderStates = tokens;
      return { merged: x, deepstack };
    }
    const merged = nn.ops.add(x, tokens); // inputs_embeds.masked_scatter(mask, image_features)
    nn.rt.drop(x, tokens);
    return { merged, deepstack };
  }

  /** Qwen3VLTextModel._deepstack_process after text layer i with the i-th deepstack merger's
   * tokens: hidden_states.clone(), its image rows gathered (hidden_states[visual_pos_masks, :],
   * whose mask becomes int64 row and column indices) plus the tokens cast to the states' dtype,
   * written back in place (index_put_). */
  private deepstackAdd(x: Tensor, feature: Tensor): Tensor {
    const { ops, rt } = this.nn;
    const cloned = ops.unary(x);
    const indices = () => rt.tensor(feature.rows, 2, 8, false); // nonzero(mask): 2 x int64 a row
    const gatherIndices = indices();
    const picked = ops.gatherRows(cloned, feature.rows, cloned.cols, gatherIndices);
    rt.drop(gatherIndices);
    const cast = ops.to(feature, cloned.elementBytes); // visual_embeds.to(hidden_states.dtype)
    rt.drop(feature);
    const summed = ops.add(picked, cast);
    rt.drop(picked, cast);
    const putIndices = indices();
    const out = ops.indexPut(cloned, summed, putIndices);
    rt.drop(cloned, summed, putIndices);
    return out;
  }

  /** What the first stack reads: Whisper's encoder its audio input, the others their tokens'
   * embedding. */
  private firstInput(): Embedded {
    return this.model.audio ? this.audioInput(this.model.audio) : this.embed();
  }

  /** WhisperEncoder.forward's input: input_features (b, mel bins, 2 x frames) in the compute
   * dtype, nn.functional.gelu(self.conv1(...)) and gelu(self.conv2(...)) (stride 2: `frames`
   * rows a sample; GELU keeps its input), permute(0, 2, 1) (a view), + embed_positions.weight
   * (frozen: the add keeps nothing), dropout. inputs_embeds, conv2's GELU output, is a local
   * until the encoder returns. */
  private audioInput(audio: NonNullable<RankModel['audio']>): Embedded {
    const { nn, settings } = this;
    const { ops, rt } = nn;
    rt.enter('forward', -1, 'embedding');
    rt.hooks.beforeForward('embedding');
    const samples = settings.tokens / settings.keys;
    // the feature extractor's fp32 features, cast to the model's dtype where autocast is off
    const featureBytes = nn.precision.autocast ? FP32 : nn.precision.matmul;
    const features = rt.tensor(2 * audio.frames * samples, audio.melBins, featureBytes, false);
    const conv = (x: Tensor, [w, b]: Param[], rows: number) => {
      const out = nn.conv1d(x, w, b, settings.hidden, rows);
      const activated = ops.unarySavingInput(out);
      rt.drop(out);
      return activated;
    };
    const first = conv(features, audio.conv1, features.rows);
    rt.drop(features);
    const inputsEmbeds = conv(first, audio.conv2, audio.frames * samples);
    rt.drop(first);
    const positions = ops.weight(audio.positions, audio.frames, settings.hidden);
    const summed = ops.add(inputsEmbeds, positions);
    rt.drop(positions);
    const x = nn.dropoutReplacing(summed, settings.embeddingDropout);
    rt.hooks.afterForward('embedding');
    return { x, kept: [inputsEmbeds] };
  }

  /** The decoder's embedding of its tokens: the shared table again, with the decoder's own
   * positions and norm where it has them (BartDecoder). */
  embedDecoder(): Embedded {
    return this.embed(this.model.decoderEmbedding);
  }

  /** embed_tokens(input_ids), plus learned positions (GPT-2's wte + wpe), scaled by
   * sqrt(hidden) (Gemma), then embedding dropout: each step its own tensor. `kept`: second
   * handles on the tensors the model's forward keeps as locals until it returns
   * (settings.embeddingLocal). */
  private embed(
    stack: { positions?: Param; norm?: Param[] } = {
      positions: this.model.positions,
      norm: this.model.embeddingNorm,
    },
  ): Embedded {
    const { nn, model, settings } = this;
    nn.rt.enter('forward', -1, 'embedding');
    nn.rt.hooks.beforeForward('embedding');
    const projectIn = model.projectIn;
    let x = this.lookup(model.embedding!, projectIn?.inFeatures);
    const keepsLookup = settings.embeddingLocal === 'lookup';
    const kept: Tensor[] = [];
    const then = (next: (t: Tensor) => Tensor) => {
      const out = next(x);
      nn.rt.drop(x);
      x = out;
    };
    // A vocabulary-parallel lookup's partial rows are summed (or reduce-scattered).
    if (nn instanceof ParallelNn) then((t) => nn.combine(nn.rt.view(t)));
    const lora = model.embeddingLora;
    if (lora && !nn.adaptersDisabled) then((t) => embeddingAdapter(nn, t, lora, settings.tokens));
    // BartScaledWordEmbedding: inputs_embeds = embed_tokens(input_ids) * embed_scale.
    if (settings.scaledEmbedding === 'lookup') then((t) => nn.ops.unary(t));
    // OPTDecoder.forward: pos_embeds first, then inputs_embeds = self.project_in(inputs_embeds).
    const positions =
      stack.positions && this.lookup(stack.positions, settings.hidden, settings.positionRows);
    // DebertaV2Embeddings: zeros of the lookup's shape where it has no position table.
    const masked = this.recipe.ends?.maskedEmbeddings === true;
    const zeros = masked && !positions ? nn.ops.empty(x, false) : undefined;
    if (projectIn) then((t) => nn.linear(t, projectIn));
    if (keepsLookup) kept.push(nn.rt.view(x)); // inputs_embeds = self.embed_tokens(input_ids)
    if (positions) {
      then((t) => nn.ops.add(t, positions));
      if (keepsLookup)
        kept.push(positions); // GPT2Model.forward: position_embeds
      else nn.rt.drop(positions);
    }
    if (settings.scaledEmbedding === true) then((t) => nn.ops.unary(t));
    const norm = stack.norm;
    // BLOOM, BERT: nn.LayerNorm; DeBERTa-v1: DebertaLayerNorm
    const normKind = this.recipe.ends?.embeddingNorm ?? 'layer';
    if (norm) then((t) => applyNorm(nn, t, norm, normKind));
    if (masked) then((t) => this.attentionMasked(t));
    if (settings.embeddingDropout > 0) then((t) => nn.ops.dropout(t));
    nn.rt.drop(zeros);
    // BertModel.forward's embedding_output; Gemma-3's scaled embedding module's output.
    if (settings.embeddingLocal === 'output' || settings.embeddingLocal === 'decoder-input')
      kept.push(nn.rt.view(x));
    nn.rt.hooks.afterForward('embedding');
    return { x, kept };
  }

  /** DebertaV2Embeddings.forward: `embeddings * mask`, the (b, s, 1) attention mask cast to the
   * embeddings' dtype first (the product keeps it for backward). */
  private attentionMasked(x: Tensor): Tensor {
    const { nn } = this;
    const mask = nn.rt.tensor(x.rows, 1, x.elementBytes, false);
    const out = nn.ops.mul(x, mask);
    nn.rt.drop(mask);
    return out;
  }

  /** One row of `table` (`width` wide) per token, or `rows` of it. */
  private lookup(table: Param, width = this.settings.hidden, rows = this.settings.tokens): Tensor {
    const { nn } = this;
    const weight = nn.ops.weight(table, table.elements / width, width);
    const x = nn.ops.embedding(rows, weight, width);
    nn.rt.drop(weight);
    return x;
  }

  /** What the model computes once per forward for its layers: LlamaRotaryEmbedding's fp32
   * frequencies, cos and sin cast to the hidden dtype (or MPT's and BLOOM's ALiBi tensor, which
   * the layers' attention adds to its scores), and each distinct mask its layers
   * receive (masking_utils create_causal_mask, create_sliding_window_causal_mask), built in
   * layer order; the inputs of a layer are shared by the layers that attend alike. */
  private layerTables(x: Tensor): LayerTables {
    const { nn, settings } = this;
    const { rt } = nn;
    const d = settings.heads.headDim;
    const tokens = settings.tokens;
    const table = () => {
      const float = rt.tensor(tokens, d, FP32, false);
      if (settings.rotary === 'fp32') return float;
      const cast = nn.ops.to(float, x.elementBytes);
      rt.drop(float);
      return cast;
    };
    const pair = (): [Tensor, Tensor] => {
      rt.release(rt.allocate(tokens * (d / 2) * FP32, 'activations')); // freqs = inv_freq @ positions
      rt.beforeMatmul('forward');
      return [table(), table()];
    };
    const placeholder = () => rt.tensor(1, 1, x.elementBytes, false);
    const [cos, sin] = settings.rotary ? pair() : [placeholder(), placeholder()];
    // The sliding layers' own pair (their local theta), made after the global one.
    const readsLocal = settings.localRotary;
    const local = settings.rotary && readsLocal ? pair() : undefined;
    const { alibi } = settings;
    const bias =
      alibi && rt.tensor(alibi.rows, alibi.cols, alibi.fp32 ? FP32 : x.elementBytes, false);
    const masks = new Map<string, Tensor>();
    const shared = new Map<string, LayerInputs>();
    const { heads, keys, routing, softcapScores } = settings;
    const makeMask = (spec: MaskSpec) =>
      rt.tensor(
        spec.shared ? settings.keys : tokens,
        settings.keys,
        spec.elementBytes ?? (spec.additive ? x.elementBytes : 1),
        false,
      );
    for (const layer of this.model.layers) {
      const spec = settings.attentionFor(layer.index).mask;
      if (spec && !masks.has(spec.key)) masks.set(spec.key, makeMask(spec));
    }
    const relativeTables = this.model.relativePositions;
    const relative = relativeTables && relativeInputs(nn, relativeTables, settings.keys);
    const inputsFor = (index: number): LayerInputs => {
      const { kernel, mask } = settings.attentionFor(index);
      const tables = local && readsLocal?.(index) ? local : [cos, sin];
      const key = `${kernel}|${mask?.key ?? ''}|${tables === local ? 'local' : 'global'}`;
      let inputs = shared.get(key);
      if (!inputs) {
        const maskTensor = mask ? masks.get(mask.key) : undefined;
        const [layerCos, layerSin] = tables;
        inputs = {
          cos: layerCos,
          sin: layerSin,
          mask: maskTensor,
          heads,
          keys,
          attention: kernel,
          routing,
        };
        if (bias) inputs.positionBias = bias;
        if (relative) inputs.relative = relative;
        if (softcapScores) inputs.softcap = true;
        if (settings.sinks) inputs.sinks = true;
        if (settings.attentionDropout) inputs.dropout = true;
        shared.set(key, inputs);
      }
      return inputs;
    };
    const relativeOwned = relative ? [relative.positions, relative.embeddings] : [];
    const owned = [
      cos,
      sin,
      ...(local ?? []),
      ...(bias ? [bias] : []),
      ...masks.values(),
      ...relativeOwned,
    ];
    return { inputsFor, owned };
  }

  /** The final norm, then where the model code has them OPT-350m's project_out, the dropout
   * (T5Stack) and the tied head's input scale (T5: sequence_output * model_dim ** -0.5). */
  private headInput(x: Tensor): Tensor {
    const { nn, model, settings } = this;
    let out = model.finalNorm ? applyNorm(nn, x, model.finalNorm, settings.finalNorm) : x;
    const next = (make: (t: Tensor) => Tensor) => {
      const made = make(out);
      if (out !== x) nn.rt.drop(out);
      out = made;
    };
    // OPTDecoder.forward: hidden_states = self.project_out(hidden_states) after the final norm.
    const projectOut = model.projectOut;
    if (projectOut) next((t) => nn.linear(t, projectOut));
    if (settings.finalDropout > 0) next((t) => nn.ops.dropout(t));
    if (settings.headInputScale) next((t) => nn.ops.unary(t));
    // BertPredictionHeadTransform.forward: dense, the activation (GELUActivation: F.gelu saves
    // its input), LayerNorm; RobertaLMHead, ELECTRA's generator_predictions and
    // DistilBertForMaskedLM run the same three.
    const transform = model.headTransform;
    if (transform) {
      const [weight, bias] = transform.norm;
      next((t) => nn.linear(t, transform.dense));
      next((t) => nn.ops.unarySavingInput(t));
      next((t) => nn.layerNorm(t, weight, bias));
    }
    return out;
  }

  /** `owned`: the forward's own `x` (not a pipeline's receive buffer), freed once the final
   * norm has made its output: every model code rebinds its hidden state to the norm's output
   * (LlamaModel.forward, torchtitan's and litgpt's `h = self.norm(h)`) before the head runs.
   * `kept`: the embedding locals, freed as the base model's forward returns to the head's, or
   * after the loss where one forward runs both ('decoder-input'). */
  private headAndLoss(x: Tensor, owned: boolean, kept: Tensor[]): StageOutput {
    const { nn } = this;
    nn.rt.enter('forward', -1, this.pass ? `${this.pass} head` : 'loss');
    nn.rt.hooks.beforeForward('head');
    const normed = this.headInput(x);
    if (owned && normed !== x) nn.rt.drop(x);
    const pastLoss = this.settings.embeddingLocal === 'decoder-input';
    if (!pastLoss) nn.rt.drop(...kept);
    // The head's output and what the loss makes of it are the breakdown's logits and loss.
    const out = nn.rt.countedAs('logitsAndLoss', () => this.headOutput(normed));
    if (normed !== x) nn.rt.drop(normed);
    if (pastLoss) nn.rt.drop(...kept);
    nn.rt.hooks.afterForward('head');
    return out;
  }

  /** The loss and the logits the model returned; the logits alone where TRL's DPO or KTO step
   * computes the loss outside the model (the wrapper's fp32 copy comes after: wrapperOutput). */
  private headOutput(normed: Tensor): StageOutput {
    const { nn, model, settings } = this;
    if (this.preference || this.pass) {
      const logits = headLogits(nn, normed, model.head!, {
        ...settings.loss,
        outputsToFp32: false,
      });
      return { output: logits, isLoss: false, logits: [] };
    }
    const sequences = settings.tokens / settings.keys;
    const { loss, logits } = model.classifier
      ? classificationLoss(nn, normed, model.classifier, sequences, settings.loss)
      : headAndLoss(nn, normed, model.head!, settings.loss);
    return { output: loss, isLoss: true, logits };
  }
}

/** The norm before the head (or the embedding's): LayerNorm, DeBERTa's DebertaLayerNorm, or one
 * of the RMSNorms (nn.ts names their sources). */
export type FinalNorm =
  | 'layer'
  | 'tf-layer'
  | 'layer1p'
  | 'rms'
  | 'gemma'
  | 'fp32-weight'
  | 'fp32-weight-cast'
  | 'fused'
  | 't5'
  | 'weightless';

function applyNorm(nn: Nn, x: Tensor, [weight, bias]: Param[], kind: FinalNorm): Tensor {
  switch (kind) {
    case 'layer':
      return nn.layerNorm(x, weight, bias);
    case 'tf-layer':
      return nn.tfLayerNorm(x, weight, bias);
    case 'layer1p':
      return nn.layerNorm1p(x, weight, bias);
    case 'rms':
      return nn.rmsNorm(x, weight);
    case 'gemma':
      return nn.gemmaRmsNorm(x, weight);
    case 'fp32-weight':
      return nn.rmsNormFp32Weight(x, weight);
    case 'fp32-weight-cast':
      return nn.rmsNormFp32Weight(x, weight, x.cols, true);
    case 'fused':
      return nn.fusedRmsNorm(x, weight);
    case 't5':
      return nn.t5Norm(x, weight);
    case 'weightless':
      return nn.weightlessLayerNorm(x);
  }
}

/** The bytes a rank keeps of a parameter (its shard under ZeRO-3 / FSDP). */
export function paramBytes(param: Param): number {
  return (param.local?.weight ?? param.elements) * param.storedBytes;
}

/** The bytes of the whole parameter, as it is built before any sharding. */
export function fullParamBytes(param: Param): number {
  return param.elements * param.storedBytes;
}

/** A parameter's storage, held by the module for the whole run: its shard, or the whole
 * parameter when the model is built before it is sharded. */
function allocateParam(nn: Nn, param: Param, whole = false): void {
  param.storage = nn.rt.allocate(whole ? fullParamBytes(param) : paramBytes(param), 'weights');
}
