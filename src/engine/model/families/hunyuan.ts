// HunYuan dense v1 (modular_hunyuan_v1_dense.py): Llama's layer with RMSNorms over each head of
// q and k applied after rotary (query_layernorm, key_layernorm), biases on the attention
// projections where attention_bias is set, none on the MLP. HunYuan MoE v1
// (modular_hunyuan_v1_moe.py): the same attention, and in every layer a sparse block.
import { Config, ConfigReader } from '../config-reader';
import { Family } from '../family';
import { LLAMA_CONFIG_DEFAULTS } from './text-configs';
import { ModelArchitecture, PlanValidationError } from '../../vocabulary';

/** HunYuanDenseV1Config's defaults (configuration_hunyuan_v1_dense.py): LlamaConfig's shape. */
const HUNYUAN_DEFAULTS: Config = {
  ...LLAMA_CONFIG_DEFAULTS,
  vocab_size: 290943,
  attention_bias: false,
};

export const hunyuan: Family = {
  types: ['hunyuan_v1_dense'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: HUNYUAN_DEFAULTS,
  refine: (arch) => {
    arch.qkNorm = true; // query_layernorm and key_layernorm of head_dim, always built
  },
};

/** HunYuanMoEV1Moe in every layer: an fp32 gate (HunYuanMoEV1Gate's wg), Mixtral's experts and
 * one shared MLP (shared_mlp), both of intermediate_size (MixtralExperts and LlamaMLP read it). */
function readHunyuanMoe(arch: ModelArchitecture, read: ConfigReader): void {
  if (read.config.moe) return;
  const numExperts = sameForEveryLayer(read, 'num_experts', 1);
  const topK = sameForEveryLayer(read, 'moe_topk', 1);
  if (topK > numExperts) {
    read.fail('moe_topk', `moe_topk (${topK}) must be from 1 to num_experts (${numExperts})`);
    throw new PlanValidationError(read.errors);
  }
  arch.moe = {
    numExperts,
    expertsPerToken: topK,
    expertIntermediateSize: arch.intermediateSize,
    sharedExperts: 1,
    sharedExpertIntermediateSize: arch.intermediateSize,
    firstDenseLayers: 0,
    routerBias: false,
    routerWeightFp32: true, // nn.Linear(..., dtype=torch.float32)
    router: 'fp32-gate-softmax',
    sharedExpertFirst: true, // hidden_states_mlp = self.shared_mlp(hidden_states), then the gate
  };
}

/** A field HunYuanMoEV1Config takes as one number or one per layer (num_experts, moe_topk):
 * layers that differ are refused by the field. */
function sameForEveryLayer(read: ConfigReader, key: string, fallback: number): number {
  const value = read.config[key];
  if (!Array.isArray(value)) return read.numberOr(fallback, key);
  const first = value[0] as unknown;
  if (typeof first !== 'number' || value.some((v) => v !== first)) {
    read.fail(key, `${key} that differs between layers is not planned yet: give one number`);
    throw new PlanValidationError(read.errors);
  }
  return first;
}

export const hunyuanMoe: Family = {
  types: ['hunyuan_v1_moe'],
  mlp: 'gated',
  norm: 'rmsnorm',
  normsPerLayer: 2,
  defaults: HUNYUAN_DEFAULTS,
  readsOwnMoe: true, // readHunyuanMoe: moe_topk, not num_experts_per_tok
  refine: (arch, read) => {
    arch.qkNorm = true; // HunYuanMoEV1Attention: query_layernorm and key_layernorm, after rotary
    readHunyuanMoe(arch, read);
  },
};
