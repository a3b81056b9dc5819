import { readFileSync } from 'fs';
import { join } from 'path';
import { architectureFromConfig } from '../model/architecture';
import {
  deepseekV3,
  gemma2_9b,
  llama2_7b,
  llama3_8b,
  mistral7b,
  t5Base,
} from './architectures.fixture';
import {
  cachedTokens,
  kvCacheBytesPerToken,
  kvElementsPerTokenPerLayer,
  stageKvCacheBytes,
  usesSlidingWindow,
} from './kv-cache';

const fixture = (name: string) =>
  architectureFromConfig(
    name,
    JSON.parse(
      readFileSync(join(__dirname, '../../../test/fixtures/configs', `${name}.json`), 'utf8'),
    ) as Record<string, unknown>,
  );

describe('KV cache bytes per token (docs/memory-model.md §7)', () => {
  it('Llama-3-8B in bf16: 2 x 32 layers x 8 KV heads x 128 x 2 bytes = 131,072 (128 KiB)', () => {
    expect(kvCacheBytesPerToken(llama3_8b, 'bf16')).toBe(2 * 32 * 8 * 128 * 2);
    expect(kvCacheBytesPerToken(llama3_8b, 'bf16')).toBe(131072);
  });
  it('Llama-2-7B (multi-head, 32 KV heads): 2 x 32 x 32 x 128 x 2 = 524,288', () => {
    expect(kvCacheBytesPerToken(llama2_7b, 'bf16')).toBe(524288);
  });
  it('fp8 and int8 caches hold one byte per element', () => {
    expect(kvCacheBytesPerToken(llama3_8b, 'fp8')).toBe(65536);
    expect(kvCacheBytesPerToken(llama3_8b, 'int8')).toBe(65536);
  });
  it('DeepSeek-V3 MLA caches the latent: 61 x (512 + 64) x 2 bytes = 70,272 (DeepSeek-V2 paper, Table 1)', () => {
    expect(kvCacheBytesPerToken(deepseekV3, 'bf16')).toBe(61 * (512 + 64) * 2);
    expect(kvCacheBytesPerToken(deepseekV3, 'bf16')).toBe(70272);
  });
});

describe('KV cache under tensor parallelism', () => {
  it('splits KV heads: Llama-3-8B at t = 2 keeps 4 heads, K and V of 128 each', () => {
    expect(kvElementsPerTokenPerLayer(llama3_8b, 2)).toBe(2 * 4 * 128);
  });
  it('replicates one KV head per rank when kv heads (8) < t (16)', () => {
    expect(kvElementsPerTokenPerLayer(llama3_8b, 16)).toBe(2 * 1 * 128);
  });
  it('keeps the whole MLA latent on every rank', () => {
    expect(kvElementsPerTokenPerLayer(deepseekV3, 8)).toBe(512 + 64);
  });
});

