import 'reflect-metadata';
import { ArgumentMetadata } from '@nestjs/common';
import { PlanRequestDto } from '../planning/dto/plan-request.dto';
import {
  RememberingValidationPipe,
  RequestValidationException,
  VALIDATION_PIPE_OPTIONS,
} from './validation';

const BODY = {
  model: 'llama-3-8b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: 4096, microBatchSize: 1 },
  parallelism: { zeroStage: 3 },
};
const AS_BODY: ArgumentMetadata = { type: 'body', metatype: PlanRequestDto, data: '' };
// A fresh parse of the same JSON for every request, as Express hands each one over.
const fresh = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

async function fieldsRefused(pipe: RememberingValidationPipe, body: object): Promise<string[]> {
  try {
    await pipe.transform(fresh(body), AS_BODY);
  } catch (error) {
    return (error as RequestValidationException).errors.map((e) => e.field);
  }
  return [];
}

describe('RememberingValidationPipe', () => {
  it('builds the same DTO for a body it has passed, as a new object each time', async () => {
    const pipe = new RememberingValidationPipe(VALIDATION_PIPE_OPTIONS);
    const first = await pipe.transform(fresh(BODY), AS_BODY);
    const again = await pipe.transform(fresh(BODY), AS_BODY);
    expect(again).toBeInstanceOf(PlanRequestDto);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    // Nested sections are their own DTO classes, as ValidationPipe builds them.
    expect((again as PlanRequestDto).training?.constructor).toBe(
      (first as PlanRequestDto).training?.constructor,
    );
  });

  it('refuses a bad body every time, and a body one field away from a passed one', async () => {
    const pipe = new RememberingValidationPipe(VALIDATION_PIPE_OPTIONS);
    const bad = { ...BODY, training: { sequenceLength: -1 } };
    expect(await fieldsRefused(pipe, bad)).toEqual(['training.sequenceLength']);
    expect(await fieldsRefused(pipe, bad)).toEqual(['training.sequenceLength']);
    expect(await fieldsRefused(pipe, BODY)).toEqual([]);
    expect(await fieldsRefused(pipe, { ...BODY, extra: 1 })).toEqual(['extra']);
  });
});
