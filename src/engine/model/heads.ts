// The model's ends as its code names them: a sequence classifier's modules (and the copies PEFT
// trains of them), a masked LM's transform, the linears there that LoRA can adapt besides the
// layers' own, and the names LoRA's targets reach the token embedding and the head by; one
// table per family (END_MODULES).
import { LoraSettings, ModelArchitecture, normElementsOf } from '../vocabulary';
import { pathMatches, trailingNames } from './lora-modules';

/** A sequence classifier that pools the first token through a dense layer (h x h) before the
 * label projection: the two modules' names, whether the first token is dropped out first, and
 * the pooler's activation. */
export interface PooledHead {
  pooler: string;
  classifier: string;
  dropoutFirst: boolean;
  activation: 'tanh' | 'relu' | 'gelu';
  /** A norm after the activation (ModernBertPredictionHead's `norm`), by this path. */
  norm?: string;
}

/** The modules at a family's ends where its code names them otherwise than a Llama-style
 * decoder's: its pooled classifier head, its masked-LM transform's dense (by module path), and
 * the names LoRA's targets reach its token embedding and vocabulary head by. */
interface EndModules {
  pooled?: PooledHead;
  /** The masked-LM transform's dense by its module path: BertOnlyMLMHead's
   * cls.predictions.transform.dense, RobertaLMHead's lm_head.dense, ElectraForMaskedLM's
   * generator_predictions.dense, DistilBertForMaskedLM's vocab_transform. */
  maskedLmDense?: string;
  /** Target names of the token embedding; absent, embed_tokens. */
  embedding?: string[];
  /** Target names of the vocabulary head; absent, lm_head and torchtune's output. */
  head?: string[];
}

// BertPooler (tanh) and BertForSequenceClassification.classifier; RobertaClassificationHead's
// dense and out_proj, after a dropout on the first token, and ElectraClassificationHead, the
// same with GELU (get_activation('gelu')); DistilBERT's pre_classifier (through ReLU) and
// classifier. Other families score every token.
const BERT_HEAD: PooledHead = {
  pooler: 'pooler.dense',
  classifier: 'classifier',
  dropoutFirst: false,
  activation: 'tanh',
};
const ROBERTA_HEAD: PooledHead = {
  pooler: 'classifier.dense',
  classifier: 'classifier.out_proj',
  dropoutFirst: true,
  activation: 'tanh',
};

// LoRA's end targets as PEFT matches them (a path or its trailing components). A family's own
// names replace the common ones for that end, which match nothing there (GPT-2 has no
// embed_tokens: PEFT adapts nothing for it) or a module PEFT cannot wrap (RoBERTa's lm_head is
// RobertaLMHead, BERT's `output`s are BertSelfOutput and BertOutput: "Target module ... is not
// supported"); torchtune's `output` runs only Llama-style decoders (recipes/index.ts nativeGap),
// none of these. GPT-2's, GPT-J's, CodeGen's, GPT-Neo's and MPT's transformer.wte; BLOOM's and
// Falcon's word_embeddings; GPT-NeoX's embed_in and embed_out; BERT's copies'
// embeddings.word_embeddings and masked-LM decoders; T5's shared (its stacks' embed_tokens are
// the same module, which named_modules() yields once, as shared); Mamba's embeddings.
const LM_HEAD = ['lm_head'];
const WTE: EndModules = { embedding: ['wte'], head: LM_HEAD };
const WORD_EMBEDDINGS: EndModules = { embedding: ['word_embeddings'], head: LM_HEAD };
const BERT: EndModules = {
  pooled: BERT_HEAD,
  maskedLmDense: 'cls.predictions.transform.dense',
  embedding: ['word_embeddings'],
  head: ['decoder', 'predictions.decoder'],
};
const ROBERTA: EndModules = {
  pooled: ROBERTA_HEAD,
  maskedLmDense: 'lm_head.dense',
  embedding: ['word_embeddings'],
  head: ['decoder', 'lm_head.decoder'],
};
const DEBERTA: EndModules = { ...BERT, pooled: { ...BERT_HEAD, activation: 'gelu' } };
const END_MODULES: Record<string, EndModules> = {
  gpt2: WTE,
  gptj: WTE,
  codegen: WTE,
  gpt_neo: WTE,
  mpt: WTE,
  bloom: WORD_EMBEDDINGS,
  falcon: WORD_EMBEDDINGS,
  gpt_neox: { embedding: ['embed_in'], head: ['embed_out'] },
  bert: BERT,
  roberta: ROBERTA,
  'xlm-roberta': ROBERTA,
  camembert: ROBERTA, // modeling_camembert.py: RoBERTa's heads copied
  electra: {
    pooled: { ...ROBERTA_HEAD, activation: 'gelu' },
    maskedLmDense: 'generator_predictions.dense',
    embedding: ['word_embeddings'],
    head: ['generator_lm_head'],
  },
  // modeling_deberta_v2.py DebertaV2ForSequenceClassification: ContextPooler's dense and GELU
  // over the first token (its dropout, pooler_dropout, is 0 by default), then dropout and the
  // classifier; DebertaV2ForMaskedLM's legacy head is BERT's (cls.predictions).
  'deberta-v2': DEBERTA,
  deberta: DEBERTA, // modeling_deberta.py: the same ContextPooler, classifier and legacy head
  // modeling_modernbert.py: ModernBertPredictionHead (dense, GELU, norm) before the classifier,
  // and before the decoder (tied to tok_embeddings) of the masked LM
  modernbert: {
    pooled: {
      pooler: 'head.dense',
      classifier: 'classifier',
      dropoutFirst: false,
      activation: 'gelu',
      norm: 'head.norm',
    },
    maskedLmDense: 'head.dense',
    embedding: ['tok_embeddings'],
    head: ['decoder'],
  },
  distilbert: {
    pooled: {
      pooler: 'pre_classifier',
      classifier: 'classifier',
      dropoutFirst: false,
      activation: 'relu',
    },
    maskedLmDense: 'vocab_transform',
    embedding: ['word_embeddings'],
    head: ['vocab_projector'],
  },
  t5: { embedding: ['shared'], head: LM_HEAD },
  umt5: { embedding: ['shared'], head: LM_HEAD },
  mt5: { embedding: ['shared'], head: LM_HEAD },
  bart: { embedding: ['shared'], head: LM_HEAD }, // BartModel.shared, the stacks' embed_tokens tied
  mbart: { embedding: ['shared'], head: LM_HEAD },
  marian: { embedding: ['shared'], head: LM_HEAD }, // MarianModel.shared (shared stacks' embeddings)
  pegasus: { embedding: ['shared'], head: LM_HEAD },
  m2m_100: { embedding: ['shared'], head: LM_HEAD },
  mamba: { embedding: ['embeddings'], head: LM_HEAD },
  falcon_mamba: { embedding: ['embeddings'], head: LM_HEAD }, // FalconMambaModel.embeddings
  mamba2: { embedding: ['embeddings'], head: LM_HEAD },
};

