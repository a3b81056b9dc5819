import { EXAMPLE_PLAN_REQUEST } from '../common/openapi';
import { PlanValidationError } from '../engine';
import { checkedRequest, requestShapeErrors, RequestShapeError } from './validate-request';

// The README's example (the OpenAPI document's too): Llama-3-8B on 8 x A100 80GB at ZeRO-3.
const EXAMPLE = EXAMPLE_PLAN_REQUEST;

describe('requestShapeErrors (the HTTP DTO rules, run in-process)', () => {
  it('passes the README example request', () => {
    expect(requestShapeErrors('plan', EXAMPLE)).toEqual([]);
  });

  it('names each bad field by its dotted path, as the API does', () => {
    const errors = requestShapeErrors('plan', {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', gpusPerNode: 'eight' },
      training: { method: 'dora' },
      parallelism: { zeroStage: 4, tensorParallel: 0 },
      colour: 'blue',
    });
    expect(errors.map((e) => e.field).sort()).toEqual([
      'cluster.gpusPerNode',
      'colour',
      'parallelism.tensorParallel',
      'parallelism.zeroStage',
      'training.method',
    ]);
    for (const error of errors) expect(error.message.length).toBeGreaterThan(10);
  });

  it('asks for the model and the cluster when they are missing', () => {
    expect(requestShapeErrors('plan', {}).map((e) => e.field)).toEqual(['model', 'cluster']);
  });

  it('checks a comparison and a search by their own shapes', () => {
    expect(requestShapeErrors('compare', { base: EXAMPLE, vary: 'colour' })[0].field).toBe('vary');
    const search = { model: 'llama-3-8b', cluster: { gpu: 'h100-80gb', gpus: 8 } };
    expect(requestShapeErrors('search', search)).toEqual([]);
    expect(requestShapeErrors('search', { ...search, top: 0 })[0].field).toBe('top');
    // A search has no name: it plans layouts, it saves nothing.
    expect(requestShapeErrors('search', { ...search, name: 'x' })[0].field).toBe('name');
  });
});

describe('checkedRequest', () => {
  it('returns the body itself once it passes', () => {
    expect(checkedRequest('plan', EXAMPLE)).toBe(EXAMPLE);
  });

  it('throws the field errors as a PlanValidationError, which every caller reports as a 400', () => {
    const refuse = () => checkedRequest('plan', { ...EXAMPLE, training: { microBatchSize: -1 } });
    expect(refuse).toThrow(RequestShapeError);
    expect(refuse).toThrow(PlanValidationError);
    expect(refuse).toThrow(
      /training\.microBatchSize: microBatchSize must be an integer from 1 to 65536, e.g. 1 \(got -1\)/,
    );
  });
});
