// What the MoE blocks' parameters and buffers do in a step: Qwen2-MoE's gated shared expert
// (modeling_qwen2_moe.py Qwen2MoeSparseMoeBlock) and DeepSeek-V3's router bias, a buffer
// (modeling_deepseek_v3.py DeepseekV3TopkRouter register_buffer). A trainable parameter the
// forward never uses gets no gradient, and FSDP2 would have run its unit's post-backward only
// once every parameter's gradient arrived: the unit's unsharded gradients outlived the step.
import { architectureFromConfig, normalizeRequest } from '../..';
import {
  allocationsOf,
  forwardEnd,
  layerForwardAllocations,
  savedPerLayer,
} from '../../../../test/support/layer-bytes';
import { H100_SXM } from '../../../../test/support/gpus';
import { liveWhen } from '../../../../test/support/timeline';
import { ALLOCATED_COMPONENTS } from '../autograd/events';
import { RouterKind } from '../../vocabulary';
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

/** A two-layer Mixtral of experts `f` wide, each token to 2 of `experts`; a vocabulary of 1,000
 * keeps the logits' size apart from the experts' tensors. */
const mixtral = (f: number, experts: number) => ({
  model_type: 'mixtral',
  hidden_size: h,
  intermediate_size: f,
  num_local_experts: experts,
  num_experts_per_tok: 2,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1000,
  max_position_embeddings: 2048,
});