function endModules(arch: Pick<ModelArchitecture, 'modelType'>): EndModules {
  return END_MODULES[arch.modelType ?? ''] ?? {};
}

/** The model's pooled sequence-classifier head, if its family pools the first token. */
export function pooledHead(arch: ModelArchitecture): PooledHead | undefined {
  return endModules(arch).pooled;
}

/** Target names that adapt the ends of a model whose code uses the common names: the output
 * head (Hugging Face's lm_head; torchtune's apply_lora_to_output on `output`) and the token
 * embedding (PEFT's lora.Embedding on embed_tokens). 'all-linear' leaves both alone (PEFT
 * excludes the output layer). */
const LORA_HEAD_TARGETS = ['lm_head', 'output'];
const LORA_EMBEDDING_TARGETS = ['embed_tokens'];

/** The names that reach the model's head and token embedding: its own modules' where its code
 * names an end otherwise, else the common ones; a classifier has no vocabulary head. */
export function loraEndTargets(
  arch: Pick<ModelArchitecture, 'modelType' | 'sequenceClassificationLabels'>,
): {
  head: string[];
  embedding: string[];
} {
  const own = endModules(arch);
  const head = arch.sequenceClassificationLabels ? [] : (own.head ?? LORA_HEAD_TARGETS);
  return { head, embedding: own.embedding ?? LORA_EMBEDDING_TARGETS };
}

/** A *ForSequenceClassification head, which replaces the vocabulary head: BERT's pooler (h x h
 * + h) and classifier (h x labels + labels), RoBERTa's dense and out_proj alike, or a decoder's
 * bias-free score (h x labels); 0 for a language model. */
export function classifierParameters(arch: ModelArchitecture): number {
  const linears = classifierModules(arch).reduce((sum, m) => sum + m.weight + m.bias, 0);
  return linears + pooledNormElements(arch);
}

/** A pooled head's norm after its activation (ModernBERT's head.norm); 0 where it has none. */
export function pooledNormElements(arch: ModelArchitecture): number {
  if (!arch.sequenceClassificationLabels || !pooledHead(arch)?.norm) return 0;
  return normElementsOf(arch.norm, arch.hiddenSize);
}

/** A classifier head's linears in module order: the pooled head's dense and label projection
 * (both with biases), or a decoder's bias-free score; none for a language model. */
