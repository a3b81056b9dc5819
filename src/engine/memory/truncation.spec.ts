// Long stacks are simulated as two short ones and extrapolated. The layer lists are derived here
// from each model's published layer pattern (Hugging Face configs); the extrapolation is held to
// a quantity whose value for the whole stack is counted by hand.
import { H200 } from '../../../test/support/gpus';
import { architectureFromConfig, normalizeRequest, planFromRequest } from '..';
import { loadCatalog } from '../../catalog/catalog';
import { extrapolate, SIMULATED_WHOLE, truncation } from './truncation';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A small Llama: every layer the same kind. */
function llama(layers: number) {
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: 256,
    intermediate_size: 512,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 64,
    num_hidden_layers: layers,
    vocab_size: 1024,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    tie_word_embeddings: false,
  };
}

describe('truncation: which layers stand for a long stack', () => {
  it('simulates a stack of up to 128 layers whole', () => {
    expect(SIMULATED_WHOLE).toBe(128);
    expect(truncation(architectureFromConfig('llama', llama(128)), range(0, 128))).toBeUndefined();
    expect(truncation(architectureFromConfig('llama', llama(129)), range(0, 129))).toEqual({
      short: [...range(0, 8), ...range(125, 129)],
      long: [...range(0, 12), ...range(125, 129)],
    });
  });

  it('simulates every catalog model whole, the deepest included', () => {
    // The allocator's slack grows with the stack, so a truncated one reserves too little: no
    // model a user picks from the list may be truncated.
    const deepest = Math.max(...loadCatalog().models().map((model) => model.numLayers));
    expect(deepest).toBeGreaterThanOrEqual(126); // Llama-3.1-405B
    expect(deepest).toBeLessThanOrEqual(SIMULATED_WHOLE);
  });

  it('one kind of layer: a period of one widened to four layers; 8 + 4 and 12 + 4 layers', () => {
    const arch = architectureFromConfig('llama', llama(200));
    // prefix 0, period 1 -> step 4; head = 2 steps; the tail is the last step of the stack.
    expect(truncation(arch, range(0, 200))).toEqual({
      short: [...range(0, 8), ...range(196, 200)],
      long: [...range(0, 12), ...range(196, 200)],
    });
  });

  it('Gemma 2 alternates sliding and full attention: a period of two', () => {
    // Gemma 2's own 42 layers are simulated whole; a stack of 142 of its layers is not.
    const arch = architectureFromConfig('gemma-2-9b', {
      architectures: ['Gemma2ForCausalLM'],
      model_type: 'gemma2',
      hidden_size: 3584,
      intermediate_size: 14336,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 256,
      num_hidden_layers: 142,
      vocab_size: 256000,
      sliding_window: 4096,
      max_position_embeddings: 8192,
      query_pre_attn_scalar: 256,
      hidden_activation: 'gelu_pytorch_tanh',
      rms_norm_eps: 1e-6,
    });
    // Layers 0, 2, 4, ... slide (modeling_gemma2: sliding on even layer indices): the lists
    // must keep whole periods (a step of two periods, four layers), so both end with sliding
    // and full layers 138-141.
    expect(truncation(arch, range(0, 142))).toEqual({
      short: [...range(0, 8), ...range(138, 142)],
      long: [...range(0, 12), ...range(138, 142)],
    });
  });

  it('DeepSeek-V3: three dense layers, then mixture-of-experts ones (a prefix of three)', () => {
    // DeepSeek-V3's config with 161 layers in place of its 61 (simulated whole).
    const arch = architectureFromConfig('deepseek-v3', {
      architectures: ['DeepseekV3ForCausalLM'],
      model_type: 'deepseek_v3',
      first_k_dense_replace: 3,
      hidden_act: 'silu',
      hidden_size: 7168,
      intermediate_size: 18432,
      kv_lora_rank: 512,
      max_position_embeddings: 163840,
      moe_intermediate_size: 2048,
      moe_layer_freq: 1,
      n_group: 8,
      n_routed_experts: 256,
      n_shared_experts: 1,
      norm_topk_prob: true,
      num_attention_heads: 128,
      num_experts_per_tok: 8,
      num_hidden_layers: 161,
      num_key_value_heads: 128,
      q_lora_rank: 1536,
      qk_nope_head_dim: 128,
      qk_rope_head_dim: 64,
      v_head_dim: 128,
      vocab_size: 129280,
      rms_norm_eps: 1e-6,
      topk_group: 4,
    });
    // All three dense layers, then two steps of four MoE layers, plus the last four.
    expect(truncation(arch, range(0, 161))).toEqual({
      short: [...range(0, 11), ...range(157, 161)],
      long: [...range(0, 15), ...range(157, 161)],
    });
  });
});

describe('extrapolate', () => {
  it('is exact for a quantity linear in the number of layers', () => {
    const t = { short: range(0, 6), long: range(0, 8) };
    const bytes = (layers: number) => 7_340_032 + 1_180_672 * layers;
    expect(extrapolate(bytes(6), bytes(8), t, 80)).toBe(bytes(80));
    expect(extrapolate(bytes(6), bytes(8), t, 33)).toBe(bytes(33));
  });

  it('gives a 140-layer plan the weights and optimizer states counted by hand', () => {
    // 140 layers > 128: simulated as 12 and 16 layers and extrapolated. bf16-pure full fine-tune,
    // fused AdamW: weights and states do not change within a step, so at the peak they are
    // exactly the model's, whatever moment the peak is.
    const config = llama(140);
    const arch = architectureFromConfig('llama-140', config);
    const input = {
      model: config,
      cluster: { gpu: 'h200', gpusPerNode: 1 },
      training: {
        method: 'full' as const,
        precision: 'bf16-pure' as const,
        optimizer: 'adamw' as const,
        microBatchSize: 1,
        sequenceLength: 128,
      },
      runtime: { foreachOptimizer: false },
    };
    const result = planFromRequest(normalizeRequest(input, H200, arch), arch, H200);
    const rank = result.memory.perGpu;
    // Per layer, bf16: q 256x256, k and v 256x128, o 256x256, gate/up/down 256x512, two
    // 256-element norms (512 B blocks each).
    const layer = 2 * (256 * 256 * 2) + 2 * (256 * 128 * 2) + 3 * (256 * 512 * 2) + 2 * 512;
    const outside = 2 * (1024 * 256 * 2) + 512; // embedding, untied head, final norm
    const weights = 140 * layer + outside;
    expect(rank.breakdown.weights).toBe(weights);
    // exp_avg and exp_avg_sq like each parameter, and a 0-d fp32 step counter (512 B) for each
    // of the 140 x 9 + 3 parameters (fused AdamW, torch/optim/adam.py _init_group).
    expect(rank.breakdown.optimizerStates).toBe(2 * weights + (140 * 9 + 3) * 512);
    expect(JSON.stringify(result)).toContain('140 layers simulated as 12 and 16');
  });
});
