import { requestShapeErrors } from './check-request';

describe('requestShapeErrors (the API DTO checks, run in the CLI)', () => {
  it('passes the README example request', () => {
    expect(
      requestShapeErrors({
        model: 'llama-3-8b',
        cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
        training: {
          method: 'full',
          precision: 'bf16-mixed',
          optimizer: 'adamw',
          sequenceLength: 4096,
          microBatchSize: 1,
        },
        parallelism: { zeroStage: 3 },
      }),
    ).toEqual([]);
  });

  it('names each bad field by its dotted path, as the API does', () => {
    const errors = requestShapeErrors({
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
    expect(requestShapeErrors({}).map((e) => e.field)).toEqual(['model', 'cluster']);
  });
});
