// Nemotron-H (transformers models/nemotron_h/modeling_nemotron_h.py; Nemotron-H, Nemotron Nano 2,
// Nemotron 3 Nano): every layer one pre-norm residual block, `x + module(norm(x))`, whose module
// the layer's block type picks: a Mamba-2 mixer (NemotronHMamba2Mixer, Mamba2Mixer's fused
// training kernel), attention without positions (NemotronHAttention: no rotary), an MLP of
// up_proj, relu2 and down_proj (NemotronHMLP), or a sparse block (NemotronHMoE: DeepSeek-V3's
// grouped sigmoid router, experts of up_proj and down_proj alone, one shared NemotronHMLP).
import { LayerType, ModelArchitecture, PlanValidationError } from '../../vocabulary';
import { Config, ConfigReader } from '../config-reader';
import { Family, fixedStateNote, indicesWhere, readNormTopkProb } from '../family';
import { uncountedMtpNote } from './deepseek';

/** NemotronHConfig's defaults (configuration_nemotron_h.py), under the config.json names. */
const NEMOTRON_H_DEFAULTS: Config = {
  vocab_size: 131072,
  hidden_size: 4096,
  tie_word_embeddings: false,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 128,
  max_position_embeddings: 4096,
  intermediate_size: 21504,
  mlp_hidden_act: 'relu2',
  mlp_bias: false,
  ssm_state_size: 128,
  mamba_num_heads: 128,
  mamba_head_dim: 64,
  n_groups: 8,
  conv_kernel: 4,
  use_conv_bias: true,
  use_bias: false,
  n_routed_experts: 8,
  moe_intermediate_size: 7688,
  moe_shared_expert_intermediate_size: 7688,
  num_experts_per_tok: 2,
  norm_topk_prob: true,
};

/** NemotronHConfig.__post_init__'s default layers_block_type. */
const DEFAULT_BLOCKS = ['linear_attention', 'moe', 'full_attention', 'mlp'];

/** hybrid_override_pattern's characters (NemotronHConfig._pattern_to_list), and the block type
 * names of layers_block_type, new and legacy (remap_legacy_layer_types: mamba, attention). */
const PATTERN: Record<string, LayerType> = {
  M: 'mamba2',
  '*': 'full_attention',
  '-': 'mlp',
  E: 'moe',
};
const BLOCK_TYPES: Record<string, LayerType> = {
  linear_attention: 'mamba2',
  mamba: 'mamba2',
  full_attention: 'full_attention',
  attention: 'full_attention',
  mlp: 'mlp',
  moe: 'moe',
};

/** The block list as the config gives it: layers_block_type (or its attribute_map name
 * layer_types), else hybrid_override_pattern, else the default four blocks. */
function givenBlocks(config: Config): { field: string; names: unknown[] } {
  for (const field of ['layers_block_type', 'layer_types']) {
    if (Array.isArray(config[field])) return { field, names: config[field] as unknown[] };
  }
  const pattern = config.hybrid_override_pattern;
  if (typeof pattern === 'string') return { field: 'hybrid_override_pattern', names: [...pattern] };
  return { field: 'layers_block_type', names: DEFAULT_BLOCKS };
}

/** Each layer's block type; an unknown one is a 400 naming the field it came from. */
function blockTypes(read: ConfigReader): LayerType[] {
  const { field, names } = givenBlocks(read.config);
  const table = field === 'hybrid_override_pattern' ? PATTERN : BLOCK_TYPES;
  const types = names.map((name) => (typeof name === 'string' ? table[name] : undefined));
  if (types.length === 0 || types.some((type) => type === undefined)) {
    const allowed = Object.keys(table)
      .map((name) => `'${name}'`)
      .join(', ');
    read.fail(field, `give one block type for each layer, each one of ${allowed}`);
    throw new PlanValidationError(read.errors);
  }
  return types as LayerType[];
}

