// Assembles the parameters of one rank's stage: the embedding on the first stage, its layers
// from the recipe, the final norm and the head on the last (memory-model.md section 2).
import { countParameters, loraEnds } from '../../model/parameters';
import { paddedVocabSize, StageSpan } from '../../model/placement';
import { LayerRecipe, WeightContext } from '../recipes/recipe';
import { buildVisionWeights } from '../recipes/vision';
import {
  adapter,
  baseParam,
  LinearParams,
  loraParamsOf,
  normParams,
  RankModel,
} from './rank-model';

/** The stage's parameters in the order the model code creates them; `layers` are the stage's
 * layer indices (all of them, or the subset a truncated simulation keeps). */
export function buildRankModel(
  context: WeightContext,
  span: StageSpan,
  recipe: LayerRecipe,
  layers: number[],
): RankModel {
  const { arch, storage, tensorParallel } = context;
  const h = arch.hiddenSize;
  const rows = paddedVocabSize(arch.vocabSize, tensorParallel) / tensorParallel;
  const counts = countParameters(arch);
  const model: RankModel = { layers: [], tiedHead: false, all: [] };
  if (span.hasEmbedding && arch.vision) {
    // Gemma3Model, Qwen2VLModel, Llama4ForConditionalGeneration, MllamaModel: the vision tower
    // and projector are created before the language model.
    model.vision = buildVisionWeights(storage, arch.vision);
    model.all.push(...model.vision.all);
  }
  if (span.hasEmbedding) {
    // Mllama's embedding has 8 more rows than its head (embeddingVocabSize).
    const inputRows = arch.embeddingVocabSize
      ? paddedVocabSize(arch.embeddingVocabSize, tensorParallel) / tensorParallel
      : rows;
    model.embedding = baseParam(storage, 'embed_tokens', inputRows * h);
    model.embedding.shape = [inputRows, h];
    model.all.push(model.embedding);
    if (counts.positionEmbedding > 0) {
      model.positions = baseParam(storage, 'position_embeddings', counts.positionEmbedding);
      model.all.push(model.positions);
    }
    if (arch.embeddingNorm) {
      // BLOOM's word_embeddings_layernorm, BERT's embeddings.LayerNorm.
      model.embeddingNorm = endNorm(context, 'embedding_norm');
      model.all.push(...model.embeddingNorm);
    }
  }
  for (const layer of layers) {
    const weights = recipe.weights(context, layer);
    model.layers.push(weights);
    model.all.push(...weights.order);
  }
  if (span.hasHead && arch.sequenceClassificationLabels) addClassifier(context, model);
  else if (span.hasHead) addHead(context, model, rows, span.hasEmbedding);
  addEndAdapters(context, model, rows);
  return model;
}

/** A hidden-sized norm at the model's ends, as the norm kind has it. */
function endNorm({ arch, storage }: WeightContext, name: string) {
  return normParams(storage, arch.norm, name, arch.hiddenSize);
}

/** *ForSequenceClassification: BERT's pooler (a dense layer over the first token) and
 * classifier (modeling_bert.py BertForSequenceClassification), or a decoder's bias-free `score`
 * over every token, pooled at the last (modeling_llama.py via GenericForSequenceClassification). */
function addClassifier(context: WeightContext, model: RankModel): void {
  const { arch, storage } = context;
  const h = arch.hiddenSize;
  const labels = arch.sequenceClassificationLabels!;
  const linear = (name: string, outFeatures: number, bias: boolean): LinearParams => ({
    name,
    weight: baseParam(storage, name, outFeatures * h),
    bias: bias ? baseParam(storage, `${name}.bias`, outFeatures) : undefined,
    inFeatures: h,
    outFeatures,
    quantized: false,
  });
  const pooled = arch.modelType === 'bert';
  if (arch.finalNorm) {
    model.finalNorm = endNorm(context, 'norm');
    model.all.push(...model.finalNorm);
  }
  model.classifier = {
    pooler: pooled ? linear('pooler.dense', h, true) : undefined,
    classifier: pooled ? linear('classifier', labels, true) : linear('score', labels, false),
  };
  for (const l of [model.classifier.pooler, model.classifier.classifier]) {
    if (l) model.all.push(l.weight, ...(l.bias ? [l.bias] : []));
  }
}

/** LoRA on the ends (PEFT's lm_head and embed_tokens targets, torchtune's apply_lora_to_output):
 * the head's adapter as any linear's (h in, this rank's vocabulary rows out); the embedding's
 * A over the vocabulary rows and B out to h. Created after the base model, as PEFT does. */
function addEndAdapters(context: WeightContext, model: RankModel, rows: number): void {
  const { storage, arch } = context;
  const lora =
    storage.request.training.method === 'full' ? undefined : storage.request.training.lora;
  if (!lora) return;
  const ends = loraEnds(lora);
  const h = arch.hiddenSize;
  if (ends.embedding && model.embedding) {
    const { a, b } = adapter(
      storage,
      'embed_tokens',
      { inFeatures: rows, outFeatures: h },
      1,
      lora,
    );
    model.embeddingLora = { a, b, rank: lora.rank };
    model.all.push(a, b);
  }
  if (ends.head && model.head) {
    model.head.lora = adapter(storage, 'lm_head', { inFeatures: h, outFeatures: rows }, 1, lora);
    model.all.push(...loraParamsOf(model.head.lora));
  }
}

/** The final norm and the output head; a tied head reads the embedding on the same stage. */
function addHead(context: WeightContext, model: RankModel, rows: number, hasEmbedding: boolean) {
  const { arch, storage } = context;
  const h = arch.hiddenSize;
  if (arch.finalNorm) {
    model.finalNorm = endNorm(context, 'norm');
    model.all.push(...model.finalNorm);
  }
  model.tiedHead = arch.tieWordEmbeddings && hasEmbedding;
  // Lightning's BitsandbytesPrecision quantises every nn.Linear, the output head included.
  const { training, runtime } = storage.request;
  const quantized =
    !model.tiedHead &&
    training.method === 'qlora' &&
    runtime.quantizationKernel === 'bitsandbytes-lightning';
  const weight = model.tiedHead
    ? model.embedding!
    : baseParam(storage, 'lm_head', rows * h, quantized);
  weight.shape = [rows, h];
  const head: LinearParams = {
    name: 'lm_head',
    weight,
    inFeatures: h,
    outFeatures: rows,
    quantized,
  };
  if (arch.outputHeadBias) head.bias = baseParam(storage, 'lm_head.bias', rows);
  if (!model.tiedHead) model.all.push(weight, ...(head.bias ? [head.bias] : []));
  model.head = head;
}
