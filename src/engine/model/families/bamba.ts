// Bamba (models/bamba/modular_bamba.py): Llama's decoder layer with Mamba-2 mixers (BambaMixer,
// Mamba2Mixer's training path) in every layer but attn_layer_indices, whose attention is
// Llama's with RoPE over half of each head (partial_rotary_factor 0.5, hard-coded), and
// LlamaMLP after either. Granite 4.0 (granite.ts) builds on the same mixer.
import { Config, ConfigReader } from '../config-reader';
import { Family, fixedStateNote } from '../family';
import { PlanValidationError, SsmConfig } from '../../vocabulary';

/** BambaMixer's shape (models/bamba/modeling_bamba.py, Mamba2Mixer's): d_inner = mamba_expand x
 * h (or as given: Falcon-H1's mamba_d_ssm) over mamba_n_heads heads of mamba_d_head ("auto":
 * d_inner / heads). */
export function bambaSsm(read: ConfigReader, h: number, innerSize?: number): SsmConfig {
  const expand = read.numberOr(2, 'mamba_expand');
  const heads = read.numberOr(128, 'mamba_n_heads');
  const head = read.config.mamba_d_head;
  const inner = innerSize ?? expand * h;
  return {
    version: 2,
    stateSize: read.numberOr(256, 'mamba_d_state'),
    convKernel: read.numberOr(4, 'mamba_d_conv'),
    expand,
    innerSize: inner,
    dtRank: Math.ceil(h / 16), // unused by Mamba-2
    groups: read.numberOr(1, 'mamba_n_groups'),
    heads,
    headDim: typeof head === 'number' ? head : inner / heads,
    convBias: read.flag('mamba_conv_bias', true),
    projBias: read.flag('mamba_proj_bias', false),
  };
}

/** The mixer's fields as BambaConfig and GraniteMoeHybridConfig default them. */
export const BAMBA_MIXER_DEFAULTS: Config = {
  mamba_n_heads: 128,
  mamba_n_groups: 1,
  mamba_d_state: 256,
  mamba_d_conv: 4,
  mamba_expand: 2,
  mamba_conv_bias: true,
  mamba_proj_bias: false,
};

/** BambaConfig's defaults (configuration_bamba.py): Bamba-9B's shape; no attention layers
 * unless attn_layer_indices names some. */
const BAMBA_DEFAULTS: Config = {
  vocab_size: 128000,
  tie_word_embeddings: false,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  hidden_act: 'silu',
  max_position_embeddings: 262144,
  ...BAMBA_MIXER_DEFAULTS,
};

/** BambaForCausalLM adds z_loss_coefficient x logsumexp(logits)^2 to the loss, whose tensors the
 * planner does not model: such configs are refused by the field. */
function refuseZLoss(read: ConfigReader): void {
  const coefficient = read.config.z_loss_coefficient;
  if (typeof coefficient !== 'number' || coefficient === 0) return;
  read.fail(
    'z_loss_coefficient',
    'the logits z-loss is not planned yet: give z_loss_coefficient 0',
  );
  throw new PlanValidationError(read.errors);
}

export const bamba: Family = {
  types: ['bamba'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2, // input_layernorm and pre_ff_layernorm in both layer kinds
  defaults: BAMBA_DEFAULTS,
  refine: (arch, read) => {
    refuseZLoss(read);
    const given = read.config.attn_layer_indices;
    const attention = new Set(Array.isArray(given) ? (given as number[]) : []);
    arch.layerTypes = Array.from({ length: arch.numLayers }, (_, i) =>
      attention.has(i) ? 'full_attention' : 'mamba2',
    );
    arch.ssm = bambaSsm(read, arch.hiddenSize);
    arch.notes = [fixedStateNote('bamba', 'Mamba-2 layers')];
  },
};
