// Nemotron-H's blocks against what modeling_nemotron_h.py keeps for backward, derived by hand:
// one block's saved activations read off the timeline as the forward-end activations of a
// stack with one block more minus without it. Shapes as recipes.spec.ts: 512 tokens, hidden
// 256, 4 query heads of 64, 2 K/V heads, bf16 weights trained in full.
import { ALLOCATED_COMPONENTS } from '../autograd/events';
import { forwardEnd } from '../../../../test/support/layer-bytes';

const T = 512;
const h = 256;
const BF16 = 2;
const FP32 = 4;
const ACTIVATIONS = ALLOCATED_COMPONENTS.indexOf('activations');
const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');

const NEMOTRON_H = {
  model_type: 'nemotron_h',
  hidden_size: h,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
  intermediate_size: 1024,
  vocab_size: 1024,
  mamba_num_heads: 8,
  mamba_head_dim: 64,
  n_groups: 2,
  ssm_state_size: 32,
  n_routed_experts: 4,
  num_experts_per_tok: 2,
  moe_intermediate_size: 256,
  moe_shared_expert_intermediate_size: 384,
};
const HF = {
  training: {
    method: 'full' as const,
    precision: 'bf16-pure' as const,
    microBatchSize: 1,
    sequenceLength: T,
  },
  runtime: { preset: 'hf-transformers' as const },
};

/** What `component` holds when the forward ends with the blocks `pattern` spells, one block
 * more (`block` appended) minus without it. */
function oneBlock(block: string, config: object = {}, component = ACTIVATIONS): number {
  const at = (pattern: string) =>
    forwardEnd({ ...NEMOTRON_H, ...config, hybrid_override_pattern: pattern }, HF).live[component];
  return at(block + block) - at(block);
}

// NemotronHRMSNorm (Llama's): the fp32 copy of the input kept by pow and the product, the fp32
// rstd a row, the cast back kept by weight *, and the output, kept by the module that reads it.
const norm = FP32 * h + FP32 + BF16 * h + BF16 * h;

describe("Nemotron-H's blocks keep what NemotronHBlock's module keeps (bytes per token)", () => {
  it("a Mamba-2 block: the norm, then the combined kernel's in_proj output (z, xBC, dt), its scan output and the gated norm's fp32 rstd per group", () => {
    const inner = 8 * 64;
    const inProj = inner + (inner + 2 * 2 * 32) + 8;
    expect(oneBlock('M')).toBe((norm + BF16 * inProj + BF16 * inner + FP32 * 2) * T);
  });

  it('an attention block: the norm, then q, k and v as projected (no rotary), the output and the log-sum-exp flash keeps', () => {
    const perToken = norm + BF16 * (2 * 4 * 64 + 2 * 2 * 64) + FP32 * 4;
    expect(oneBlock('*')).toBe(perToken * T);
  });

  it("an MLP block: the norm, then relu's output (kept by relu and by square) and square's (kept by down_proj)", () => {
    expect(oneBlock('-')).toBe((norm + 2 * BF16 * 1024) * T);
  });

  it('an MoE block: each ungated expert and the shared MLP keep relu2 of up_proj alone: two tensors of their width a (token, expert) pair', () => {
    const wider = (field: string, width: number) =>
      oneBlock('E', { [field]: 2 * width }) - oneBlock('E');
    // top-2 of 4 experts: every token's 2 pairs computed, relu's and square's outputs each
    expect(wider('moe_intermediate_size', 256)).toBe(2 * BF16 * 256 * 2 * T);
    // the shared NemotronHMLP over every token
    expect(wider('moe_shared_expert_intermediate_size', 384)).toBe(2 * BF16 * 384 * T);
  });

  it("a latent MoE block (moe_latent_size): each pair's grouped input and output in the latent width, and fc2_latent_proj's input; fc1's output dies with the experts", () => {
    const latent = (l: number) => oneBlock('E', { moe_latent_size: l });
    // top-2: the masked copy of each pair's rows the first grouped matmul keeps and the masked
    // output of the second the routing weights' product keeps, then fc2's input over every token
    expect(latent(256) - latent(128)).toBe((2 * 2 + 1) * BF16 * 128 * T);
  });

  it("an MoE block's weights: the norm, the router and its fp32 correction bias, experts of up_proj and down_proj, the shared MLP; the router's fp32 copy", () => {
    const weights = h + 4 * h + 4 * 256 * h * 2 + 2 * h * 384;
    // the bias (4 fp32) takes one 512-byte block; NemotronHTopkRouter's
    // self.weight.type(torch.float32), kept by F.linear for its input's gradient
    const routerCopy = FP32 * 4 * h;
    expect(oneBlock('E', {}, WEIGHTS)).toBe(BF16 * weights + 512 + routerCopy);
  });
});
