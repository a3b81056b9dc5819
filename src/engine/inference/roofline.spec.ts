import { llama3_8b, mistral7b, t5Base } from './architectures.fixture';
import {
  causalAttentionPairs,
  decodeFlopsPerToken,
  prefillFlops,
  ringAllReduceSeconds,
  rooflineSeconds,
  routedExpertReadFraction,
} from './roofline';

describe('roofline time', () => {
  it("the seed's Llama-7B decode: 14 GB of fp16 weights over 1.5 TB/s is about 9.3 ms per token", () => {
    const seconds = rooflineSeconds({
      flops: 2 * 7e9, // one token through 7e9 parameters
      bytesReadPerGpu: 7e9 * 2, // fp16 weights, no KV cache
      parallelGpus: 1,
      peakFlopsPerSecond: 312e12,
      efficiency: 0.4,
      memoryBandwidthBytesPerSecond: 1.5e12,
      communicationSeconds: 0,
    });
    expect(seconds).toBeCloseTo(14e9 / 1.5e12, 12);
    expect(seconds * 1000).toBeCloseTo(9.33, 2);
  });
  it('a compute-bound prefill takes FLOPs / (gpus x peak x efficiency), plus communication', () => {
    const seconds = rooflineSeconds({
      flops: 1e15,
      bytesReadPerGpu: 16e9,
      parallelGpus: 2,
      peakFlopsPerSecond: 989e12,
      efficiency: 0.5,
      memoryBandwidthBytesPerSecond: 3.35e12,
      communicationSeconds: 0.001,
    });
    expect(seconds).toBeCloseTo(1e15 / (2 * 989e12 * 0.5) + 0.001, 12);
  });
});

describe('FLOPs of serving', () => {
  // 32 layers of 218,103,808 linear weights and 8,192 norm weights each.
  const llamaLayers = 32 * (218103808 + 8192);
  const attentionPerPair = 2 * 32 * (128 + 128); // QK^T and AV over 32 heads of 128

  it('causal attention scores s^2/2 pairs, w s - w^2/2 under a window', () => {
    expect(causalAttentionPairs(4096)).toBe((4096 * 4096) / 2);
    expect(causalAttentionPairs(8192, 4096)).toBe(4096 * 8192 - (4096 * 4096) / 2);
    expect(causalAttentionPairs(1000, 4096)).toBe(500000);
  });
  it('Llama-3-8B prefill of 2 x 2,048 tokens: 2 P per token, the head once per sequence, causal attention', () => {
    const perSequence =
      2 * llamaLayers * 2048 + 2 * 128256 * 4096 + 32 * ((2048 * 2048) / 2) * attentionPerPair;
    expect(prefillFlops(llama3_8b, 2, 2048)).toBe(2 * perSequence);
  });
  it('Llama-3-8B decode at 1,000 tokens of context: 2 P + 2 V h + one query over 1,000 keys per layer', () => {
    expect(decodeFlopsPerToken(llama3_8b, 1000)).toBe(
      2 * llamaLayers + 2 * 128256 * 4096 + 32 * 1000 * attentionPerPair,
    );
  });
  it("Mistral's windowed layers attend to at most 4,096 keys", () => {
    expect(decodeFlopsPerToken(mistral7b, 10000) - decodeFlopsPerToken(mistral7b, 4096)).toBe(0);
  });
});

describe('communication and expert reads', () => {
  it('a ring all-reduce sends 2 (n - 1) / n of the message per GPU', () => {
    expect(ringAllReduceSeconds(1e9, 8, 450e9)).toBeCloseTo((1e9 * 1.75) / 450e9, 15);
    expect(ringAllReduceSeconds(1e9, 1, 450e9)).toBe(0);
  });
  it('one token reads k of E experts; many tokens read nearly all', () => {
    expect(routedExpertReadFraction(8, 2, 1)).toBe(0.25);
    expect(routedExpertReadFraction(8, 2, 2)).toBe(1 - 0.75 * 0.75);
    expect(routedExpertReadFraction(256, 8, 4096)).toBeCloseTo(1, 10);
  });
});

describe('FLOPs of a served encoder-decoder (T5)', () => {
  // t5-base (architectures.fixture.ts): no biases; the first block of each stack holds the
  // relative bias table (32 buckets x 12)
  const t5 = t5Base;
  const attention = 4 * 768 * 768;
  const feedForward = 2 * 768 * 3072;
  const encoderLayer = attention + feedForward + 2 * 768; // two RMSNorm weights
  const decoderLayer = 2 * attention + feedForward + 3 * 768; // self- and cross-attention
  const table = 32 * 12;
  const perPair = 2 * 12 * (64 + 64);
  const head = 2 * 32128 * 768;

  it('decodes through the decoder alone: its 12 blocks, the head, one query against the context', () => {
    const decoder = 12 * decoderLayer + table;
    expect(decodeFlopsPerToken(t5, 1000)).toBe(2 * decoder + head + 12 * 1000 * perPair);
  });

  it('prefills the encoder over the prompt, both ways, and the decoder over its start token', () => {
    // the encoder's final_layer_norm ends its stack, over every prompt token
    const encoder = 12 * encoderLayer + table + 768;
    const decoder = 12 * decoderLayer + table;
    const prompt = 100;
    const encoderWork = 2 * encoder * prompt + 12 * prompt * prompt * perPair;
    // the start token: a causal pair of 1 / 2 with itself and one against each prompt position
    const decoderWork = 2 * decoder + 12 * (1 / 2 + prompt) * perPair;
    expect(prefillFlops(t5, 2, prompt)).toBe(2 * (encoderWork + decoderWork + head));
  });
});
