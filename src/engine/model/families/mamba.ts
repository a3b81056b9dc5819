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

/** The mixer of either version from a Mamba/Mamba-2 config. */
export function mambaSsm(read: ConfigReader, version: 1 | 2, h: number): SsmConfig {
  const expand = read.numberOr(2, 'expand');
  const rank = read.config.time_step_rank;
  return {
    version,
    stateSize: read.numberOr(16, 'state_size'),
    convKernel: read.numberOr(4, 'conv_kernel'),
    expand,
    innerSize: expand * h,
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
  const inner = (merged.expand as number) * (merged.hidden_size as number);
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

function mambaFamily(type: 'mamba' | 'mamba2', version: 1 | 2): Family {
  return {
    types: [type],
    mlp: 'gated',
    norm: 'rmsnorm', // MambaRMSNorm / Mamba2RMSNorm before each mixer and at the end
    normsPerLayer: 1,
    defaults: (config) => headFields(config, version),
    refine: (arch, read) => {
      arch.ssm = mambaSsm(read, version, arch.hiddenSize);
      arch.intermediateSize = 0; // no MLP: config.json's intermediate_size is d_inner
      arch.layerTypes = Array.from({ length: arch.numLayers }, () => type);
      arch.notes = [fixedStateNote(type, 'state-space layers')];
    },
  };
}

export const mamba = mambaFamily('mamba', 1);
export const mamba2 = mambaFamily('mamba2', 2);
