// IBM Granite 3.x (modeling_granite.py): Llama's layer with four scalar multipliers
// (embedding_multiplier, residual_multiplier, attention_multiplier, logits_scaling). GraniteConfig
// defaults them to 1.0 and the model code applies them whatever their value, so the family has
// no field of its own: its recipe (recipes/index.ts) plans the scalar multiplications.
// Granite-MoE (modular_granitemoe.py): the same layer and multipliers around a sparse block in
// every layer, JetMoE's top-k gating and parallel experts (GraniteMoeMoE), no shared expert.
// Granite 4.0 (modular_granitemoehybrid.py): the same multipliers over Mamba-2 mixers (Bamba's)
// and attention layers without RoPE, each followed by Granite-MoE's block plus a shared MLP, or
// by the shared MLP alone where the model has no experts.
import { Config, ConfigReader } from '../config-reader';
import { Family, fixedStateNote, givenLayerTypes, indicesWhere } from '../family';
import { BAMBA_MIXER_DEFAULTS, bambaSsm } from './bamba';
import { LayerType, ModelArchitecture } from '../../vocabulary';
import { LLAMA_CONFIG_DEFAULTS } from './text-configs';

export const granite: Family = {
  types: ['granite'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
};

/** GraniteMoeConfig's defaults (configuration_granitemoe.py), LlamaConfig's shape:
 * intermediate_size is each expert's width. */
const GRANITE_MOE_DEFAULTS: Config = {
  ...LLAMA_CONFIG_DEFAULTS,
  attention_bias: false,
  num_local_experts: 8,
  num_experts_per_tok: 2,
};

export const graniteMoe: Family = {
  types: ['granitemoe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GRANITE_MOE_DEFAULTS,
  refine: (arch, read) => graniteMoeBlock(arch, read, 0),
};

/** GraniteMoeTopKGating (JetMoeTopKGating: softmax over the top k of fp32 logits) and, where
 * shared_intermediate_size is above 0, the shared MLP added after the experts
 * (GraniteMoeSharedDecoderLayer: moe_hidden_states + self.shared_mlp(hidden_states)). */
function graniteMoeBlock(arch: ModelArchitecture, read: ConfigReader, sharedByDefault: number) {
  if (!arch.moe || read.config.moe) return;
  const shared = read.numberOr(sharedByDefault, 'shared_intermediate_size');
  arch.moe.router = 'top-k-gating';
  arch.moe.sharedExperts = shared > 0 ? 1 : 0;
  arch.moe.sharedExpertIntermediateSize = shared;
}

/** Granite-MoE with a shared MLP (modular_granitemoeshared.py); GraniteMoeSharedConfig's
 * shared_intermediate_size defaults to 0, no shared MLP. */
export const graniteMoeShared: Family = {
  ...graniteMoe,
  types: ['granitemoeshared'],
  defaults: { ...GRANITE_MOE_DEFAULTS, shared_intermediate_size: 0 },
};

/** GraniteMoeHybridConfig's defaults (configuration_granitemoehybrid.py): every layer a Mamba-2
 * mixer where layer_types is absent (layers_block_type), 8 experts of intermediate_size, two a
 * token, and the shared MLP of shared_intermediate_size. */
const GRANITE_HYBRID_DEFAULTS: Config = {
  ...GRANITE_MOE_DEFAULTS,
  shared_intermediate_size: 1024,
  ...BAMBA_MIXER_DEFAULTS,
};

/** layer_types (older configs: layers_block_type): 'mamba' or 'attention' per layer; layer i
 * reads entry i, so a longer list leaves its tail unread. */
function hybridLayerTypes(read: ConfigReader, layers: number): LayerType[] {
  const given = read.config.layer_types ?? read.config.layers_block_type;
  const types =
    givenLayerTypes(read, given, layers, ['mamba', 'attention'] as const) ??
    Array.from({ length: layers }, () => 'mamba');
  return types.map((t) => (t === 'mamba' ? 'mamba2' : 'full_attention'));
}

/** Every layer's MLP: GraniteMoeHybridMoE plus the shared MLP where num_local_experts > 0,
 * else the shared MLP alone (GraniteMoeHybridMLP: input_linear of 2 x shared_intermediate_size,
 * chunk, act(gate) x up, output_linear). */
function graniteHybridMlp(arch: ModelArchitecture, read: ConfigReader): void {
  if (arch.moe) return graniteMoeBlock(arch, read, 1024);
  arch.intermediateSize = read.numberOr(1024, 'shared_intermediate_size');
  arch.fusedGateUp = true;
}

export const graniteMoeHybrid: Family = {
  types: ['granitemoehybrid'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: GRANITE_HYBRID_DEFAULTS,
  refine: (arch, read) => {
    arch.layerTypes = hybridLayerTypes(read, arch.numLayers);
    arch.notes = [fixedStateNote('granitemoehybrid', 'Mamba-2 layers')];
    arch.ssm = bambaSsm(read, arch.hiddenSize);
    graniteHybridMlp(arch, read);
    // position_embedding_type None or 'nope': no rotary module, q and k go to attention as
    // projected (GraniteMoeHybridModel.rotary_emb is None)
    if (read.config.position_embedding_type !== 'rope') {
      arch.noRopeLayers = indicesWhere(arch.numLayers, () => true);
    }
  },
};
