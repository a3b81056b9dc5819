// Which layer recipe plans a model: its family's model code, as the request runs it.
import { ModelArchitecture, PlanRequest } from '../../vocabulary';
import { hfGpt2Recipe } from './hf-gpt2';
import { hfLlamaRecipe, LlamaVariant } from './hf-llama';
import { LayerRecipe } from './recipe';

/** The Llama-family variant a gated, RMSNorm architecture is. */
function llamaVariant(arch: ModelArchitecture): LlamaVariant {
  return {
    norms: arch.normsPerLayer === 4 ? 'sandwich' : 'pre',
    qkNorm: arch.qkNorm ? (arch.qkNormPerHead ? 'whole' : 'per-head') : undefined,
    activation: arch.activation.startsWith('gelu') ? 'gelu' : 'silu',
    fused: Boolean(arch.fusedQkv),
  };
}

export function layerRecipe(arch: ModelArchitecture, _request: PlanRequest): LayerRecipe {
  if (arch.modelType === 'gpt2') return hfGpt2Recipe(arch.dropout?.residual ?? 0);
  return hfLlamaRecipe(llamaVariant(arch));
}
