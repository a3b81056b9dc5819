// Assembles the parameters of one rank's stage: the embedding on the first stage, its layers
// from the recipe, the final norm and the head on the last (memory-model.md section 2).
import { countParameters, loraEnds } from '../../model/parameters';
import { paddedVocabSize, StageSpan } from '../../model/placement';
import { LayerRecipe, WeightContext } from '../recipes/recipe';
import { adapter, baseParam, LinearParams, RankModel } from './rank-model';

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
  if (span.hasEmbedding) {
    model.embedding = baseParam(storage, 'embed_tokens', rows * h);
    model.embedding.shape = [rows, h];
    model.all.push(model.embedding);
    if (counts.positionEmbedding > 0) {
      model.positions = baseParam(storage, 'position_embeddings', counts.positionEmbedding);
      model.all.push(model.positions);
    }
  }
  for (const layer of layers) {
    const weights = recipe.weights(context, layer);
    model.layers.push(weights);
    model.all.push(...weights.order);
  }
  if (span.hasHead) addHead(context, model, rows, span.hasEmbedding);
  addEndAdapters(context, model, rows);
  return model;
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
    model.all.push(model.head.lora.a, model.head.lora.b);
  }
}

/** The final norm and the output head; a tied head reads the embedding on the same stage. */
function addHead(context: WeightContext, model: RankModel, rows: number, hasEmbedding: boolean) {
  const { arch, storage } = context;
  const h = arch.hiddenSize;
  if (arch.finalNorm) {
    const withBias = arch.norm === 'layernorm';
    model.finalNorm = [baseParam(storage, 'norm', h)];
    if (withBias) model.finalNorm.push(baseParam(storage, 'norm.bias', h));
    model.all.push(...model.finalNorm);
  }
  model.tiedHead = arch.tieWordEmbeddings && hasEmbedding;
  const weight = model.tiedHead ? model.embedding! : baseParam(storage, 'lm_head', rows * h);
  weight.shape = [rows, h];
  const head: LinearParams = {
    name: 'lm_head',
    weight,
    inFeatures: h,
    outFeatures: rows,
    quantized: false,
  };
  if (arch.outputHeadBias) head.bias = baseParam(storage, 'lm_head.bias', rows);
  if (!model.tiedHead) model.all.push(weight, ...(head.bias ? [head.bias] : []));
  model.head = head;
}
