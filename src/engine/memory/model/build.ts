// Assembles the parameters of one rank's stage: the embedding on the first stage, its layers
// from the recipe, the final norm and the head on the last (memory-model.md section 2).
import { embeddingWidthOf, loraEnds, loraProjections } from '../../model/parameters';
import {
  adaptedHeadLinears,
  maskedLmTransformElements,
  classifierModules,
  peftSavesClassifier,
  pooledHead,
} from '../../model/heads';
import { paddedVocabSize, StageSpan } from '../../model/placement';
import { LayerRecipe, WeightContext } from '../recipes/recipe';
import { buildVisionWeights } from '../recipes/vision-weights';
import { Param } from '../autograd/runtime';
import {
  adapter,
  baseModelBytes,
  baseParam,
  LinearParams,
  loraParamsOf,
  makeBuffer,
  makeParam,
  normParams,
  RankModel,
} from './rank-model';

// M2M100SinusoidalPositionalEmbedding numbers positions from padding_idx + 1 (pad_token_id: 1
// in M2M100Config and NLLB's configs) and rebuilds its table with `offset` (2) rows to spare.
const M2M100_PADDING_IDX = 1;
const M2M100_OFFSET = 2;

/** The stage's parameters in the order the model code creates them; `layers` are the stage's
 * layer indices (all of them, or the subset a truncated simulation keeps). */
export function buildRankModel(
  context: WeightContext,
  span: StageSpan,
  recipe: LayerRecipe,
  layers: number[],
): RankModel {
  const { arch, storage, tensorParallel } = context;
  const width = embeddingWidthOf(arch);
  const rows = paddedVocabSize(arch.vocabSize, tensorParallel) / tensorParallel;
  const model: RankModel = { layers: [], tiedHead: false, all: [] };
  if (span.hasEmbedding && arch.vision) {
    // Gemma3Model, Qwen2VLModel, Llama4ForConditionalGeneration, MllamaModel: the vision tower
    // and projector are created before the language model.
    model.vision = buildVisionWeights(storage, arch.vision);
    model.all.push(...model.vision.all);
  }
  if (span.hasEmbedding) addAudioInput(context, model);
  if (span.hasEmbedding) {
    // Mllama's embedding has 8 more rows than its head (embeddingVocabSize).
    const inputRows = arch.embeddingVocabSize
      ? paddedVocabSize(arch.embeddingVocabSize, tensorParallel) / tensorParallel
      : rows;
    model.embedding = baseParam(storage, 'embed_tokens', inputRows * width);
    model.embedding.shape = [inputRows, width];
    model.all.push(model.embedding);
    if (arch.learnedPositionEmbeddings > 0) {
      model.positions = positionTable(context, 'position_embeddings');
      model.all.push(model.positions);
      // WhisperDecoder's embed_positions: its encoder reads the audio input instead.
      if (model.audio) model.decoderEmbedding = { positions: model.positions };
    }
    if (arch.embeddingNorm) {
      // BLOOM's word_embeddings_layernorm, BERT's embeddings.LayerNorm.
      model.embeddingNorm = endNorm(context, 'embedding_norm');
      model.all.push(...model.embeddingNorm);
    }
    addProjections(context, model, { in: true, out: span.hasHead });
  }
  const decoderStart = recipe.stacks?.decoderStart ?? Infinity;
  for (const layer of layers) {
    if (span.hasEmbedding && layer >= decoderStart && !model.decoderEmbedding)
      addDecoderEmbedding(context, model);
    const weights = recipe.weights(context, layer);
    model.layers.push(weights);
    model.all.push(...weights.order);
  }
  if (span.hasEmbedding) addRelativePositions(context, model);
  if (span.hasEmbedding) addEncoderConv(context, model);
  if (span.hasEmbedding && recipe.ends?.causalMaskBuffer) {
    // torch.tril(torch.ones((n, n), dtype=torch.bool)), registered after the layers and ln_f; the
    // stage with the embedding holds it (a split pipeline's later stages keep their copy too).
    const positions = arch.maxPositionEmbeddings;
    model.all.push(makeBuffer('causal_mask', positions * positions, 1));
  }
  if (span.hasHead && arch.sequenceClassificationLabels) addClassifier(context, model);
  else if (span.hasHead) addHead(context, model, rows, span.hasEmbedding);
  // BartForConditionalGeneration.register_buffer('final_logits_bias', zeros(1, vocab)).
  if (span.hasHead && recipe.ends?.logitsBias)
    model.all.push(makeBuffer('final_logits_bias', arch.vocabSize, baseModelBytes(storage)));
  addEndAdapters(context, model, rows);
  return model;
}