/** The layer count follows the block list (NemotronHConfig.num_hidden_layers is its length). */
function defaultsFor(config: Config): Config {
  const { names } = givenBlocks(config);
  return { ...NEMOTRON_H_DEFAULTS, num_hidden_layers: names.length };
}

/** NemotronHMoE: experts of moe_intermediate_size, one shared NemotronHMLP of
 * moe_shared_expert_intermediate_size whatever n_shared_experts says, DeepSeek-V3's router with
 * its e_score_correction_bias kept in fp32 (_keep_in_fp32_modules_strict), and the experts in
 * moe_latent_size's width where it is set. */
function readSparseBlock(arch: ModelArchitecture, read: ConfigReader): void {
  const moeLayers = indicesWhere(arch.numLayers, (i) => arch.layerTypes![i] === 'moe');
  if (moeLayers.length === 0 && !read.config.moe) {
    delete arch.moe; // the default n_routed_experts builds nothing without moe blocks
    return;
  }
  if (!arch.moe || read.config.moe) return;
  arch.moe.layers = moeLayers;
  arch.moe.firstDenseLayers = 0;
  arch.moe.sharedExperts = 1;
  arch.moe.sharedExpertIntermediateSize = read.numberOr(
    arch.moe.expertIntermediateSize,
    'moe_shared_expert_intermediate_size',
  );
  arch.moe.router = 'grouped-sigmoid';
  arch.moe.routerBias = true;
  arch.moe.routerBiasFp32 = true;
  const latent = read.config.moe_latent_size;
  if (typeof latent === 'number') arch.moe.latentSize = latent; // Nemotron 3 Super's latent MoE
  readNormTopkProb(arch, read, true);
}

const FP32_RESIDUAL_NOTE =
  "residual_in_fp32 is planned as transformers' NemotronHBlock runs it, which ignores it: the residual stream stays in the model's dtype (NVIDIA's trust_remote_code modeling keeps it in fp32, one more hidden-size fp32 tensor a block)";

export const nemotronH: Family = {
  types: ['nemotron_h'],
  mlp: 'plain',
  norm: 'rmsnorm',
  normsPerLayer: 1, // NemotronHBlock.norm
  defaults: defaultsFor,
  refine: (arch, read) => {
    arch.layerTypes = blockTypes(read);
    arch.numLayers = arch.layerTypes.length;
    arch.activation = String(read.config.mlp_hidden_act);
    // NemotronHAttention: q, k, v and o without biases, and no rotary embedding
    arch.qkvBias = false;
    arch.attentionOutputBias = false;
    arch.noRopeLayers = indicesWhere(arch.numLayers, () => true);
    const heads = read.numberOr(128, 'mamba_num_heads');
    const headDim = read.numberOr(64, 'mamba_head_dim');
    arch.ssm = {
      version: 2,
      stateSize: read.numberOr(128, 'ssm_state_size'),
      convKernel: read.numberOr(4, 'conv_kernel', 'mamba_d_conv'),
      expand: read.numberOr(2, 'expand', 'mamba_expand'),
      innerSize: heads * headDim, // NemotronHMamba2Mixer: mamba_num_heads x mamba_head_dim
      dtRank: Math.ceil(arch.hiddenSize / 16), // unused by Mamba-2
      groups: read.numberOr(8, 'n_groups', 'mamba_n_groups'),
      heads,
      headDim,
      convBias: read.flag('use_conv_bias', read.flag('mamba_conv_bias', true)),
      projBias: read.flag('use_bias', false), // in_proj and out_proj: bias=config.use_bias
    };
    readSparseBlock(arch, read);
    const mtp = uncountedMtpNote(read.numberOr(0, 'num_nextn_predict_layers'), 'NemotronHModel');
    arch.notes = [fixedStateNote('nemotron_h', 'Mamba-2 layers'), ...(mtp ? [mtp] : [])];
    // NVIDIA's remote code casts the residual to fp32 under residual_in_fp32; transformers'
    // NemotronHBlock.forward reads no such flag
    if (read.bool('residual_in_fp32')) arch.notes.push(FP32_RESIDUAL_NOTE);
  },
};
