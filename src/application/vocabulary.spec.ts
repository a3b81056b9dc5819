import { requestShapeErrors } from './validate-request';
import { ENUMS } from './vocabulary';

/** Where each listed set of values is sent in a PlanRequest. */
const FIELDS_OF: Partial<Record<keyof typeof ENUMS, string[]>> = {
  workload: ['workload'],
  method: ['training.method'],
  preference: ['training.preference'],
  precision: ['training.precision'],
  optimizer: ['training.optimizer'],
  activationCheckpointing: ['training.activationCheckpointing'],
  zeroStage: ['parallelism.zeroStage'],
  pipelineSchedule: ['parallelism.pipelineSchedule'],
  offload: ['parallelism.offload.optimizer', 'parallelism.offload.parameters'],
  preset: ['runtime.preset'],
  attention: ['runtime.attention'],
  crossEntropy: ['runtime.crossEntropy'],
  mixedPrecisionStyle: ['runtime.mixedPrecisionStyle'],
  modelCode: ['runtime.modelCode'],
  dataParallelEngine: ['runtime.dataParallelEngine'],
  adapterDtype: ['runtime.adapterDtype'],
  quantizationKernel: ['runtime.quantizationKernel'],
  fp8Recipe: ['runtime.fp8Recipe'],
  fsdpReshardAfterForward: ['runtime.fsdpReshardAfterForward'],
  weightPrecision: ['inference.weightPrecision'],
  kvCacheDtype: ['inference.kvCacheDtype'],
};

function requestWith(field: string, value: unknown): Record<string, unknown> {
  const request: Record<string, unknown> = { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb' } };
  const keys = field.split('.');
  let node = request;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]] = value;
  return request;
}

describe('the vocabulary served to the page is what the API accepts', () => {
  const cases = Object.entries(FIELDS_OF).flatMap(([name, fields]) =>
    fields!.map((field) => [field, ENUMS[name as keyof typeof ENUMS]] as const),
  );

  it.each(cases)('%s takes every listed value and refuses any other', (field, values) => {
    for (const value of values)
      expect(requestShapeErrors('plan', requestWith(field, value))).toEqual([]);
    const refused = requestShapeErrors('plan', requestWith(field, 'not-a-listed-value'));
    expect(refused.map((error) => error.field)).toEqual([field]);
    // The refusal lists the values the vocabulary lists, so the page and the error agree.
    for (const value of values) expect(refused[0].message).toContain(String(value));
  });

  it('covers every set a PlanRequest field takes', () => {
    const requestSets = Object.keys(ENUMS).filter(
      (name) => !['phase', 'objective', 'vary', 'verdict'].includes(name),
    );
    expect(Object.keys(FIELDS_OF).sort()).toEqual(requestSets.sort());
  });
});