describe('sliding windows cap the cached tokens', () => {
  it('Mistral-7B: every layer keeps at most 4,096 tokens', () => {
    expect(cachedTokens(mistral7b, 31, 8192)).toBe(4096);
    expect(cachedTokens(mistral7b, 0, 1000)).toBe(1000);
    // batch 2 at 8,192 tokens: 32 layers x 4,096 tokens x (2 x 8 x 128 x 2 bytes) x 2 sequences
    expect(stageKvCacheBytes(mistral7b, 0, 32, 1, 'bf16', 2, 8192)).toBe(32 * 4096 * 4096 * 2);
  });
  it('Gemma-2-9B: even layers are local (HF is_sliding = layer_idx % 2 == 0), odd layers global', () => {
    expect([0, 1, 2, 3].map((layer) => usesSlidingWindow(gemma2_9b, layer))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    // 21 local layers x 4,096 + 21 global layers x 8,192 tokens, 2 x 8 x 256 x 2 bytes each
    const perTokenPerLayer = 2 * 8 * 256 * 2;
    expect(stageKvCacheBytes(gemma2_9b, 0, 42, 1, 'bf16', 1, 8192)).toBe(
      (21 * 4096 + 21 * 8192) * perTokenPerLayer,
    );
  });
  it('models without a window keep every token', () => {
    expect(usesSlidingWindow(llama3_8b, 5)).toBe(false);
  });
});

describe('KV cache of a pipeline stage', () => {
  it('Llama-3-8B layers 0-15 at t = 2, batch 4, 2,048 tokens: 16 x 2,048 x 4 x (2 x 4 x 128 x 2)', () => {
    expect(stageKvCacheBytes(llama3_8b, 0, 16, 2, 'bf16', 4, 2048)).toBe(16 * 2048 * 4 * 2048);
  });
});

describe('what each layer caches while serving', () => {
  it('Jamba: only its 4 attention layers keep keys and values (2 x 8 heads x 128 each); its 28 Mamba layers keep their fixed state', () => {
    const jamba = fixture('ai21-jamba-1.5-mini');
    const bytes = stageKvCacheBytes(jamba, 0, 32, 1, 'bf16', 1, 1000);
    // HybridMambaAttentionDynamicCache: conv_states [d_inner 8,192, d_conv 4] and ssm_states
    // [d_inner, d_state 16] per Mamba layer and sequence, in bf16, whatever the context.
    const state = (8192 * 4 + 8192 * 16) * 2;
    expect(bytes).toBe(4 * 2 * 8 * 128 * 2 * 1000 + 28 * state);
  });
  it('Mamba-2: heads x head_dim x d_state of scan state and the last 4 inputs of x, B and C per layer, split over tensor-parallel ranks', () => {
    const mamba2 = architectureFromConfig('mamba2-spec', {
      model_type: 'mamba2',
      hidden_size: 4096,
      num_hidden_layers: 64,
      num_heads: 128,
      head_dim: 64,
      state_size: 128,
      n_groups: 8,
      vocab_size: 32768,
    });
    // Mamba2Cache: conv_states [d_inner 8,192 + 2 x 8 x 128, conv 4], ssm_states [128, 64, 128]
    const perLayer = ((8192 + 2 * 8 * 128) * 4 + 128 * 64 * 128) * 2;
    expect(stageKvCacheBytes(mamba2, 0, 64, 1, 'bf16', 3, 4096)).toBe(64 * perLayer * 3);
    expect(stageKvCacheBytes(mamba2, 0, 64, 2, 'bf16', 3, 4096)).toBe((64 * perLayer * 3) / 2);
  });
  it('Gemma-3 local layers keep 1,024 tokens, Llama-4 chunked layers 8,192, Mamba none', () => {
    expect(cachedTokens(fixture('gemma-3-4b-it'), 0, 32768)).toBe(1024);
    expect(cachedTokens(fixture('gemma-3-4b-it'), 5, 32768)).toBe(32768);
    expect(cachedTokens(fixture('llama-4-scout-17b-16e-instruct'), 0, 32768)).toBe(8192);
    expect(cachedTokens(fixture('llama-4-scout-17b-16e-instruct'), 3, 32768)).toBe(32768);
    expect(cachedTokens(fixture('mamba-2.8b-hf'), 0, 32768)).toBe(0);
  });
});

describe("LFM2's convolution cache while serving", () => {
  it('each conv layer keeps [h, conv_L_cache] per sequence (Lfm2Cache conv_state); the attention layers their keys and values', () => {
    const lfm2 = architectureFromConfig('lfm2-spec', {
      model_type: 'lfm2',
      hidden_size: 2048,
      num_hidden_layers: 4,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      layer_types: ['conv', 'conv', 'full_attention', 'conv'],
    });
    const attention = 2 * 8 * 64 * 2 * 1000; // K and V, 8 heads of 64, 1,000 tokens, bf16
    const convState = 2048 * 3 * 2;
    expect(stageKvCacheBytes(lfm2, 0, 4, 1, 'bf16', 2, 1000)).toBe(2 * (attention + 3 * convState));
  });
});

describe("Qwen3-Next's Gated DeltaNet cache while serving", () => {
  it('each linear-attention layer keeps its conv window (bf16) and each value head a dk x dv fp32 state per sequence; every fourth layer keys and values', () => {
    const qwen3Next = architectureFromConfig('qwen3-next-spec', {
      model_type: 'qwen3_next',
      hidden_size: 2048,
      num_hidden_layers: 4,
      num_attention_heads: 16,
      num_key_value_heads: 2,
      head_dim: 256,
      num_experts: 0,
    });
    const attention = 2 * 2 * 256 * 2 * 1000; // K and V, 2 heads of 256, 1,000 tokens, bf16
    const conv = (2 * 16 * 128 + 32 * 128) * 4 * 2; // q, k and v channels, 4 taps, bf16
    const recurrent = 32 * 128 * 128 * 4; // 32 value heads of 128 x 128, fp32
    const linear = conv + recurrent;
    expect(linear).toBe(2_162_688);
    expect(stageKvCacheBytes(qwen3Next, 0, 4, 1, 'bf16', 2, 1000)).toBe(
      2 * (attention + 3 * linear),
    );
    // tensor parallelism splits the heads, and with them both states
    expect(stageKvCacheBytes(qwen3Next, 0, 3, 2, 'bf16', 1, 1000)).toBe((3 * linear) / 2);
  });
});

describe("Falcon-H1's layers while serving", () => {
  it("every layer keeps keys and values and its Mamba-2 mixer's conv window and scan state", () => {
    const falconH1 = architectureFromConfig('falcon-h1-spec', {
      model_type: 'falcon_h1',
      hidden_size: 512,
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      head_dim: 64,
      mamba_d_ssm: 768,
      mamba_n_heads: 24,
      mamba_d_state: 64,
    });
    const attention = 2 * 2 * 64 * 2 * 1000; // K and V, 2 heads of 64, 1,000 tokens, bf16
    const state = ((768 + 2 * 64) * 4 + 24 * 32 * 64) * 2; // conv window of x, B, C; heads x d_head x N
    expect(stageKvCacheBytes(falconH1, 0, 2, 1, 'bf16', 3, 1000)).toBe(3 * 2 * (attention + state));
  });
});

describe('an encoder-decoder (T5) while serving', () => {
  // t5-base: 12 encoder and 12 decoder blocks, 12 heads of 64.
  const t5 = t5Base;

  it('caches nothing in the encoder; each decoder layer its own tokens and the prompt (cross-attention)', () => {
    expect(cachedTokens(t5, 0, 1000)).toBe(0); // an encoder block
    expect(cachedTokens(t5, 12, 1000)).toBe(1000); // the first decoder block
    // 12 decoder layers x 2 (K, V) x 12 heads x 64 x 2 bytes per token of context
    expect(kvCacheBytesPerToken(t5, 'bf16')).toBe(12 * 2 * 12 * 64 * 2);
    expect(stageKvCacheBytes(t5, 0, 24, 1, 'bf16', 1, 1000)).toBe(12 * 2 * 12 * 64 * 2 * 1000);
  });
});
