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
  it('carries all 33 models and 20 accelerators of the shared catalog, each alias resolving', () => {
    expect(catalog.modelIds()).toHaveLength(33);
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