export function classifierModules(
  arch: ModelArchitecture,
): { name: string; inFeatures: number; outFeatures: number; weight: number; bias: number }[] {
  const labels = arch.sequenceClassificationLabels;
  if (!labels) return [];
  const h = arch.hiddenSize;
  const pooled = pooledHead(arch);
  const linear = (name: string, outFeatures: number, bias: boolean) => ({
    name,
    inFeatures: h,
    outFeatures,
    weight: h * outFeatures,
    bias: bias ? outFeatures : 0,
  });
  if (!pooled) return [linear('score', labels, false)];
  const denseBias = arch.headDenseBias !== false;
  return [linear(pooled.pooler, h, denseBias), linear(pooled.classifier, labels, true)];
}

// PeftModelForSequenceClassification.__init__ (peft/peft_model.py): classifier_module_names =
// ["classifier", "score"] join modules_to_save, so each is wrapped in a ModulesToSaveWrapper
// (peft/utils/other.py): the original kept frozen, a deep copy trained in its place.
const PEFT_SAVED_CLASSIFIERS = ['classifier', 'score'];

/** Whether PEFT trains a copy of this classifier module beside the adapters: the module or the
 * module holding it is named in modules_to_save (RoBERTa's whole classifier head; BERT's and
 * DistilBERT's classifier, not their pooler or pre_classifier). */
export function peftSavesClassifier(name: string): boolean {
  return PEFT_SAVED_CLASSIFIERS.some((m) => name === m || name.startsWith(`${m}.`));
}

/** Elements of the classifier copies PEFT trains beside a sequence classifier's adapters. */
export function savedClassifierElements(arch: ModelArchitecture): number {
  return classifierModules(arch)
    .filter((m) => peftSavesClassifier(m.name))
    .reduce((sum, m) => sum + m.weight + m.bias, 0);
}

/** The masked-LM head's transform before the vocabulary projection: a dense h x h with its
 * bias and a norm of the model's kind (modeling_bert.py BertPredictionHeadTransform,
 * modeling_roberta.py RobertaLMHead's dense and layer_norm, modeling_distilbert.py
 * vocab_transform and vocab_layer_norm; ModernBertPredictionHead's dense without a bias and its
 * bias-free LayerNorm); 0 where the model has none or a classifier replaces the head. */
export function maskedLmTransformElements(arch: ModelArchitecture): number {
  if (!arch.maskedLmHead || arch.sequenceClassificationLabels) return 0;
  const h = arch.hiddenSize;
  return h * h + transformVectors(arch);
}

/** The transform's dense bias and norm: vectors of h. */
function transformVectors(arch: ModelArchitecture): number {
  const h = arch.hiddenSize;
  return (arch.headDenseBias !== false ? h : 0) + normElementsOf(arch.norm, h);
}

/** The transform's factored optimizer-state elements (Adafactor's rows and columns): the dense's
 * h + h, its bias and the norm's vectors whole. */
export function maskedLmTransformFactored(arch: ModelArchitecture): number {
  if (maskedLmTransformElements(arch) === 0) return 0;
  return 2 * arch.hiddenSize + transformVectors(arch);
}

/** A linear at the head end that LoRA can adapt besides the layers' own. */
export interface HeadLinear {
  role: 'transform' | 'pooler';
  /** The module's path as PEFT matches it. */
  path: string;
  inFeatures: number;
  outFeatures: number;
}

/** The head end's adaptable linears: the masked-LM transform's dense, and a pooled classifier's
 * dense where PEFT's modules_to_save does not hold it (BERT's pooler.dense, DistilBERT's
 * pre_classifier; RoBERTa's classifier.dense is inside the saved classifier, which PEFT's target
 * matching skips). */
export function headLinears(arch: ModelArchitecture): HeadLinear[] {
  const h = arch.hiddenSize;
  const linear = (role: HeadLinear['role'], path: string) => ({
    role,
    path,
    inFeatures: h,
    outFeatures: h,
  });
  const transform = endModules(arch).maskedLmDense;
  if (maskedLmTransformElements(arch) > 0 && transform) return [linear('transform', transform)];
  const pooler = classifierModules(arch).find((m) => m.name === pooledHead(arch)?.pooler);
  return pooler && !peftSavesClassifier(pooler.name) ? [linear('pooler', pooler.name)] : [];
}

/** The target names that reach the head end's adaptable linears. */
export function headLinearTargets(arch: ModelArchitecture): string[] {
  return headLinears(arch).flatMap((l) => trailingNames(l.path));
}

/** The head end's linears LoRA adapts: PEFT's 'all-linear' wraps every nn.Linear but the
 * output layer and the saved classifier, so each of them; a list, those one name matches. */
export function adaptedHeadLinears(arch: ModelArchitecture, lora: LoraSettings): HeadLinear[] {
  const targets = lora.targetModules;
  return headLinears(arch).filter(
    (l) => targets === 'all-linear' || targets.some((target) => pathMatches(l.path, target)),
  );
}
