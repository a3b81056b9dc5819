// Falcon-H1 (models/falcon_h1/modular_falcon_h1.py, configuration_falcon_h1.py): every layer
// runs Llama's attention and a Mamba-2 mixer (FalconH1Mixer, mamba_d_ssm wide) side by side on
// one normed input, then a gated MLP; muP multipliers scale the embedding, each mixer's input
// and output, the MLP's gate and output, and the logits.
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';
import { BAMBA_MIXER_DEFAULTS, bambaSsm } from './bamba';
import { PlanValidationError, SsmConfig } from '../../vocabulary';

/** FalconH1Config's defaults. */
const FALCON_H1_DEFAULTS: Config = {
  vocab_size: 128000,
  tie_word_embeddings: false,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  hidden_act: 'silu',
  max_position_embeddings: 8192,
  ...BAMBA_MIXER_DEFAULTS, // the same mixer fields and defaults
  mamba_d_ssm: 1024,
  mamba_rms_norm: false,
  projectors_bias: false,
  attention_bias: false,
  mlp_bias: false,
};

/** FalconH1Mixer's shape: Bamba's mixer fields, d_inner as mamba_d_ssm (mamba_expand x h where
 * it is null; the config refuses mamba_n_heads x mamba_d_head other than it), its gated RMSNorm
 * only with mamba_rms_norm, out_proj's bias projectors_bias. */
function falconH1Ssm(read: ConfigReader, h: number): SsmConfig {
  const given = read.config.mamba_d_ssm;
  const ssm = bambaSsm(read, h, typeof given === 'number' ? given : undefined);
  if (!Number.isInteger(ssm.headDim) || ssm.headDim * ssm.heads !== ssm.innerSize) {
    read.fail(
      'mamba_d_head',
      `mamba_n_heads (${ssm.heads}) x mamba_d_head must equal mamba_d_ssm (${ssm.innerSize})`,
    );
    throw new PlanValidationError(read.errors);
  }
  const gatedNorm = read.flag('mamba_rms_norm', false);
  return { ...ssm, gatedNorm, outProjBias: read.flag('projectors_bias', false) };
}

export const falconH1: Family = {
  types: ['falcon_h1'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2, // input_layernorm, pre_ff_layernorm
  defaults: FALCON_H1_DEFAULTS,
  refine: (arch, read) => {
    arch.ssm = falconH1Ssm(read, arch.hiddenSize);
    arch.layerTypes = Array.from({ length: arch.numLayers }, () => 'hybrid');
    arch.notes = [
      "falcon_h1: every layer keeps keys and values and its Mamba-2 mixer's fixed state; serving counts both",
    ];
  },
};
