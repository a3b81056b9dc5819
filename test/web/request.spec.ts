// How the page turns its form into the API's request bodies, and back.
import {
  buildRequest,
  defaultRequest,
  fieldApplies,
  gpusNeededBody,
  getPath,
  parseTags,
  requestFromHash,
  requestSummary,
  saveBody,
  searchBody,
  setPath,
} from '../../public/js/request.js';
import { DEFAULTS } from '../../src/application/vocabulary';

/** A form field as the page reads it. */
const text = (name: string, value: string) => ({ name, value, numeric: false });
const number = (name: string, value: string) => ({ name, value, numeric: true });

describe('the form as a PlanRequest', () => {
  const training = [
    text('model', 'llama-3-8b'),
    text('cluster.gpu', 'a100-80gb'),
    number('cluster.gpusPerNode', '8'),
    text('workload', 'training'),
    text('training.method', 'lora'),
    text('training.lora.targetModules', 'q_proj,v_proj'),
    number('parallelism.zeroStage', '3'),
    number('inference.batchSize', '16'),
    number('training.lora.rank', ''),
  ];

  it('nests dotted names, reads numbers as numbers and LoRA targets as a list', () => {
    expect(buildRequest(training)).toEqual({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
      workload: 'training',
      training: { method: 'lora', lora: { targetModules: ['q_proj', 'v_proj'] } },
      parallelism: { zeroStage: 3 },
    });
  });

  it('leaves out what the workload or method does not use, and empty fields', () => {
    const serving = buildRequest(
      training.map((f) => (f.name === 'workload' ? text('workload', 'inference') : f)),
    );
    expect(serving.inference).toEqual({ batchSize: 16 });
    expect(serving.training).toBeUndefined();
    expect(serving.parallelism).toBeUndefined(); // the ZeRO stage is a training setting
    expect(fieldApplies('training.lora.rank', 'training', 'full')).toBe(false);
    expect(fieldApplies('parallelism.tensorParallel', 'inference', 'full')).toBe(true);
  });

  it("keeps 'all-linear' as the one string the API takes for every linear layer", () => {
    const all = buildRequest([
      text('training.method', 'lora'),
      text('training.lora.targetModules', 'all-linear'),
    ]);
    expect(all.training?.lora?.targetModules).toBe('all-linear');
  });

  it('reads the DoRA switch as true or false', () => {
    const dora = buildRequest([
      text('training.method', 'lora'),
      text('training.lora.useDora', 'true'),
    ]);
    expect(dora.training?.lora?.useDora).toBe(true);
  });

  it('reads and writes dotted paths', () => {
    const target: Record<string, unknown> = { a: 1 };
    setPath(target, 'training.lora.rank', 8);
    expect(target).toEqual({ a: 1, training: { lora: { rank: 8 } } });
    expect(getPath(target, 'training.lora.rank')).toBe(8);
    expect(getPath(target, 'training.qlora.doubleQuant')).toBeUndefined();
  });
});

describe('bodies built from the request', () => {
  const request = {
    model: 'llama-3-70b',
    cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
    training: { sequenceLength: 8192, microBatchSize: 2, activationCheckpointing: 'full' as const },
    parallelism: { zeroStage: 3 as const, tensorParallel: 2 },
    runtime: { preset: 'torchtitan' as const },
  };

  it('a search keeps model, cluster, training and runtime, and lets the API choose the rest', () => {
    expect(searchBody(request, 'cost', 20)).toEqual({
      model: 'llama-3-70b',
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
      training: { sequenceLength: 8192 },
      runtime: { preset: 'torchtitan' },
      objective: 'cost',
      top: 20,
    });
    expect(request.training.microBatchSize).toBe(2); // the form's request is not changed
  });

  it('a save carries the name and the tags typed, and nothing when they are blank', () => {
    expect(saveBody(request, ' 70B run ', 'budget-q4, , demo')).toMatchObject({
      name: '70B run',
      tags: ['budget-q4', 'demo'],
    });
    const unlabelled = saveBody(request, '  ', '');
    expect('name' in unlabelled || 'tags' in unlabelled).toBe(false);
    expect(parseTags(' a,b ,, c ')).toEqual(['a', 'b', 'c']);
  });

  it('a panel names the request it was made for in a few words', () => {
    expect(requestSummary(request)).toBe('llama-3-70b on 2 x 8 h100-80gb, ZeRO-3, sequence 8192');
    expect(requestSummary({ ...request, workload: 'inference' })).toBe(
      'llama-3-70b on 2 x 8 h100-80gb, serving',
    );
  });
});

describe('where the form starts', () => {
  it("from a shared link's request, and from nothing when the link is broken", () => {
    const shared = { model: 'mistral-7b', cluster: { gpu: 'l40s' } };
    expect(requestFromHash(`#plan=${encodeURIComponent(JSON.stringify(shared))}`)).toEqual(shared);
    expect(requestFromHash('#plan=%7Bnot-json')).toBeNull();
    expect(requestFromHash('#plan=%5B1%5D')).toBeNull(); // a list is not a request
    expect(requestFromHash('')).toBeNull();
  });

  it("from the API's defaults, LoRA's beside training's where the form shows them", () => {
    const start = defaultRequest(DEFAULTS);
    expect(getPath(start, 'training.sequenceLength')).toBe(DEFAULTS.training.sequenceLength);
    expect(getPath(start, 'training.lora.rank')).toBe(DEFAULTS.lora.rank);
    expect(getPath(start, 'inference.promptLength')).toBe(DEFAULTS.inference.promptLength);
    expect(getPath(start, 'cluster.nodes')).toBe(DEFAULTS.cluster.nodes);
    // The loss stays the preset's until chosen: only the preset is set of the runtime.
    expect(getPath(start, 'runtime')).toEqual({ preset: DEFAULTS.runtime.preset });
    expect(getPath(start, 'parallelism.sequenceParallel')).toBeUndefined();
  });

  it('reads a switch as a boolean', () => {
    const request = buildRequest([
      text('model', 'llama-3-8b'),
      text('parallelism.sequenceParallel', 'true'),
    ]);
    expect(request.parallelism?.sequenceParallel).toBe(true);
  });

  it('asks how many GPUs for the job: the layout and the count left to the API', () => {
    const body = gpusNeededBody({
      model: 'llama-3.1-70b',
      cluster: { gpu: 'l40s', nodes: 1, gpusPerNode: 1 },
      training: {
        method: 'qlora',
        sequenceLength: 2048,
        microBatchSize: 2,
        activationCheckpointing: 'full',
      },
      parallelism: { zeroStage: 3, tensorParallel: 2 },
      runtime: { preset: 'none' },
    });
    expect(body).toEqual({
      model: 'llama-3.1-70b',
      cluster: { gpu: 'l40s' },
      training: { method: 'qlora', sequenceLength: 2048 },
      runtime: { preset: 'none' },
    });
    const nodes = gpusNeededBody({ model: 'm', cluster: { gpu: 'h100-80gb', gpusPerNode: 8 } });
    expect(nodes.cluster).toEqual({ gpu: 'h100-80gb', gpusPerNode: 8 });
  });
});