/** A stack's position table: trained with the model, frozen in the model's dtype where the
 * model code freezes it (MarianSinusoidalPositionalEmbedding: requires_grad=False), or a buffer
 * in that dtype (M2M100SinusoidalPositionalEmbedding), rebuilt with padding_idx + 1 + s + 2
 * rows where the sequence outgrows it. */
function positionTable(context: WeightContext, name: string): Param {
  const { arch, storage } = context;
  const h = arch.hiddenSize;
  const rows = arch.learnedPositionEmbeddings;
  if (arch.positionTable === 'frozen')
    return makeParam(name, rows * h, false, baseModelBytes(storage));
  if (arch.positionTable !== 'buffer') return baseParam(storage, name, rows * h);
  const needed = M2M100_PADDING_IDX + 1 + storage.request.training.sequenceLength;
  const built = needed > rows ? needed + M2M100_OFFSET : rows;
  return makeBuffer(name, built * h, baseModelBytes(storage));
}

/** BartDecoder's own embed_positions and layernorm_embedding (Marian's and Pegasus's decoders
 * have the positions alone), created with the decoder (the encoder's sit with the shared
 * embedding). A pipeline of an encoder-decoder is refused, so the stage with the embedding
 * runs the decoder too. */
function addDecoderEmbedding(context: WeightContext, model: RankModel): void {
  if (!context.arch.encoder?.stackEmbeddings) return;
  const positions = positionTable(context, 'decoder_position_embeddings');
  const norm = context.arch.embeddingNorm ? endNorm(context, 'decoder_embedding_norm') : undefined;
  model.decoderEmbedding = { positions, norm };
  model.all.push(positions, ...(norm ?? []));
}

/** DebertaV2Encoder's rel_embeddings (2 x span rows of h) and its LayerNorm, created after the
 * layers (DebertaV2Encoder.__init__, DebertaEncoder's too); a pipeline of DeBERTa is refused, so the stage with the
 * embedding runs every layer. */
function addRelativePositions(context: WeightContext, model: RankModel): void {
  const relative = context.arch.disentangled;
  if (!relative) return;
  const h = context.arch.hiddenSize;
  const table = baseParam(context.storage, 'rel_embeddings', 2 * relative.span * h);
  table.shape = [2 * relative.span, h];
  const norm = relative.normalized ? endNorm(context, 'rel_embeddings_norm') : undefined;
  model.relativePositions = {
    table,
    norm,
    logBuckets: relative.logBuckets,
    repeatedKeys: relative.inProjection === true,
  };
  model.all.push(table, ...(norm ?? []));
}

/** WhisperEncoder's modules before its layers, created first (WhisperModel makes the encoder
 * before the decoder): conv1 (h x mel bins x 3) and conv2 (h x h x 3), each with a bias, and
 * embed_positions, frozen in the model's dtype (requires_grad_(False)). */
function addAudioInput(context: WeightContext, model: RankModel): void {
  const audio = context.arch.encoder?.audio;
  if (!audio) return;
  const { storage } = context;
  const h = context.arch.hiddenSize;
  const conv = (name: string, inChannels: number) => [
    baseParam(storage, `encoder.${name}`, h * inChannels * 3),
    baseParam(storage, `encoder.${name}.bias`, h),
  ];
  const conv1 = conv('conv1', audio.melBins);
  const conv2 = conv('conv2', h);
  const positions = makeParam(
    'encoder.embed_positions',
    audio.frames * h,
    false,
    baseModelBytes(storage),
  );
  model.audio = { conv1, conv2, positions, ...audio };
  model.all.push(...conv1, ...conv2, positions);
}

/** DebertaV2Encoder.conv (ConvLayer), created after the relative positions: the Conv1d's
 * weight (h x h / groups x kernel) and bias, and its LayerNorm. */
function addEncoderConv(context: WeightContext, model: RankModel): void {
  const conv = context.arch.encoderConv;
  if (!conv) return;
  const h = context.arch.hiddenSize;
  const weight = baseParam(
    context.storage,
    'encoder.conv.conv',
    h * (h / conv.groups) * conv.kernel,
  );
  const bias = baseParam(context.storage, 'encoder.conv.conv.bias', h);
  const norm = endNorm(context, 'encoder.conv.LayerNorm');
  const dropout = context.arch.dropout?.residual ?? 0; // hidden_dropout_prob
  model.encoderConv = { weight, bias, norm, activation: conv.activation, dropout };
  model.all.push(weight, bias, ...norm);
}

