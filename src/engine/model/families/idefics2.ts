// Idefics2 (transformers models/idefics2/modeling_idefics2.py): the text model
// AutoModel.from_config(text_config) builds (Mistral where it names none, read as its own family
// reads it), Idefics2VisionTransformer (SigLIP's encoder layers over the patches, no class
// token, post_layernorm) and Idefics2Connector: modality_projection, a gated MLP from the
// tower's width to the text's, then a perceiver resampler whose learned latents, attending over
// the projected patches and themselves, become the image's tokens.
import {
  PerceiverResampler,
  PlanValidationError,
  ProjectorLinear,
  VisionTower,
} from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { visionConfigOf } from '../family';
import { siglipTower } from './siglip';
import { visionWrapper, wrappedTextConfig } from './text-configs';

/** Idefics2VisionConfig's defaults (configuration_idefics2.py) are SiglipVisionConfig's
 * (siglipTower reads under the given config) but for 32-px patches. */
const IDEFICS2_VISION_DEFAULTS: Config = { patch_size: 32 };

/** Idefics2PerceiverConfig's defaults (configuration_idefics2.py). */
const PERCEIVER_DEFAULTS: Config = {
  resampler_n_latents: 64,
  resampler_depth: 3,
  resampler_n_heads: 16,
  resampler_head_dim: 96,
  num_key_value_heads: 4,
};

/** Idefics2Config.__init__'s text_config: the class its model_type names (mistral where it
 * names none), or MistralConfig at 32,768 positions where none is given. */
function idefics2Text(root: Config): Config {
  const text = wrappedTextConfig(root, 'mistral');
  return root.text_config ? text : { ...text, max_position_embeddings: 32768 };
}

/** perceiver_config over its defaults (hidden_size is the text's: Idefics2Config sets it so). */
function resamplerOf(root: ConfigReader): PerceiverResampler {
  const given = root.config.perceiver_config;
  const config = { ...PERCEIVER_DEFAULTS, ...(given && typeof given === 'object' ? given : {}) };
  const read = new ConfigReader(config as Config, `${root.prefix}.perceiver_config`);
  const resampler = {
    latents: read.numberOr(0, 'resampler_n_latents'),
    depth: read.numberOr(0, 'resampler_depth'),
    heads: read.numberOr(0, 'resampler_n_heads'),
    kvHeads: read.numberOr(0, 'num_key_value_heads'),
    headDim: read.numberOr(0, 'resampler_head_dim'),
  };
  // repeat_kv hands each K/V head a whole group of query heads
  if (!(resampler.kvHeads > 0 && resampler.heads % resampler.kvHeads === 0)) {
    read.fail('num_key_value_heads', `give a divisor of resampler_n_heads (${resampler.heads})`);
    throw new PlanValidationError(read.errors);
  }
  return resampler;
}

/** Idefics2Connector's linears in creation order, none biased: modality_projection's gate, up
 * and down (the tower's width to the text's intermediate and back to the text's), then each
 * perceiver layer's q, k, v and o and its MLP's gate, up and down (4 x the text width). */
function connectorLinears(
  visionWidth: number,
  textWidth: number,
  textIntermediate: number,
  resampler: PerceiverResampler,
): ProjectorLinear[] {
  const linear = (name: string, inFeatures: number, outFeatures: number) => ({
    name: `connector.${name}`,
    inFeatures,
    outFeatures,
    bias: false,
  });
  const projection = 'modality_projection';
  const { heads, kvHeads, headDim } = resampler;
  const perceiverLayer = (i: number) => {
    const at = `perceiver_resampler.layers.${i}`;
    return [
      linear(`${at}.self_attn.q_proj`, textWidth, heads * headDim),
      linear(`${at}.self_attn.k_proj`, textWidth, kvHeads * headDim),
      linear(`${at}.self_attn.v_proj`, textWidth, kvHeads * headDim),
      linear(`${at}.self_attn.o_proj`, heads * headDim, textWidth),
      linear(`${at}.mlp.gate_proj`, textWidth, 4 * textWidth),
      linear(`${at}.mlp.up_proj`, textWidth, 4 * textWidth),
      linear(`${at}.mlp.down_proj`, 4 * textWidth, textWidth),
    ];
  };
  return [
    linear(`${projection}.gate_proj`, visionWidth, textIntermediate),
    linear(`${projection}.up_proj`, visionWidth, textIntermediate),
    linear(`${projection}.down_proj`, textIntermediate, textWidth),
    ...Array.from({ length: resampler.depth }, (_, i) => perceiverLayer(i)).flat(),
  ];
}

/** Idefics2VisionTransformer (a position embedding per patch of image_size, post_layernorm, no
 * pooling head) and the connector; the latents and the resampler's RMSNorms (three a layer, one
 * after the last) among the projector's norms. */
function idefics2Tower(root: ConfigReader, textWidth: number): VisionTower {
  const vision = { ...IDEFICS2_VISION_DEFAULTS, ...visionConfigOf(root.config) };
  const siglip = siglipTower({ ...vision, vision_use_head: false }, [], 0, 0);
  const resampler = resamplerOf(root);
  const text = new ConfigReader(idefics2Text(root.config), `${root.prefix}.text_config`);
  const intermediate = text.numberOr(14336, 'intermediate_size');
  return {
    ...siglip,
    kind: 'idefics2_vision',
    tokensPerImage: resampler.latents,
    projector: connectorLinears(siglip.hiddenSize, textWidth, intermediate, resampler),
    projectorNormParameters: (resampler.latents + 3 * resampler.depth + 1) * textWidth,
    layout: 'idefics2',
    resampler,
  };
}

export const idefics2 = visionWrapper(
  'idefics2',
  idefics2Text,
  idefics2Tower,
  (tower) =>
    `Idefics2's images planned at ${tower.imageSize} px a side (${tower.patchesPerImage} patches, the processor's longest edge), each resampled to ${tower.tokensPerImage} tokens; smaller images make fewer patches, and do_image_splitting (off by default) makes four crops and the whole, each an image here (training.imagesPerSample)`,
);
