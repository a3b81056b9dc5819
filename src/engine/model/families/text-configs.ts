// The text stack of a vision-language wrapper (LLaVA, LLaVA-NeXT, InternVL, Mistral 3) as its
// config class builds it: AutoModel of text_config, the config class its model_type names,
// over that class's defaults (a composite config saves text_config as its difference from
// them), and the family builder the wrappers share.
import { ModelArchitecture, VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';

/** LlamaConfig's defaults (configuration_llama.py): what LLaVA's text_config, saved as its
 * difference from them, leaves out, and the shape the config classes copied from it default to
 * (GraniteMoe, HunYuan dense, OLMo). A Llama config.json read alone names its shape. */
export const LLAMA_CONFIG_DEFAULTS: Config = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
};

/** MistralConfig's defaults (configuration_mistral.py). */
export const MISTRAL_CONFIG_DEFAULTS: Config = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  hidden_act: 'silu',
  max_position_embeddings: 4096 * 32,
  tie_word_embeddings: false,
  sliding_window: 4096,
};

/** Qwen2Config's defaults (configuration_qwen2.py). */
export const QWEN2_CONFIG_DEFAULTS: Config = {
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  hidden_act: 'silu',
  max_position_embeddings: 32768,
  tie_word_embeddings: false,
};

/** GemmaConfig's defaults (configuration_gemma.py): gemma-7b's shape. */
export const GEMMA_CONFIG_DEFAULTS: Config = {
  vocab_size: 256000,
  hidden_size: 3072,
  intermediate_size: 24576,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  head_dim: 256,
  hidden_act: 'gelu_pytorch_tanh',
  max_position_embeddings: 8192,
  tie_word_embeddings: true,
};

/** Cohere2Config's defaults (configuration_cohere2.py): what AyaVisionConfig builds where it is
 * given no text_config. */
const COHERE2_CONFIG_DEFAULTS: Config = {
  vocab_size: 256000,
  hidden_size: 8192,
  intermediate_size: 22528,
  logit_scale: 0.0625,
  num_hidden_layers: 40,
  num_attention_heads: 64,
  max_position_embeddings: 8192,
  tie_word_embeddings: true,
  rope_theta: 10000,
  sliding_window: 4096,
  sliding_window_pattern: 4,
};

/** The text config classes wrappers build, by model_type (Gemma-2's defaults are its family's). */
const TEXT_CLASS_DEFAULTS: Record<string, Config> = {
  llama: LLAMA_CONFIG_DEFAULTS,
  mistral: MISTRAL_CONFIG_DEFAULTS,
  qwen2: QWEN2_CONFIG_DEFAULTS,
  gemma: GEMMA_CONFIG_DEFAULTS,
  cohere2: COHERE2_CONFIG_DEFAULTS,
};

/** text_config as the wrapper's __init__ builds it: the class its model_type names
 * (`defaultType` where it names none) over that class's defaults; that class's defaults alone
 * where none is given. */
export function wrappedTextConfig(root: Config, defaultType: string): Config {
  const given = root.text_config;
  const text = given && typeof given === 'object' ? (given as Config) : {};
  const type = typeof text.model_type === 'string' ? text.model_type : defaultType;
  return { ...(TEXT_CLASS_DEFAULTS[type] ?? {}), ...text, model_type: type };
}

/** A vision-language wrapper: its text stack read as its own family reads it (textConfig), the
 * tower `towerOf` builds at the text width, the root's tie_word_embeddings where it ties (LLaVA
 * forwards a tied text_config's to it), and a note on how images are planned where one helps. */
export function visionWrapper(
  type: string,
  textConfig: (root: Config) => Config,
  towerOf: (root: ConfigReader, textWidth: number) => VisionTower,
  note?: (tower: VisionTower) => string,
): Family {
  const attach = (arch: ModelArchitecture, root: ConfigReader) => {
    arch.vision = towerOf(root, arch.hiddenSize);
    if (root.config.tie_word_embeddings === true) arch.tieWordEmbeddings = true;
    if (note) arch.notes = [...(arch.notes ?? []), note(arch.vision)];
  };
  // the text stack's family reads its own fields (wrapsText); these describe nothing read here
  return {
    types: [type],
    mlp: 'gated',
    norm: 'rmsnorm',
    normsPerLayer: 2,
    wrapsText: { textConfig, attach },
  };
}