/** OPT-350m's bias-free projections, created in OPTDecoder's order (project_out, then
 * project_in): project_in with the embedding, project_out with the head. */
function addProjections(
  context: WeightContext,
  model: RankModel,
  held: { in: boolean; out: boolean },
): void {
  if (!context.arch.embeddingWidth) return;
  if (held.out) model.projectOut = projection(context, 'project_out', 'out');
  if (held.in) model.projectIn = projection(context, 'project_in', 'in');
  for (const linear of [model.projectOut, model.projectIn])
    if (linear) model.all.push(linear.weight);
}

/** project_in (embedding width to h) or project_out (h to the width): nn.Linear(bias=False),
 * 4-bit under QLoRA (bitsandbytes converts every nn.Linear but the output head). */
function projection(
  { arch, storage }: WeightContext,
  name: string,
  direction: 'in' | 'out',
): LinearParams {
  const width = embeddingWidthOf(arch);
  const h = arch.hiddenSize;
  const [inFeatures, outFeatures] = direction === 'in' ? [width, h] : [h, width];
  return endLinear(storage, name, inFeatures, outFeatures, { quantized: true });
}

/** A linear at the model's ends, whole on every rank: its weight (4-bit under QLoRA where
 * bitsandbytes converts it) and its bias where it has one. */
function endLinear(
  storage: WeightContext['storage'],
  name: string,
  inFeatures: number,
  outFeatures: number,
  { bias = false, quantized = false }: { bias?: boolean; quantized?: boolean },
): LinearParams {
  const fourBit = quantized && storage.request.training.method === 'qlora';
  const weight = baseParam(storage, name, inFeatures * outFeatures, fourBit);
  weight.shape = [outFeatures, inFeatures];
  const linear: LinearParams = { name, weight, inFeatures, outFeatures, quantized: fourBit };
  if (bias) linear.bias = baseParam(storage, `${name}.bias`, outFeatures);
  return linear;
}

/** A hidden-sized norm at the model's ends, as the norm kind has it. */
function endNorm({ arch, storage }: WeightContext, name: string) {
  return normParams(storage, arch.norm, name, arch.hiddenSize);
}

/** *ForSequenceClassification: BERT's pooler (a dense layer over the first token) and
 * classifier (modeling_bert.py BertForSequenceClassification), RoBERTa's head of the same shapes
 * (modeling_roberta.py RobertaClassificationHead), or a decoder's bias-free `score` over every
 * token, pooled at the last (modeling_llama.py via GenericForSequenceClassification). Under LoRA
 * the modules PEFT saves run as trained copies beside their frozen originals. */
function addClassifier(context: WeightContext, model: RankModel): void {
  const { arch } = context;
  const pooled = pooledHead(arch);
  if (arch.finalNorm) {
    model.finalNorm = endNorm(context, 'norm');
    model.all.push(...model.finalNorm);
  }
  const params: Param[] = [];
  const [firstModule, secondModule] = classifierModules(arch);
  const first = classifierLinear(context, params, firstModule);
  // ModernBertPredictionHead's norm, created after its dense and before the classifier
  const norm = pooled?.norm
    ? normParams(context.storage, arch.norm, pooled.norm, arch.hiddenSize)
    : undefined;
  params.push(...(norm ?? []));
  const second = secondModule && classifierLinear(context, params, secondModule);
  model.classifier =
    pooled && second
      ? {
          pooler: first,
          classifier: second,
          dropoutFirst: pooled.dropoutFirst,
          activation: pooled.activation,
          norm,
          params,
        }
      : { classifier: first, params };
  model.all.push(...params);
}

/** One classifier linear, and under LoRA PEFT's trained copy of it where modules_to_save
 * names it (ModulesToSaveWrapper.forward runs the copy; the copy keeps the original's dtype). */
