import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PlanValidationError } from '../engine';
import { GPU_FIXTURES } from '../../test/support/gpus';
import { findDataDirectory, loadCatalog, resolveGpu, resolveModel } from './catalog';

describe('catalog', () => {
  const catalog = loadCatalog();

  it('has every contract model and GPU id', () => {
    for (const id of [
      'llama-2-7b',
      'llama-3-8b',
      'llama-3.1-405b',
      'mixtral-8x22b',
      'qwen2.5-72b',
      'gpt-2',
      'gpt-3-175b',
      'deepseek-v3',
    ]) {
      expect(catalog.findModel(id)).toBeDefined();
    }
    for (const id of [
      'a100-40gb',
      'a100-80gb',
      'h100-80gb',
      'h100-nvl',
      'h200',
      'b200',
      'l40s',
      'l4',
      'a10g',
      'v100-16gb',
      'v100-32gb',
      'rtx-3090',
      'rtx-4090',
      'mi300x',
    ]) {
      expect(catalog.findGpu(id)).toBeDefined();
    }
  });
  it('carries the 33 models of the shared catalog, one per newer family, 20 accelerators, each alias resolving', () => {
    // 33 shared entries + gemma-3-4b, llama-4-scout-17b-16e, llama-3.2-11b-vision,
    // qwen2.5-vl-7b, phi-3.5-moe, gpt-oss-20b, mamba-2.8b, jamba-1.5-mini and bart-large.
    expect(catalog.modelIds()).toHaveLength(33 + 9);
    expect(catalog.gpuIds()).toHaveLength(20);
    for (const model of catalog.models()) {
      if (model.hfId) expect(catalog.findModel(model.hfId.toUpperCase())?.id).toBe(model.id);
    }
  });
  it.each(GPU_FIXTURES.map((gpu) => [gpu.id, gpu]))(
    "gives %s its datasheet's figures: nvidia-smi's total, one direction of NVLink, dense bf16",
    (id, gpu) => {
      const { interconnect: _words, priceSource: _source, ...figures } = gpu;
      expect(catalog.findGpu(id)).toMatchObject(figures);
    },
  );
  it('gives V100 its fp16 tensor peak (it has no bf16) and every card a whole number of bytes', () => {
    expect(catalog.findGpu('v100-32gb')!.bf16FlopsPerSecond).toBe(125e12);
    for (const gpu of catalog.gpus()) expect(Number.isInteger(gpu.memoryBytes)).toBe(true);
  });
  it('adds a custom model at runtime, found by id case-insensitively', () => {
    const custom = resolveModel(catalog, {
      id: 'Tiny-Test',
      config: {
        model_type: 'llama',
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 100,
      },
    });
    const local = loadCatalog();
    local.addModel(custom);
    expect(local.findModel('tiny-test')?.hiddenSize).toBe(64);
    expect(catalog.findModel('tiny-test')).toBeUndefined();
  });
  it('accepts a Hugging Face id as an alias', () => {
    expect(resolveModel(catalog, 'meta-llama/Meta-Llama-3-8B').id).toBe('llama-3-8b');
  });
  it.each([
    ['meta-llama/Llama-3.1-8B-Instruct', 'llama-3.1-8b'],
    ['meta-llama/Meta-Llama-3.1-70B-Instruct', 'llama-3.1-70b'],
    ['google/gemma-2-9b-it', 'gemma-2-9b'],
    ['Qwen/Qwen2.5-7B-Instruct', 'qwen2.5-7b'],
    ['mistralai/Mixtral-8x7B-Instruct-v0.1', 'mixtral-8x7b'],
    ['meta-llama/Llama-2-7b-chat-hf', 'llama-2-7b'],
    ['unsloth/Llama-3.2-1B-Instruct-bnb-4bit', 'llama-3.2-1b'],
    ['neuralmagic/Qwen3-8B-FP8', 'qwen3-8b'],
    ['Qwen/Qwen3-30B-A3B-Base', 'qwen3-30b-a3b'],
    ['google/gemma-3-4b-it', 'gemma-3-4b'],
  ])('resolves the variant %s to its base entry %s and says so', (name, id) => {
    const lookup = catalog.lookupModel(name);
    expect(lookup?.model.id).toBe(id);
    expect(lookup?.note).toContain(`catalog entry '${id}'`);
  });
  it('keeps apart what only looks alike: another version or size is not a variant', () => {
    // Mistral-7B-v0.3 has a 32,768-token vocabulary where the catalog's v0.1 has 32,000.
    expect(catalog.lookupModel('mistralai/Mistral-7B-Instruct-v0.3')).toBeUndefined();
    expect(catalog.lookupModel('meta-llama/Llama-3.1-8B')?.note).toBeUndefined();
    expect(catalog.lookupModel('meta-llama/Llama-3.1-9B-Instruct')).toBeUndefined();
  });
  it('keeps nvidia-smi totals: 81,920 MiB for an A100 80GB, 81,559 MiB for an H100 SXM', () => {
    expect(catalog.findGpu('a100-80gb')!.memoryBytes).toBe(81920 * 2 ** 20);
    expect(catalog.findGpu('h100-80gb')!.memoryBytes).toBe(81559 * 2 ** 20);
  });
  it('names the field and the known ids for an unknown model or GPU', () => {
    expect(() => resolveModel(catalog, 'llama-9b')).toThrow(PlanValidationError);
    // (Asserted outside a catch block, so a GPU that resolved would fail the test.)
    const refusal = (() => {
      try {
        resolveGpu(catalog, 'tpu-v9');
      } catch (error) {
        return (error as PlanValidationError).errors[0];
      }
      return undefined;
    })();
    expect(refusal?.field).toBe('cluster.gpu');
    expect(refusal?.message).toContain('known: a100-40gb');
  });
  it('stops the boot on a broken entry, naming it', () => {
    const directory = mkdtempSync(join(tmpdir(), 'catalog-'));
    const models = JSON.parse(readFileSync(join(findDataDirectory(), 'models.json'), 'utf8'));
    models.models[3].hiddenSize = -1;
    writeFileSync(join(directory, 'models.json'), JSON.stringify(models));
    writeFileSync(
      join(directory, 'gpus.json'),
      readFileSync(join(findDataDirectory(), 'gpus.json')),
    );
    expect(() => loadCatalog(directory)).toThrow(/entry 'llama-3-8b' has an invalid hiddenSize/);
  });
});
