// Mistral Small 3.1 and 3.2, and Ministral 3 (modular_mistral3.py): the text model
// AutoModel.from_config(text_config) builds (Mistral's, or Ministral 3's with its scaled query:
// read as its own family reads it) and a Pixtral image encoder (modeling_pixtral.py
// PixtralVisionModel) joined by Mistral3MultiModalProjector. Trained on text alone, the encoder
// and projector sit the step out.
import { VisionTower } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { towerShape, visionConfigOf } from '../family';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** The text_config Mistral3Config builds when none is given (configuration_mistral3.py), on
 * MistralConfig's defaults (untied head). */
const MISTRAL3_TEXT_DEFAULTS: Config = {
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 5120,
  intermediate_size: 32768,
  max_position_embeddings: 131072,
  num_attention_heads: 32,
  num_hidden_layers: 40,
  num_key_value_heads: 8,
  vocab_size: 131072,
  tie_word_embeddings: false,
};

/** The vision_config Mistral3Config builds when none is given. */
const PIXTRAL_DEFAULTS: Config = {
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  num_channels: 3,
  image_size: 1540,
  patch_size: 14,
};

/** PixtralVisionModel: patch_conv (Conv2d without bias), ln_pre (RMSNorm), then layers of
 * attention_norm, q/k/v/o without biases, ffn_norm and PixtralMLP (gate, up, down; no biases);
 * its 2-D RoPE has no parameters. An image is planned at image_size square, the processor's
 * longest edge. The projector: norm (RMSNorm of the vision width), the patch merger's
 * merging_layer (spatial_merge_size^2 patches, unfolded, to one), linear_1 to the text width,
 * GELU, linear_2 (biases by multimodal_projector_bias). */
function pixtralTower(root: Config, textWidth: number): VisionTower {
  const read = new ConfigReader({ ...PIXTRAL_DEFAULTS, ...visionConfigOf(root) }, 'vision_config');
  const h = read.numberOr(0, 'hidden_size');
  const patch = read.numberOr(0, 'patch_size');
  const image = read.numberOr(0, 'image_size');
  const merge = typeof root.spatial_merge_size === 'number' ? root.spatial_merge_size : 2;
  const bias = root.multimodal_projector_bias === true;
  const patches = Math.floor(image / patch) ** 2;
  return {
    kind: 'pixtral',
    ...towerShape(read),
    patchSize: patch,
    imageSize: image,
    patchesPerImage: patches,
    tokensPerImage: patches / (merge * merge),
    norm: 'rmsnorm',
    mlp: 'gated',
    // PixtralAttentionLayer: attention.{q,k,v,o}_proj, feed_forward.{gate,up,down}_proj
    linearNames: [
      ...['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((n) => `attention.${n}`),
      ...['gate_proj', 'up_proj', 'down_proj'].map((n) => `feed_forward.${n}`),
    ],
    attentionBias: false,
    mlpBias: false,
    embeddingParameters: read.numberOr(0, 'num_channels') * patch * patch * h + h,
    projector: [
      {
        name: 'patch_merger.merging_layer',
        inFeatures: h * merge * merge,
        outFeatures: h,
        bias: false,
      },
      { name: 'linear_1', inFeatures: h, outFeatures: textWidth, bias },
      { name: 'linear_2', inFeatures: textWidth, outFeatures: textWidth, bias },
    ],
    projectorNormParameters: h,
  };
}

/** Mistral3Config.__init__'s text_config: mistral where it names no model_type; where none is
 * given, the MistralConfig it builds (under the root's own fields, as a flat config gives them). */
function mistral3Text(root: Config): Config {
  if (root.text_config && typeof root.text_config === 'object')
    return wrappedTextConfig(root, 'mistral');
  return { ...MISTRAL3_TEXT_DEFAULTS, ...root, model_type: 'mistral' };
}

export const mistral3 = visionWrapper('mistral3', mistral3Text, (root, textWidth) =>
  pixtralTower(root.config, textWidth),
);
