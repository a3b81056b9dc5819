// The API's own request checks, run in-process, so the CLI without --server words errors alike.
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors, VALIDATION_PIPE_OPTIONS } from '../common/validation';
import type { PlanRequestInput } from '../engine';
import { FieldError } from '../engine';
import { PlanRequestDto } from '../planning/dto/plan-request.dto';

/** Field errors the API's ValidationPipe would answer for this body; empty when it passes. */
export function requestShapeErrors(body: Record<string, unknown>): FieldError[] {
  const request = plainToInstance(PlanRequestDto, body);
  const errors = validateSync(request, {
    whitelist: VALIDATION_PIPE_OPTIONS.whitelist,
    forbidNonWhitelisted: VALIDATION_PIPE_OPTIONS.forbidNonWhitelisted,
    forbidUnknownValues: VALIDATION_PIPE_OPTIONS.forbidUnknownValues,
    validationError: VALIDATION_PIPE_OPTIONS.validationError,
  });
  return flattenValidationErrors(errors);
}

/** The body as a PlanRequestInput once it passes the API's checks; throws their field errors. */
export function checkedRequest(body: Record<string, unknown>): PlanRequestInput {
  const errors = requestShapeErrors(body);
  if (errors.length > 0) throw new RequestShapeError(errors);
  return body as unknown as PlanRequestInput;
}

/** A request the API's DTO would refuse with a 400: the same field errors, raised locally. */
export class RequestShapeError extends Error {
  constructor(public readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    this.name = 'RequestShapeError';
  }
}
