// One check of a request's shape for every caller: the HTTP DTOs' rules (src/planning/dto) run
// in-process, so the CLI and each compare variant are refused in the words the API uses.
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors, VALIDATION_PIPE_OPTIONS } from '../common/validation';
import { FieldError, PlanRequestInput, PlanValidationError } from '../engine';
import { CompareRequestDto } from '../planning/dto/compare-request.dto';
import { GpusNeededRequestDto } from '../planning/dto/gpus-needed-request.dto';
import { PlanRequestDto } from '../planning/dto/plan-request.dto';
import { SearchRequestDto } from '../planning/dto/search-request.dto';
import type { CompareInput } from './compare';
import type { GpusNeededRequest } from './gpus-needed';
import type { SearchRequest } from './search';

/** The DTO that states each kind of request's shape. */
const REQUEST_SHAPES = {
  plan: PlanRequestDto,
  compare: CompareRequestDto,
  search: SearchRequestDto,
  'gpus-needed': GpusNeededRequestDto,
};

export type RequestKind = keyof typeof REQUEST_SHAPES;

/** What a request of each kind is once its shape has passed. */
export interface CheckedRequests {
  plan: PlanRequestInput;
  compare: CompareInput;
  search: SearchRequest;
  'gpus-needed': GpusNeededRequest;
}

/** A request the API's ValidationPipe would refuse with a 400: the same field errors, raised here. */
export class RequestShapeError extends PlanValidationError {
  constructor(errors: FieldError[]) {
    super(errors);
    this.name = 'RequestShapeError';
  }
}

/** Field errors the API would answer for this body; empty when it passes. */
export function requestShapeErrors(kind: RequestKind, body: unknown): FieldError[] {
  const { whitelist, forbidNonWhitelisted, forbidUnknownValues, validationError } =
    VALIDATION_PIPE_OPTIONS;
  const instance = plainToInstance(REQUEST_SHAPES[kind] as new () => object, body);
  return flattenValidationErrors(
    validateSync(instance, {
      whitelist,
      forbidNonWhitelisted,
      forbidUnknownValues,
      validationError,
    }),
  );
}

/** The body, unchanged, once it passes its kind's checks; throws their field errors otherwise. */
export function checkedRequest<K extends RequestKind>(kind: K, body: unknown): CheckedRequests[K] {
  const errors = requestShapeErrors(kind, body);
  if (errors.length > 0) throw new RequestShapeError(errors);
  return body as CheckedRequests[K];
}
