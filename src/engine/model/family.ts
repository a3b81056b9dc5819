// What a model family module tells the reader: its base layer shape, Hugging Face's defaults
// for fields a config.json leaves out, and what it reads on top of the common decoder fields.
import {
  DropoutConfig,
  LayerType,
  MlpKind,
  ModelArchitecture,
  NormKind,
  PlanValidationError,
} from '../vocabulary';
import { Config, ConfigReader, withFields } from './config-reader';

/** What the family modules see of the config being read. */
export interface FamilyContext {
  /** The model_type after aliases (falcon for RefinedWeb). */
  type: string;
  /** The model_type as written (refinedweb). */
  rawType: string;
  /** The whole config.json, where `read` may hold only its text_config. */
  root: Config;
}

export interface Family {
  /** Hugging Face model_type values this module reads. */
  types: string[];
  mlp: MlpKind;
  norm: NormKind;
  normsPerLayer: number;
  /** Linears carry biases everywhere (GPT-2, BLOOM, GPT-NeoX, Phi, BERT). */
  biasEverywhere?: (read: ConfigReader) => boolean;
  /** The dropouts the family's Hugging Face code applies through nn.Dropout modules, which
   * TRL's disable_dropout sets to p = 0 (trl/trainer/utils.py disable_dropout_in_model); a
   * dropout through F.dropout with a config float stays. Absent: none recorded. */
  dropoutModules?: (keyof DropoutConfig)[];
  /** Hugging Face's defaults for fields config.json may leave out (configuration_<family>.py),
   * or a function of the config where a default follows from other fields. */
  defaults?: Config | ((config: Config) => Config);
  /** The text stack's fields when they sit under text_config (multimodal checkpoints). */
  textConfig?: (root: Config) => Config;
  /** `refine` reads the MoE block under the family's own names (HunYuan's num_experts and
   * moe_topk), so the common num_experts / num_experts_per_tok reading stays out of it. */
  readsOwnMoe?: boolean;
  /** The attention's head size is width / heads, no head_dim read (BartAttention raises
   * ValueError where the heads do not divide embed_dim): the config names a refusal gives. */
  wholeHeads?: { width: string; heads: string };
  /** Family-specific fields, read after the common decoder fields. */
  refine?: (arch: ModelArchitecture, read: ConfigReader, context: FamilyContext) => void;
  /** A wrapper whose text stack is another family's model (LLaVA's AutoModel of text_config):
   * that config, with its own model_type, read as its family reads it; then `attach` adds
   * what the wrapper puts around it (the image encoder). */
  wrapsText?: {
    textConfig: (root: Config) => Config;
    attach: (arch: ModelArchitecture, root: ConfigReader) => void;
  };
}

/** `text_config` where the checkpoint has one (new transformers saves), else the root. */
export function textConfigOrRoot(root: Config): Config {
  const text = root.text_config;
  return text && typeof text === 'object' ? withFields(root, text as Config) : root;
}

/** The config's `vision_config` object, or an empty one. */
export function visionConfigOf(root: Config): Config {
  const vision = root.vision_config;
  return vision && typeof vision === 'object' ? (vision as Config) : {};
}

/** An image encoder's shape as every vision_config names it (hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads), read over the family's defaults. */
export function towerShape(read: ConfigReader) {
  return {
    layers: read.numberOr(0, 'num_hidden_layers'),
    hiddenSize: read.numberOr(0, 'hidden_size'),
    intermediateSize: read.numberOr(0, 'intermediate_size'),
    heads: read.numberOr(0, 'num_attention_heads'),
  };
}

/** Indices 0..n-1 where `test` holds. */
export function indicesWhere(n: number, test: (index: number) => boolean): number[] {
  return Array.from({ length: n }, (_, index) => index).filter(test);
}

/** no_rope_layers: 1 where the layer applies RoPE; by default every interval-th layer does not
 * (Llama4TextConfig, SmolLM3Config: no_rope_layer_interval 4). */
