// Mamba and Mamba-2 (modeling_mamba.py, modeling_mamba2.py): every block a norm and a
// selective state-space mixer, no attention and no MLP.
import { SsmConfig } from '../../vocabulary';
import { Config, ConfigReader, withDefaults } from '../config-reader';
import { Family, fixedStateNote } from '../family';

/** MambaConfig's defaults (configuration_mamba.py); it leaves tie_word_embeddings at
 * PretrainedConfig's True. */
const MAMBA_DEFAULTS: Config = {
  vocab_size: 50280,
  hidden_size: 768,
  state_size: 16,
  num_hidden_layers: 32,
  expand: 2,
  conv_kernel: 4,
  use_bias: false,
  use_conv_bias: true,
  tie_word_embeddings: true,
};

/** Mamba2Config's defaults (configuration_mamba2.py). */
const MAMBA2_DEFAULTS: Config = {
  num_heads: 128,
  head_dim: 64,
  vocab_size: 32768,
  hidden_size: 4096,
  state_size: 128,
  num_hidden_layers: 64,
  expand: 2,
  conv_kernel: 4,
  n_groups: 8,
  use_bias: false,
  use_conv_bias: true,
  tie_word_embeddings: false,
};

/** d_inner: Mamba-1's config.intermediate_size where config.json gives one (MambaConfig and
 * FalconMambaConfig set expand x hidden_size, which PretrainedConfig's kwargs then replace, and
 * MambaMixer reads config.intermediate_size: falcon-mamba-7b gives 8,192 beside expand 16);
 * Mamba-2's expand x hidden_size always (Mamba2Mixer computes it). */
function innerWidth(config: Config, version: 1 | 2, expand: number, h: number): number {
  const given = config.intermediate_size;
  return version === 1 && typeof given === 'number' ? given : expand * h;
}

/** The mixer of either version from a Mamba/Mamba-2 config. */
export function mambaSsm(read: ConfigReader, version: 1 | 2, h: number): SsmConfig {
  const expand = read.numberOr(2, 'expand');
  const rank = read.config.time_step_rank;
  return {
    version,
    stateSize: read.numberOr(16, 'state_size'),
    convKernel: read.numberOr(4, 'conv_kernel'),
    expand,
    innerSize: innerWidth(read.config, version, expand, h),
    // time_step_rank "auto" is ceil(hidden_size / 16) (MambaConfig, Mamba2Config).
    dtRank: typeof rank === 'number' ? rank : Math.ceil(h / 16),
    groups: version === 2 ? read.numberOr(8, 'n_groups') : 1,
    heads: version === 2 ? read.numberOr(128, 'num_heads') : 0,
    headDim: version === 2 ? read.numberOr(64, 'head_dim') : 0,
    convBias: read.flag('use_conv_bias', true),
    projBias: read.flag('use_bias', false),
  };
}

/** Mamba has no attention heads: the reader's head fields stand for what tensor parallelism
 * splits, Mamba-2's heads or Mamba-1's d_inner channels (each scanned on its own). */
function headFields(config: Config, version: 1 | 2): Config {
  const defaults = version === 2 ? MAMBA2_DEFAULTS : MAMBA_DEFAULTS;
  const merged = withDefaults(config, defaults);
  const inner = innerWidth(config, version, merged.expand as number, merged.hidden_size as number);
  const heads = version === 2 ? (merged.num_heads as number) : inner;
  return {
    ...defaults,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    head_dim: inner / heads,
    // MambaConfig/Mamba2Config: intermediate_size = expand x hidden_size (d_inner)
    intermediate_size: inner,
  };
}

function mambaFamily(types: string[], version: 1 | 2): Family {
  const mixer = version === 2 ? 'mamba2' : 'mamba';
  return {
    types,
    mlp: 'gated',
    norm: 'rmsnorm', // MambaRMSNorm / Mamba2RMSNorm before each mixer and at the end
    normsPerLayer: 1,
    defaults: (config) => headFields(config, version),
    refine: (arch, read, { type }) => {
      arch.ssm = mambaSsm(read, version, arch.hiddenSize);
      // FalconMambaMixer passes its b_c_rms and dt_rms to its own MambaInnerFn
      // (modeling_falcon_mamba.py): dt, B and C RMS-normalised inside the kernel.
      if (type === 'falcon_mamba') arch.ssm.kernelNorms = true;
      arch.intermediateSize = 0; // no MLP: config.json's intermediate_size is d_inner
      arch.layerTypes = Array.from({ length: arch.numLayers }, () => mixer);
      arch.notes = [fixedStateNote(type, 'state-space layers')];
    },
  };
}

// FalconMamba (modeling_falcon_mamba.py): Mamba-1's blocks and parameters (FalconMambaConfig's
// defaults are MambaConfig's), its mixer normalising dt, B and C with weightless RMS norms.
export const mamba = mambaFamily(['mamba', 'falcon_mamba'], 1);
export const mamba2 = mambaFamily(['mamba2'], 2);