const PURE_HF = {
  training: { method: 'full' as const, precision: 'bf16-pure' as const, sequenceLength: T },
  runtime: { preset: 'hf-transformers' as const },
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
  it("Mixtral's router (v5) leaves its renormalised top-k in fp32: the experts weigh their outputs in fp32", () => {
    // MixtralTopKRouter returns router_top_value as the fp32 softmax made it (divided in place,
    // no cast), so grouped_mm_experts_forward's out_per_sample_g * sample_weights_g is fp32 over
    // every (token, expert) pair, and so is its copy back to token order: two [T x k, h] fp32
    // tensors in each MoE layer's forward, as trace-90 (transformers 5.17, Mixtral) records.
    const pairsFp32 = T * 2 * h * 4;
    expect(allocationsOf(mixtral(384, 4), PURE_HF, pairsFp32).forward).toBe(2 * 2);
  });

  it("zeroes the sentinel rows around each grouped matmul out of place: a copy of gate_up_proj's output", () => {
    // grouped_mm_experts_forward: masked_fill(sentinel, 0) on the first _grouped_mm's input and
    // on each one's output makes a copy, and the matmul's own output goes (trace-90,
    // transformers 5.17: each gate_up-sized [T x k, 2f] output followed by a second of its size).
    const gateUpOut = T * 2 * (2 * 320) * BF16;
    // two MoE layers, each the grouped matmul's output and its masked copy
    expect(allocationsOf(mixtral(320, 8), PURE_HF, gateUpOut).forward).toBe(2 * 2);
  });

  it('a plain-MLP model routes to experts without a gate, whichever layer runs them: up_proj f wide, relu and square of all of it', () => {
    // a Mixtral config with "mlp": "plain" and relu2: its experts are counted and built as
    // up_proj and down_proj alone (E x f x h), so Llama's layer runs them as NemotronHExperts
    // does; split as [gate, up], the activation and the product would be f/2 wide
    const plain = { ...mixtral(384, 4), mlp: 'plain', hidden_act: 'relu2' };
    const expertWide = T * 2 * 384 * BF16; // every (token, expert) pair of top-2, f = 384
    // each MoE layer: the grouped matmul's output and its masked copy, relu's and square's
    expect(allocationsOf(plain, PURE_HF, expertWide).forward).toBe(2 * 4);
  });

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

  it('divides the top-k weights by their sum only where norm_topk_prob asks (Qwen2-MoE defaults to not)', () => {
    const settings = {
      training: { method: 'full' as const, precision: 'bf16-pure' as const, sequenceLength: T },
      runtime: { preset: 'hf-transformers' as const },
    };
    // routing_weights /= routing_weights.sum(dim=-1, keepdim=True): one [T, k] fp32 tensor in
    // each MoE layer's forward, and its gradient in backward (two layers, k = 2).
    const kWide = T * 2 * 4;
    const divided = allocationsOf({ ...QWEN2_MOE, norm_topk_prob: true }, settings, kWide);
    const asIs = allocationsOf(QWEN2_MOE, settings, kWide);
    expect(divided.forward - asIs.forward).toBe(2);
    expect(divided.backward - asIs.backward).toBe(2);
  });

  it("gpt-oss's router takes the top-k logits first and softmaxes only those, in their dtype", () => {
    const settings = {
      training: { method: 'full' as const, precision: 'bf16-pure' as const, sequenceLength: T },
      runtime: { preset: 'hf-transformers' as const },
    };
    const E = QWEN2_MOE.num_experts;
    const k = QWEN2_MOE.num_experts_per_tok;
    const withRouter = (router: RouterKind) => ({
      ...QWEN2_MOE,
      shared_expert_intermediate_size: 0,
      moe: {
        numExperts: E,
        expertsPerToken: k,
        expertIntermediateSize: 256,
        sharedExperts: 0,
        sharedExpertIntermediateSize: 0,
        firstDenseLayers: 0,
        routerBias: false,
        router,
      },
    });
    // Mixtral's keeps its fp32 softmax over all E experts; gpt-oss's keeps a bf16 softmax over
    // the k chosen. Both keep top-k's int64 indices. gpt-oss hands the experts bf16 weights,
    // which their weighted product keeps ([T x k, 1]); Mixtral's are fp32.
    const perLayer = T * k * 2 - T * E * 4 + T * k * (2 - 4);
    expect(
      savedPerLayer(withRouter('top-k-softmax'), settings) -
        savedPerLayer(withRouter('softmax'), settings),
    ).toBe(perLayer);
    expect(architectureFromConfig('gpt-oss', { model_type: 'gpt_oss' }).moe?.router).toBe(
      'top-k-softmax',
    );
  });

  it.each([
    ['Qwen2-MoE (its shared_expert_gate)', QWEN2_MOE],
    ['DeepSeek-V3 (its e_score_correction_bias)', DEEPSEEK_V3],
  ])('%s leaves no gradient past the step under FSDP2 with zero_grad(set_to_none)', (_, config) => {
    expect(gradientsBetweenSteps(config)).toBe(0);
  });

  describe("DeepSeek-V3's router (DeepseekV3TopkRouter, route_tokens_to_experts)", () => {
    const E = DEEPSEEK_V3.n_routed_experts;
    const k = DEEPSEEK_V3.num_experts_per_tok;
    const FP32 = 4;
    const routed = (router: RouterKind) => ({
      ...DEEPSEEK_V3,
      moe: {
        numExperts: E,
        expertsPerToken: k,
        expertIntermediateSize: 256,
        sharedExperts: 1,
        sharedExpertIntermediateSize: 256,
        firstDenseLayers: 1,
        routerBias: true,
        router,
      },
    });
    const pure = {
      training: {
        method: 'full' as const,
        precision: 'bf16-pure' as 'bf16-pure' | 'bf16-mixed',
        sequenceLength: T,
      },
      runtime: { preset: 'hf-transformers' as const },
    };
    // The third layer is the second MoE one (first_k_dense_replace = 1).
    const moeLayer = (router: RouterKind, settings = pure) =>
      savedPerLayer(routed(router), settings, 'num_hidden_layers', 2);

    it("keeps an fp32 copy of the input for the router weight's gradient, and fp32 routing weights", () => {
      // F.linear(hidden_states.type(torch.float32), ...) saves the [T, h] fp32 copy (the softmax
      // router's linear saves the bf16 input every expert reads anyway). Sigmoid keeps its
      // [T, E] fp32 output as softmax does; gather keeps int64 indices as topk does. The
      // weights stay fp32, as Mixtral's do, so the experts' product keeps the same.
      const perLayer = T * h * FP32;
      expect(moeLayer('grouped-sigmoid') - moeLayer('softmax')).toBe(perLayer);
    });

    it("keeps the router weight's fp32 copy for the input's gradient", () => {
      const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
      const weights = (router: RouterKind) =>
        forwardEnd({ ...routed(router), num_hidden_layers: 3 }, pure).live[WEIGHTS];
      // self.weight.type(torch.float32): [E, h] fp32 in each of the two MoE layers.
      expect(weights('grouped-sigmoid') - weights('softmax')).toBe(2 * E * h * FP32);
    });

    it('under autocast the logits are 16-bit, and so are the scores and weights', () => {
      const mixed = { ...pure, training: { ...pure.training, precision: 'bf16-mixed' as const } };
      // The residual stream is fp32, so .type(torch.float32) copies nothing and the linear's
      // 16-bit cast of it is what both routers keep. Sigmoid is not on autocast's fp32 list: it
      // keeps bf16 [T, E] scores where softmax(dtype=float) keeps fp32 ones, and the weights
      // reach the experts in bf16 where the softmax router's cast to the fp32 stream keeps fp32.
      const perLayer = T * E * (BF16 - FP32) + T * k * (BF16 - FP32);
      expect(moeLayer('grouped-sigmoid', mixed) - moeLayer('softmax', mixed)).toBe(perLayer);
    });

    it('reads deepseek_v3 configs as the grouped-sigmoid router, deepseek_v2 as fp32-softmax', () => {
      const { moe: _moe, ...config } = routed('softmax');
      expect(architectureFromConfig('v3', config).moe?.router).toBe('grouped-sigmoid');
      const v2 = architectureFromConfig('v2', { ...config, model_type: 'deepseek_v2' });
      expect(v2.moe?.router).toBe('fp32-softmax');
    });

    it("DeepSeek-V2's router keeps the same fp32 input copy and leaves its softmax weights in fp32", () => {
      // DeepseekV2Moe.forward: F.linear(hidden_states.type(torch.float32), ...) as V3's; the fp32
      // softmax keeps its [T, E] output as Mixtral's does; top-k times routed_scaling_factor
      // reaches the experts in fp32, as Mixtral's renormalised top-k does.
      expect(moeLayer('fp32-softmax') - moeLayer('softmax')).toBe(T * h * FP32);
      const mixed = { ...pure, training: { ...pure.training, precision: 'bf16-mixed' as const } };
      // Under autocast both routers' logits are 16-bit casts of the fp32 stream, both softmaxes
      // fp32, and Mixtral's cast goes to the fp32 stream's dtype: nothing differs.
      expect(moeLayer('fp32-softmax', mixed) - moeLayer('softmax', mixed)).toBe(0);
    });
    it('keeps the correction bias in fp32 where the router registers it so (GLM-4.5)', () => {
      // A registered buffer is stored with the module's weights.
      const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
      const experts = 256; // [256] fp32 is 1,024 B, bf16 512 B: distinct after 512 B rounding
      const buffers = (routerBiasFp32: boolean) => {
        const config = routed('grouped-sigmoid');
        const moe = { ...config.moe, numExperts: experts, routerBiasFp32 };
        return forwardEnd({ ...config, moe, num_hidden_layers: 3 }, pure).live[WEIGHTS];
      };
      expect(buffers(true) - buffers(false)).toBe(2 * experts * (FP32 - BF16));
    });
  });

  describe("Llama-4's block (Llama4Router, Llama4TextMoe, Llama4TextExperts)", () => {
    const E = 4;
    const k = 1;
    const f = 256; // each routed expert's width, and the shared expert's
    const LLAMA4_TEXT = {
      model_type: 'llama4_text',
      hidden_size: h,
      intermediate_size: f,
      intermediate_size_mlp: f, // the dense layers' MLP as wide as the shared expert
      num_local_experts: E,
      num_experts_per_tok: k,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      vocab_size: 1024,
      max_position_embeddings: 2048,
      interleave_moe_layer_step: 1,
    };
    const DENSE_ONLY = { ...LLAMA4_TEXT, moe_layers: [] };
    const settings = (precision: 'bf16-pure' | 'bf16-mixed') => ({
      training: { method: 'full' as const, precision, sequenceLength: T },
      runtime: { preset: 'hf-transformers' as const },
    });
    // A MoE layer against a dense one whose MLP is the shared expert's: the router and the
    // routed experts are the difference.
    const routedPart = (precision: 'bf16-pure' | 'bf16-mixed') =>
      savedPerLayer(LLAMA4_TEXT, settings(precision)) -
      savedPerLayer(DENSE_ONLY, settings(precision));

    it('reads llama4 configs as top-k then sigmoid, every expert over every token, and says so', () => {
      const { moe } = architectureFromConfig('scout', { model_type: 'llama4_text' });
      expect(moe?.router).toBe('top-k-sigmoid');
      expect(moe?.denseExperts).toBe(true);
      const { notes } = forwardEnd(LLAMA4_TEXT, settings('bf16-pure'));
      expect(notes.some((note) => note.includes('all 4 routed experts'))).toBe(true);
    });

    it("keeps every expert's rows for every token (bf16)", () => {
      // Router: topk's int64 indices [T, k] (scatter_ keeps the same ones), sigmoid's fp32
      // output [T, E]. Then, over E x T rows: the scores' transposed copy [E T, 1] and the
      // repeated hidden states [E T, h], both kept by the product; the product [E T, h], kept
      // by the first bmm; its output [E T, 2f], kept by act_fn (gate) and the product (up);
      // act_fn's output and the product [E T, f] each, kept by the product and the second bmm.
      const router = T * k * 8 + T * E * 4;
      const rows = E * T;
      const experts = rows * (BF16 + 2 * h * BF16 + 2 * f * BF16 + 2 * f * BF16);
      expect(routedPart('bf16-pure')).toBe(router + experts);
    });

    it('under autocast repeats the fp32 stream, and the bmm keeps its bf16 cast', () => {
      // The residual stream and the norm's output are fp32: the router linear keeps a bf16
      // cast of it [T, h] (the dense MLP's linears keep theirs in both layers); the logits
      // are bf16, the scores cast back to them. The repeat is fp32 [E T, h], kept by the
      // product; the product is fp32 too (bf16 scores promote) and goes once the bmm has cast
      // it: the bmm keeps the bf16 cast. The experts' outputs are bf16.
      const FP32 = 4;
      const router = T * h * BF16 + T * k * 8 + T * E * FP32;
      const rows = E * T;
      const experts = rows * (BF16 + h * FP32 + h * BF16 + 2 * f * BF16 + 2 * f * BF16);
      expect(routedPart('bf16-mixed')).toBe(router + experts);
    });
  });

  describe("ERNIE 4.5's router (Ernie4_5_MoeTopKRouter)", () => {
    const E = 8;
    const k = 2;
    const ERNIE_MOE = {
      model_type: 'ernie4_5_moe',
      hidden_size: h,
      intermediate_size: 1024,
      moe_intermediate_size: 256,
      moe_num_experts: E,
      moe_k: k,
      moe_num_shared_experts: 1,
      moe_layer_start_index: 1,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      vocab_size: 1024,
    };
    // The same block under another router: layer 0 dense, the rest sparse.
    const routed = (router: RouterKind, routerWeightFp32 = true) => ({
      ...ERNIE_MOE,
      moe: {
        numExperts: E,
        expertsPerToken: k,
        expertIntermediateSize: 256,
        sharedExperts: 1,
        sharedExpertIntermediateSize: 256,
        firstDenseLayers: 1,
        routerBias: true,
        routerBiasFp32: true,
        routerWeightFp32,
        router,
      },
    });
    const settings = (precision: 'bf16-pure' | 'bf16-mixed') => ({
      training: { method: 'full' as const, precision, sequenceLength: T },
      runtime: { preset: 'hf-transformers' as const },
    });
    const moeLayer = (router: RouterKind, precision: 'bf16-pure' | 'bf16-mixed') =>
      savedPerLayer(routed(router), settings(precision), 'num_hidden_layers', 2);
    const FP32 = 4;

    it('reads ernie4_5_moe configs: the sparse layers, the fp32 router and its correction bias, the shared MLP first', () => {
      const arch = architectureFromConfig('ernie', {
        ...ERNIE_MOE,
        num_hidden_layers: 6,
        moe_layer_interval: 2,
      });
      // (i + 1) % 2 == 0 from moe_layer_start_index 1 to the last layer (end index -1)
      expect(arch.moe?.layers).toEqual([1, 3, 5]);
      expect(arch.moe?.router).toBe('biased-softmax');
      expect(arch.moe?.routerWeightFp32).toBe(true);
      expect(arch.moe?.routerBiasFp32).toBe(true);
      // Ernie4_5_MoeSparseMoeBlock.forward: shared_output = self.shared_experts(...) first
      expect(arch.moe?.sharedExpertFirst).toBe(true);
    });

    it("keeps hidden_states.float() and the division's operands where Mixtral's keeps neither (bf16)", () => {
      // Both keep the fp32 softmax [T, E] and top-k's int64 indices [T, k] (ERNIE's gather keeps
      // the same ones). ERNIE's fp32 linear keeps the fp32 copy of its input [T, h]; the division
      // keeps the gathered probabilities [T, k] and the clamped sum [T, 1], the clamp the sum.
      // ERNIE casts its weights to bf16, which the experts' product keeps; Mixtral's are fp32.
      const perLayer = T * h * FP32 + T * k * FP32 + 2 * T * FP32 + T * k * (BF16 - FP32);
      expect(moeLayer('biased-softmax', 'bf16-pure') - moeLayer('softmax', 'bf16-pure')).toBe(
        perLayer,
      );
    });

    it("under autocast keeps the fp32 stream itself, where Mixtral's linear keeps a bf16 cast", () => {
      const perLayer = T * h * (FP32 - BF16) + T * k * FP32 + 2 * T * FP32;
      expect(moeLayer('biased-softmax', 'bf16-mixed') - moeLayer('softmax', 'bf16-mixed')).toBe(
        perLayer,
      );
    });

    it("stores the router's weight in fp32 (_keep_in_fp32_modules_strict)", () => {
      const WEIGHTS = ALLOCATED_COMPONENTS.indexOf('weights');
      const weights = (fp32: boolean) =>
        forwardEnd(routed('biased-softmax', fp32), settings('bf16-pure')).live[WEIGHTS];
      // [E, h] in each of the two sparse layers, 4 bytes an element instead of 2
      expect(weights(true) - weights(false)).toBe(2 * E * h * (FP32 - BF16));
    });
  });

  describe("HunYuan-MoE's gate (HunYuanMoEV1Gate, route_tokens_to_experts)", () => {
    const E = 8;
    const k = 2;
    const HUNYUAN_MOE = {
      model_type: 'hunyuan_v1_moe',
      hidden_size: h,
      intermediate_size: 256,
      num_experts: E,
      moe_topk: k,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      vocab_size: 1024,
    };
    const withRouter = (router: RouterKind) => {
      const { moe } = architectureFromConfig('hunyuan', HUNYUAN_MOE);
      return { ...HUNYUAN_MOE, moe: { ...moe!, router } };
    };
    const saved = (router: RouterKind, precision: 'bf16-pure' | 'bf16-mixed') =>
      savedPerLayer(withRouter(router), {
        training: { method: 'full' as const, precision, sequenceLength: T },
        runtime: { preset: 'hf-transformers' as const },
      });
    const FP32 = 4;

    it('reads hunyuan_v1_moe configs as an fp32 gate with one shared MLP in every layer', () => {
      const { moe } = architectureFromConfig('hunyuan', HUNYUAN_MOE);
      expect(moe?.router).toBe('fp32-gate-softmax');
      expect(moe?.routerWeightFp32).toBe(true);
      expect(moe?.sharedExperts).toBe(1);
      expect(moe?.expertsPerToken).toBe(k);
    });

    it("keeps the fp32 copy of its input, and hands the experts fp32 weights as Mixtral's (bf16)", () => {
      // hidden_states.float() through the fp32 wg: the mm keeps the [T, h] fp32 copy. The
      // weights are cast to the logits' dtype, fp32, and Mixtral's stay fp32: the experts'
      // weighted product keeps the same [T x k, 1]. Softmax and top-k keep the same.
      const perLayer = T * h * FP32;
      expect(saved('fp32-gate-softmax', 'bf16-pure') - saved('softmax', 'bf16-pure')).toBe(
        perLayer,
      );
    });

    it("under autocast casts the weights to the bf16 logits, where Mixtral's stay fp32", () => {
      // Both linears cast the fp32 stream to bf16 (the fp32 wg's own cast is a weight), both
      // softmaxes are fp32; only the weights' cast differs.
      expect(saved('fp32-gate-softmax', 'bf16-mixed') - saved('softmax', 'bf16-mixed')).toBe(
        T * k * (BF16 - FP32),
      );
    });

    it('runs the shared MLP before the gate, its output held through the experts (HunYuanMoEV1Moe.forward)', () => {
      const config = { ...HUNYUAN_MOE, intermediate_size: 768 };
      const sharedGate = T * 768 * BF16; // shared_mlp.gate_proj's output
      const logits = T * E * FP32; // wg's fp32 logits
      const made = layerForwardAllocations(config, PURE_HF);
      expect(made.indexOf(sharedGate)).toBeLessThan(made.indexOf(logits));
      // Qwen2-MoE's order, for contrast: the experts first, the shared expert after them.
      const { moe } = architectureFromConfig('hunyuan', config);
      const after = { ...config, moe: { ...moe!, sharedExpertFirst: false } };
      const madeAfter = layerForwardAllocations(after, PURE_HF);
      expect(madeAfter.indexOf(sharedGate)).toBeGreaterThan(madeAfter.indexOf(logits));
    });
  });
});

