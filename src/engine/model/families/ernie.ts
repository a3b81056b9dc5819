// ERNIE 4.5 dense (modular_ernie4_5.py): Llama's layer with `use_bias` on every projection, a
// head_dim of its own, and RoPE computed in fp32 with GLM's interleaved rotate_half. ERNIE 4.5
// MoE (modular_ernie4_5_moe.py): the same attention and rotary, sparse blocks on the layers its
// config names, an fp32 router.
import { Config, ConfigReader } from '../config-reader';
import { Family, indicesWhere } from '../family';
import { ModelArchitecture } from '../../vocabulary';
import { uncountedMtpNote } from './deepseek';

/** Ernie4_5Config's defaults (configuration_ernie4_5.py): ERNIE-4.5-0.3B's shape. */
const ERNIE_DEFAULTS: Config = {
  vocab_size: 103424,
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 18,
  num_attention_heads: 16,
  num_key_value_heads: 2,
  head_dim: 128,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  use_bias: false,
};

export const ernie: Family = {
  types: ['ernie4_5'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.config.use_bias === true,
  defaults: ERNIE_DEFAULTS,
};

/** Ernie4_5_MoeConfig's defaults (configuration_ernie4_5_moe.py): ERNIE-4.5-21B-A3B's shape. */
const ERNIE_MOE_DEFAULTS: Config = {
  vocab_size: 103424,
  hidden_size: 2560,
  intermediate_size: 12288,
  num_hidden_layers: 28,
  num_attention_heads: 20,
  num_key_value_heads: 4,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  use_bias: false,
};

/** Ernie4_5_MoeDecoderLayer: a sparse block where (i + 1) % moe_layer_interval == 0 between
 * moe_layer_start_index and moe_layer_end_index (-1: the last layer), the dense MLP elsewhere.
 * Ernie4_5_MoeSparseMoeBlock: Ernie4_5_MoeTopKRouter (an fp32 weight, `_keep_in_fp32_modules_strict`,
 * and the frozen fp32 e_score_correction_bias of Ernie4_5_MoeStatics), v5's experts and one
 * shared MLP of moe_num_shared_experts x moe_intermediate_size. */
function readErnieMoe(arch: ModelArchitecture, read: ConfigReader): void {
  if (read.config.moe) return;
  const start = read.numberOr(1, 'moe_layer_start_index');
  const endIndex = read.numberOr(-1, 'moe_layer_end_index');
  const end = endIndex === -1 ? arch.numLayers - 1 : endIndex;
  const interval = read.numberOr(1, 'moe_layer_interval');
  const width = read.numberOr(1536, 'moe_intermediate_size');
  arch.moe = {
    numExperts: read.numberOr(64, 'moe_num_experts'),
    expertsPerToken: read.numberOr(6, 'moe_k'),
    expertIntermediateSize: width,
    sharedExperts: read.numberOr(2, 'moe_num_shared_experts'),
    sharedExpertIntermediateSize: width,
    firstDenseLayers: 0,
    routerBias: true,
    routerBiasFp32: true,
    routerWeightFp32: true,
    router: 'biased-softmax',
    sharedExpertFirst: true, // shared_output = self.shared_experts(hidden_states), then the gate
    layers: indicesWhere(arch.numLayers, (i) => (i + 1) % interval === 0 && i >= start && i <= end),
  };
}

export const ernieMoe: Family = {
  types: ['ernie4_5_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  biasEverywhere: (read) => read.config.use_bias === true,
  defaults: ERNIE_MOE_DEFAULTS,
  refine: (arch, read) => {
    readErnieMoe(arch, read);
    // Ernie4_5_MoePreTrainedModel: _keys_to_ignore_on_load_unexpected drops the MTP weights.
    const note = uncountedMtpNote(
      read.numberOr(0, 'num_nextn_predict_layers'),
      'Ernie4_5_MoeModel',
    );
    if (note) arch.notes = [...(arch.notes ?? []), note];
  },
};