export function ropeFlags(read: ConfigReader, layers: number): number[] {
  const given = read.integers('no_rope_layers');
  if (given && given.length > 0) return given;
  const interval = read.numberOr(4, 'no_rope_layer_interval');
  return Array.from({ length: layers }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));
}

/** The layers whose flag in no_rope_layers is 0. */
export function noRopeIndices(flags: number[]): number[] {
  return indicesWhere(flags.length, (i) => flags[i] === 0);
}

/** layer_types where the config lists them, else sliding-window layers with every
 * `pattern`-th one full (Gemma3TextConfig, Cohere2Config, Olmo3Config). */
export function slidingLayerTypes(config: Config, layers: number, pattern: number): LayerType[] {
  if (Array.isArray(config.layer_types)) return config.layer_types as LayerType[];
  return Array.from({ length: layers }, (_, i) =>
    (i + 1) % pattern ? 'sliding_attention' : 'full_attention',
  );
}

/** Whether the router divides its top-k weights by their sum: `if self.norm_topk_prob:` in
 * Qwen2MoeSparseMoeBlock, Qwen3MoeSparseMoeBlock and OlmoeTopKRouter (configs default it to
 * False) and DeepseekV3MoE.route_tokens_to_experts (True), read where the config has no `moe`. */
export function readNormTopkProb(arch: ModelArchitecture, read: ConfigReader, byDefault: boolean) {
  if (!arch.moe || read.config.moe) return;
  const given = read.config.norm_topk_prob;
  arch.moe.renormalize = typeof given === 'boolean' ? given : byDefault;
}

/** The note a model with layers that mix tokens through a fixed state carries: they keep no
 * keys or values, and serving counts that state (inference/kv-cache.ts). */
export function fixedStateNote(type: string, layers: string): string {
  return `${type}: ${layers} keep no keys or values; serving counts each sequence's fixed state instead (the convolution's last inputs, and a scan's state)`;
}

/** A config's per-layer types as the model code reads them (layer i reads entry i, so a longer
 * list leaves its tail unread): the first `layers` entries, each one of `allowed`, else a 400
 * naming layer_types; undefined where the config gives no list. */
export function givenLayerTypes<T extends string>(
  read: ConfigReader,
  given: unknown,
  layers: number,
  allowed: readonly T[],
): T[] | undefined {
  if (!Array.isArray(given)) return undefined;
  const types = given.slice(0, layers) as T[];
  if (types.length < layers || !types.every((t) => allowed.includes(t))) {
    const names = allowed.map((t) => `'${t}'`).join(' or ');
    read.fail('layer_types', `give ${layers} entries, each ${names}`);
    throw new PlanValidationError(read.errors);
  }
  return types;
}

/** The sparse layers of Qwen2-MoE, Qwen3-MoE and Qwen3-Next (Qwen2MoeDecoderLayer.__init__):
 * layer i routes unless mlp_only_layers names it, and only where (i + 1) is a multiple of
 * decoder_sparse_step; the others run a dense MLP of intermediate_size. */
export function readSparseLayers(arch: ModelArchitecture, read: ConfigReader): void {
  if (!arch.moe || read.config.moe) return;
  const step = read.numberOr(1, 'decoder_sparse_step');
  const dense = new Set(read.integers('mlp_only_layers') ?? []);
  if (step === 1 && dense.size === 0) return;
  arch.moe.layers = indicesWhere(arch.numLayers, (i) => !dense.has(i) && (i + 1) % step === 0);
}

/** OLMo's and OLMoE's clip_qkv clamps q, k and v in place (query_states.clamp_), whose saved
 * tensors the planner does not model: such configs are refused by the field. */
export function refuseClipQkv(read: ConfigReader): void {
  if (typeof read.config.clip_qkv !== 'number') return;
  read.fail('clip_qkv', 'clamped q, k and v (clip_qkv) are not planned yet: give clip_qkv null');
  throw new PlanValidationError(read.errors);
}