describe("Granite-MoE's block (modular_granitemoe.py GraniteMoeMoE, JetMoE's experts)", () => {
  const k = 2;
  const granite = (modelType: string, f: number, experts?: number) => ({
    model_type: modelType,
    hidden_size: h,
    intermediate_size: f,
    ...(experts ? { num_local_experts: experts, num_experts_per_tok: k } : {}),
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 1000,
    max_position_embeddings: 2048,
  });

  it('keeps the gating indices, the rows in expert order and each linear input, all in the hidden dtype', () => {
    const f = 128;
    const INT64 = 8;
    const FP32 = 4;
    // Against Granite's dense layer of the same width, which keeps the norm's output (as the
    // router does), gate, SiLU's output, up and the product: 4 x T x f in bf16. Per (token,
    // expert) pair the sparse block keeps: top-k's int64 index (TopkBackward0), the fp32 softmax
    // over the k, index_sorted_experts and batch_index (int64, kept by the two gathers), the
    // gathered row (input_linear's F.linear), input_linear's output [2f] (SiLU's input and up),
    // SiLU's output and the product [f each], output_linear's output [h] and the bf16 gate
    // (both kept by the weighting product); index_add keeps only its index.
    const perPair = 3 * INT64 + FP32 + BF16 * (h + 2 * f + f + f + h + 1);
    const sparse = savedPerLayer(granite('granitemoe', f, 4), PURE_HF);
    const dense = savedPerLayer(granite('granite', f), PURE_HF);
    expect(sparse - dense).toBe(T * k * perPair - T * 4 * f * BF16);
  });

  it('Granite-MoE-shared adds the shared MLP after the experts: its fused input_linear output, act(gate) and the product', () => {
    const f = 128;
    const shared = 192;
    const withShared = { ...granite('granitemoeshared', f, 4), shared_intermediate_size: shared };
    // moe_hidden_states + self.shared_mlp(hidden_states): the shared MLP reads the norm's output
    // (kept by the router already) and keeps [gate, up] (the activation and the product read
    // its halves), act(gate) and the product (output_linear's input); the sum keeps nothing.
    expect(
      savedPerLayer(withShared, PURE_HF) - savedPerLayer(granite('granitemoe', f, 4), PURE_HF),
    ).toBe(T * 4 * shared * BF16);
  });

  it("writes each expert's weight gradient into a whole-size zero tensor (select_backward): two whole gradients of input_linear's weight live", () => {
    // JetMoeParallelExperts runs F.linear(input_list[i], self.weight[i]): SelectBackward0 makes
    // zeros of the whole [E, 2f, h] weight for every expert's slice, summed in place, beside the
    // matmuls' own gradient; v5's grouped matmul (Mixtral) makes the whole gradient once.
    const f = 96;
    const experts = 8;
    const wholeGateUp = experts * 2 * f * h * BF16;
    const twoLayers = 2;
    expect(allocationsOf(granite('granitemoe', f, experts), PURE_HF, wholeGateUp).backward).toBe(
      2 * twoLayers,
    );
    expect(allocationsOf(granite('mixtral', f, experts), PURE_HF, wholeGateUp).backward).toBe(
      twoLayers,
    );
  });
});