function classifierLinear(
  { storage }: WeightContext,
  params: Param[],
  module: ReturnType<typeof classifierModules>[number],
): LinearParams {
  const { name, inFeatures, outFeatures } = module;
  // bitsandbytes leaves the classifier in 16 bits (get_keys_to_not_convert: the last module).
  const original = endLinear(storage, name, inFeatures, outFeatures, { bias: module.bias > 0 });
  const paramsOf = (l: LinearParams) => [l.weight, ...(l.bias ? [l.bias] : [])];
  params.push(...paramsOf(original));
  if (storage.request.training.method === 'full' || !peftSavesClassifier(name)) return original;
  const bytes = baseModelBytes(storage);
  const copy = (p: Param) => makeParam(`${p.name}.modules_to_save`, p.elements, true, bytes);
  const saved = {
    ...original,
    weight: copy(original.weight),
    bias: original.bias && copy(original.bias),
  };
  params.push(...paramsOf(saved));
  return saved;
}

/** LoRA on the ends (PEFT's lm_head and embed_tokens targets, torchtune's apply_lora_to_output):
 * the head's adapter as any linear's (h in, this rank's vocabulary rows out); the embedding's
 * A over the vocabulary rows and B out to h. Created after the base model, as PEFT does. */
function addEndAdapters(context: WeightContext, model: RankModel, rows: number): void {
  const { storage, arch } = context;
  const lora =
    storage.request.training.method === 'full' ? undefined : storage.request.training.lora;
  if (!lora) return;
  const ends = loraEnds(arch, lora);
  const width = embeddingWidthOf(arch);
  if (ends.embedding && model.embedding) {
    const { a, b } = adapter(
      storage,
      'embed_tokens',
      { inFeatures: rows, outFeatures: width },
      1,
      lora,
    );
    model.embeddingLora = { a, b, rank: lora.rank };
    model.all.push(a, b);
  }
  const projections = loraProjections(arch, lora);
  const adapted = [
    projections.out ? model.projectOut : undefined,
    projections.in ? model.projectIn : undefined,
  ];
  for (const { role } of adaptedHeadLinears(arch, lora))
    adapted.push(role === 'transform' ? model.headTransform?.dense : model.classifier?.pooler);
  if (ends.head) adapted.push(model.head);
  for (const linear of adapted) {
    if (!linear) continue;
    linear.lora = adapter(storage, linear.name, linear, 1, lora);
    model.all.push(...loraParamsOf(linear.lora));
  }
}

/** A masked-LM head's transform, created before its decoder (BertLMPredictionHead.__init__:
 * transform.dense, transform.LayerNorm, then decoder and bias): a dense h x h with its bias
 * (none in ModernBERT's head), 4-bit under QLoRA as any nn.Linear but the output layer, and a
 * norm of the model's kind. */
function addMaskedLmTransform(context: WeightContext, model: RankModel): void {
  const { arch, storage } = context;
  if (maskedLmTransformElements(arch) === 0) return;
  const h = arch.hiddenSize;
  const bias = arch.headDenseBias !== false;
  const dense = endLinear(storage, 'transform.dense', h, h, { bias, quantized: true });
  const norm = normParams(storage, arch.norm, 'transform.LayerNorm', h);
  model.headTransform = { dense, norm };
  model.all.push(dense.weight, ...(dense.bias ? [dense.bias] : []), ...norm);
}

/** The final norm and the output head; a tied head reads the embedding on the same stage. */
function addHead(context: WeightContext, model: RankModel, rows: number, hasEmbedding: boolean) {
  const { arch, storage } = context;
  const width = embeddingWidthOf(arch);
  if (arch.finalNorm) {
    model.finalNorm = endNorm(context, 'norm');
    model.all.push(...model.finalNorm);
  }
  if (!hasEmbedding) addProjections(context, model, { in: false, out: true });
  addMaskedLmTransform(context, model);
  model.tiedHead = arch.tieWordEmbeddings && hasEmbedding;
  // Lightning's BitsandbytesPrecision quantises every nn.Linear, the output head included.
  const { training, runtime } = storage.request;
  const quantized =
    !model.tiedHead &&
    training.method === 'qlora' &&
    runtime.quantizationKernel === 'bitsandbytes-lightning';
  const weight = model.tiedHead
    ? model.embedding!
    : baseParam(storage, 'lm_head', rows * width, quantized);
  weight.shape = [rows, width];
  const head: LinearParams = {
    name: 'lm_head',
    weight,
    inFeatures: width,
    outFeatures: rows,
    quantized,
  };
  if (!model.tiedHead) model.all.push(weight);
  // The head's bias is its own even where the weight is tied (BertLMPredictionHead.bias).
  if (arch.outputHeadBias) {
    head.bias = baseParam(storage, 'lm_head.bias', rows);
    model.all.push(head.bias);
  }
  model.head = head;
}
