// Interim guards for the newer families until the layer recipes replace this module: a
// state-space layer keeps no scores, keys or values; windows bound what a layer caches.
import { readFileSync } from 'fs';
import { join } from 'path';
import { architectureFromConfig } from '../model/architecture';
import { cachedTokens, stageKvCacheBytes } from '../inference/kv-cache';
import { normalizeRequest } from '../request/normalize';
import { layerTokenBytes } from './activations';

const fixture = (name: string) =>
  architectureFromConfig(
    name,
    JSON.parse(
      readFileSync(join(__dirname, '../../../test/fixtures/configs', `${name}.json`), 'utf8'),
    ) as Record<string, unknown>,
  );

describe('state-space layers in the current activation model', () => {
  const mamba = fixture('mamba-2.8b-hf');
  const eager = normalizeRequest({
    model: 'mamba',
    cluster: { gpu: 'h100-80gb' },
    runtime: { attention: 'eager' },
  });
  it('keep no attention scores, even under eager attention', () => {
    expect(layerTokenBytes(mamba, eager, 0).scoresPerSeqToken).toBe(0);
  });
  it("keep the mixer's projections: 2 x d_inner from in_proj, the convolved x, dt/B/C, dt, y and y x z", () => {
    const d = 5120;
    const e = 2; // bf16
    const mixer = e * (2 * d + d + (160 + 2 * 16) + d + 2 * d);
    expect(layerTokenBytes(mamba, eager, 0).insideTp).toBe(mixer);
  });
});

describe('what each layer caches while serving', () => {
  it('Jamba: only its 4 attention layers keep keys and values (2 x 8 heads x 128 each)', () => {
    const jamba = fixture('ai21-jamba-1.5-mini');
    const bytes = stageKvCacheBytes(jamba, 0, 32, 1, 'bf16', 1, 1000);
    expect(bytes).toBe(4 * 2 * 8 * 128 * 2 * 1000);
  });
  it('Gemma-3 local layers keep 1,024 tokens, Llama-4 chunked layers 8,192, Mamba none', () => {
    expect(cachedTokens(fixture('gemma-3-4b-it'), 0, 32768)).toBe(1024);
    expect(cachedTokens(fixture('gemma-3-4b-it'), 5, 32768)).toBe(32768);
    expect(cachedTokens(fixture('llama-4-scout-17b-16e-instruct'), 0, 32768)).toBe(8192);
    expect(cachedTokens(fixture('llama-4-scout-17b-16e-instruct'), 3, 32768)).toBe(32768);
    expect(cachedTokens(fixture('mamba-2.8b-hf'), 0, 32768)).toBe(0);
  });
});
