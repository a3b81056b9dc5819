import { deepseekV3, llama3_8b } from './architectures.fixture';
import {
  lastPositionLogitsBytes,
  layerWorkspaceElementsPerToken,
  prefillWorkspaceBytes,
} from './workspace';

describe('serving workspace of one layer', () => {
  it('Llama-3-8B: residual and normed input 2h, then the gated MLP 3f outweighs q/k/v/out', () => {
    const attention = 2 * 32 * 128 + 2 * 8 * 128; // q and output 4,096 each, k and v 1,024 each
    const mlp = 3 * 14336; // fused gate/up 2f, activated f
    expect(mlp).toBeGreaterThan(attention);
    expect(layerWorkspaceElementsPerToken(llama3_8b, 0, 1)).toBe(2 * 4096 + mlp);
    expect(layerWorkspaceElementsPerToken(llama3_8b, 0, 4)).toBe(2 * 4096 + mlp / 4);
  });
  it('DeepSeek-V3 MoE layer: 8 experts x 3 x 2,048, 8 partial outputs of h, one shared expert', () => {
    const mlp = 8 * 3 * 2048 + 8 * 7168 + 3 * 2048;
    expect(layerWorkspaceElementsPerToken(deepseekV3, 3, 1)).toBe(2 * 7168 + mlp);
  });
  it('DeepSeek-V3 dense layer: MLA decompressed q, k, v and output outweigh the 3 x 18,432 MLP', () => {
    const attention = 1536 + 512 + 64 + 2 * 128 * 192 + 2 * 128 * 128;
    expect(attention).toBeGreaterThan(3 * 18432);
    expect(layerWorkspaceElementsPerToken(deepseekV3, 0, 1)).toBe(2 * 7168 + attention);
  });
});

describe('prefill workspace and logits', () => {
  const perToken = 2 * 4096 + 3 * 14336;
  it('flash attention: batch 2 x 1,024 prompt tokens x one layer in 16 bits', () => {
    expect(prefillWorkspaceBytes(llama3_8b, 0, 32, 1, 2, 1024, 'flash')).toBe(2048 * perToken * 2);
  });
  it('eager attention adds the 32-head 1,024 x 1,024 scores and probabilities in 16 bits', () => {
    expect(prefillWorkspaceBytes(llama3_8b, 0, 32, 1, 2, 1024, 'eager')).toBe(
      2048 * perToken * 2 + 2 * 32 * 1024 * 2048 * 2,
    );
  });
  it('chunked prefill: 8 prompts of 4,096 tokens take 8,192 tokens per forward', () => {
    expect(prefillWorkspaceBytes(llama3_8b, 0, 32, 1, 8, 4096, 'flash', 8192)).toBe(
      8192 * perToken * 2,
    );
  });
  it('a chunk larger than the batch changes nothing: 2 x 1,024 tokens at once', () => {
    expect(prefillWorkspaceBytes(llama3_8b, 0, 32, 1, 2, 1024, 'flash', 8192)).toBe(
      2048 * perToken * 2,
    );
  });
  it('eager attention scores a chunk of 8,192 queries against up to 4,096 keys, 32 heads', () => {
    expect(prefillWorkspaceBytes(llama3_8b, 0, 32, 1, 8, 4096, 'eager', 8192)).toBe(
      8192 * perToken * 2 + 2 * 32 * 4096 * 8192 * 2,
    );
  });
  it('logits: fp32 over 128,256 tokens for the last position of 4 sequences', () => {
    expect(lastPositionLogitsBytes(llama3_8b, 4)).toBe(4 * 128256 * 4);
  });
});