describe("LFM2-MoE's router (modular_lfm2_moe.py Lfm2MoeSparseMoeBlock.route_tokens_to_experts)", () => {
  const lfm2Moe = (experts: number, useExpertBias = true) => ({
    model_type: 'lfm2_moe',
    hidden_size: h,
    intermediate_size: 1024,
    moe_intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_dense_layers: 0,
    num_experts: experts,
    num_experts_per_tok: 2,
    use_expert_bias: useExpertBias,
    vocab_size: 1000,
    layer_types: ['conv', 'conv', 'conv'],
  });

  it("keeps the sigmoid of the logits in their dtype: 8 more experts keep T x 8 more bf16 (Mixtral's fp32 softmax keeps T x 8 x 4 bytes)", () => {
    // The routed pairs (T x k) do not change with the number of experts; the router's output
    // over every expert does: router_logits.sigmoid() in bf16, kept by SigmoidBackward0.
    const grown = savedPerLayer(lfm2Moe(16), PURE_HF) - savedPerLayer(lfm2Moe(8), PURE_HF);
    expect(grown).toBe(T * 8 * BF16);
    const mixtralGrown =
      savedPerLayer(mixtral(128, 16), PURE_HF) - savedPerLayer(mixtral(128, 8), PURE_HF);
    expect(mixtralGrown).toBe(T * 8 * 4);
  });

  it('adds the fp32 expert_bias to the scores for the choice only where use_expert_bias: one fp32 [T, E] transient a MoE layer', () => {
    const experts = 12;
    const biasedScores = T * experts * 4;
    expect(allocationsOf(lfm2Moe(experts), PURE_HF, biasedScores).forward).toBe(2);
    expect(allocationsOf(lfm2Moe(experts, false), PURE_HF, biasedScores).forward).toBe(0);
  });
});

describe("MiniMax-M2's router (modular_minimax_m2.py MiniMaxM2TopKRouter)", () => {
  const minimax = (experts: number) => ({
    model_type: 'minimax_m2',
    hidden_size: h,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 64,
    num_local_experts: experts,
    num_experts_per_tok: 2,
    vocab_size: 1000,
  });

  it("keeps the sigmoid of the logits' fp32 copy: 8 more experts keep T x 8 more fp32 (LFM2-MoE's bf16 sigmoid keeps half)", () => {
    // routing_weights = sigmoid(router_logits.float()), kept by SigmoidBackward0; the fp32 copy
    // and the bf16 logits are not kept once the block returns.
    const grown = savedPerLayer(minimax(16), PURE_HF) - savedPerLayer(minimax(8), PURE_HF);
    expect(grown).toBe(T * 8 * 4);
  });

  it('makes three fp32 [T, E] tensors a MoE layer: the logits copy, the sigmoid, and the scores plus e_score_correction_bias', () => {
    const experts = 12;
    expect(allocationsOf(minimax(experts), PURE_HF, T * experts * 4).forward).toBe(2 * 3);
  });
});
