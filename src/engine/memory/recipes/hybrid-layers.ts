// Llama's decoder layer with another token mixer in some layers' place of attention (Bamba's
// and Granite 4.0's Mamba-2 mixers, LFM2's short convolution): the same norms, residual adds
// and MLP or sparse block around whichever mixer the layer runs.
import { Nn } from '../autograd/nn';
import { Tensor } from '../autograd/runtime';
import { ModelArchitecture } from '../../vocabulary';
import { isMoeLayer } from '../../model/layers';
import { LayerWeights } from '../model/rank-model';
import { hfLlamaLayer, hfLlamaRecipe, LlamaVariant } from './hf-llama';
import { addMoeWeights } from './hf-moe';
import { LayerInputs, LayerRecipe, LayerWeightsBuilder, WeightContext } from './recipe';

/** The mixer a hybrid runs where a layer does not attend. */
export interface LayerMixer {
  /** Whether layer `layer` runs this mixer rather than attention. */
  runs(layer: number): boolean;
  /** The mixer's own parameters, in its module's __init__ order. */
  addWeights(builder: LayerWeightsBuilder, context: WeightContext): void;
  forward(nn: Nn, x: Tensor, w: LayerWeights, inputs: LayerInputs): Tensor;
}

/** Layers of `variant` (Llama's layer with the family's knobs) whose mixer is `mixer` where it
 * runs, attention elsewhere; an MLP (gated, or one gate_up projection) or the sparse block
 * after either. */
export function llamaLayersWithMixer(
  arch: ModelArchitecture,
  variant: LlamaVariant,
  source: string,
  mixer: LayerMixer,
): LayerRecipe {
  const attentionLayers = hfLlamaRecipe(variant);
  return {
    source,
    weights(context, layer) {
      if (!mixer.runs(layer)) return attentionLayers.weights(context, layer);
      const builder = new LayerWeightsBuilder(context, layer);
      mixer.addWeights(builder, context);
      if (arch.moe && isMoeLayer(arch, layer)) addMoeWeights(builder, context, arch.moe);
      else builder.linears('gate_proj', 'up_proj', 'gate_up_proj', 'down_proj');
      const h = arch.hiddenSize;
      return builder.norm('input_layernorm', h).norm('post_attention_layernorm', h).build();
    },
    forward: (nn, x, w, inputs) =>
      mixer.runs(w.index)
        ? hfLlamaLayer(nn, x, w, inputs, variant, (h) => mixer.forward(nn, h, w, inputs))
        : attentionLayers.forward(nn, x, w, inputs),
  };
}
