// What the MoE blocks' parameters and buffers do in a step: Qwen2-MoE's gated shared expert
// (modeling_qwen2_moe.py Qwen2MoeSparseMoeBlock) and DeepSeek-V3's router bias, a buffer
// (modeling_deepseek_v3.py DeepseekV3TopkRouter register_buffer). A trainable parameter the
// forward never uses gets no gradient, and FSDP2 would have run its unit's post-backward only
// once every parameter's gradient arrived: the unit's unsharded gradients outlived the step.
import { architectureFromConfig, normalizeRequest } from '../..';
import { savedPerLayer } from '../../../../test/support/layer-bytes';
import { H100_SXM } from '../../../../test/support/gpus';
import { liveWhen } from '../../../../test/support/timeline';
import { splitLayers } from '../../model/placement';
import { layoutOf } from '../../request/layout';
import { simulateRankOnce } from '../rank';

const T = 512; // tokens
const h = 256;
const S = 1024; // the shared expert's intermediate size
const BF16 = 2;

const QWEN2_MOE = {
  model_type: 'qwen2_moe',
  hidden_size: h,
  intermediate_size: 1024,
  moe_intermediate_size: 256,
  shared_expert_intermediate_size: S,
  num_experts: 4,
  num_experts_per_tok: 2,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1024,
  max_position_embeddings: 2048,
};

const DEEPSEEK_V3 = {
  model_type: 'deepseek_v3',
  hidden_size: h,
  intermediate_size: 1024,
  moe_intermediate_size: 256,
  n_routed_experts: 4,
  n_shared_experts: 1,
  num_experts_per_tok: 2,
  first_k_dense_replace: 1,
  n_group: 1,
  topk_group: 1,
  topk_method: 'noaux_tc', // the router bias (e_score_correction_bias)
  scoring_func: 'sigmoid',
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  q_lora_rank: 128,
  kv_lora_rank: 64,
  qk_nope_head_dim: 32,
  qk_rope_head_dim: 16,
  v_head_dim: 32,
  vocab_size: 1024,
  max_position_embeddings: 2048,
};

/** Gradients live when the third step's forward begins, under FSDP2 over 8 ranks. */
function gradientsBetweenSteps(config: Record<string, unknown>): number {
  const arch = architectureFromConfig('spec', config);
  const input = {
    model: 'spec',
    cluster: { gpu: H100_SXM.id, nodes: 1, gpusPerNode: 8 },
    training: { sequenceLength: T },
    parallelism: { zeroStage: 3 as const },
  };
  const request = normalizeRequest(input, H100_SXM, arch);
  const placement = { chunks: [splitLayers(arch.numLayers, 1)[0]], rank: 0, virtualStages: 1 };
  const { log } = simulateRankOnce(request, arch, H100_SXM, layoutOf(request), placement);
  return liveWhen(log, (m) => m.step === 3 && m.phase === 'forward').gradients;
}

describe('MoE blocks', () => {
  it("Qwen2-MoE gates its shared expert: sigmoid keeps its output, the product keeps the expert's", () => {
    const settings = {
      training: { method: 'full' as const, precision: 'bf16-pure' as const, sequenceLength: T },
      runtime: { preset: 'hf-transformers' as const },
    };
    const withShared = savedPerLayer(QWEN2_MOE, settings);
    const without = savedPerLayer({ ...QWEN2_MOE, shared_expert_intermediate_size: 0 }, settings);
    // SwiGLU: gate (kept by SiLU), SiLU's output and up (kept by the product), the product
    // (kept by down_proj); then sigmoid's [T, 1] output and down_proj's output, kept by the
    // broadcast product with it. The block's input is kept by the router already.
    const perToken = 4 * BF16 * S + BF16 * 1 + BF16 * h;
    expect(withShared - without).toBe(perToken * T);
  });

  it.each([
    ['Qwen2-MoE (its shared_expert_gate)', QWEN2_MOE],
    ['DeepSeek-V3 (its e_score_correction_bias)', DEEPSEEK_V3],
  ])('%s leaves no gradient past the step under FSDP2 with zero_grad(set_to_none)', (_, config) => {
    expect(gradientsBetweenSteps(config)).toBe(0);
  });
});
