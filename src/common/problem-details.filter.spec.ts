import { ArgumentsHost, Logger, NotFoundException } from '@nestjs/common';
import { ValidationError } from 'class-validator';
import { PlanValidationError } from '../engine';
import { ProblemDetails, ProblemDetailsFilter } from './problem-details.filter';
import { flattenValidationErrors, RequestValidationException } from './validation';

/** Runs the filter on `exception` and returns what it would send. */
function answer(exception: unknown): { status: number; type: string; body: ProblemDetails } {
  const sent: { status: number; type: string; body: string } = { status: 0, type: '', body: '' };
  const response = {
    status(code: number) {
      sent.status = code;
      return this;
    },
    type(contentType: string) {
      sent.type = contentType;
      return this;
    },
    send(body: string) {
      sent.body = body;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({
      getRequest: () => ({ method: 'POST', originalUrl: '/api/v1/plans' }),
      getResponse: () => response,
    }),
  } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return { status: sent.status, type: sent.type, body: JSON.parse(sent.body) as ProblemDetails };
}

function validationError(property: string, fields: Partial<ValidationError>): ValidationError {
  return Object.assign(new ValidationError(), { property, children: [], ...fields });
}

describe('flattenValidationErrors', () => {
  it('joins nested properties into dotted paths and rewords unknown fields', () => {
    const errors = [
      validationError('training', {
        children: [
          validationError('microBatchSize', {
            constraints: { isPositiveInteger: 'microBatchSize must be a positive integer, e.g. 1' },
          }),
          validationError('learningRate', {
            constraints: { whitelistValidation: 'property learningRate should not exist' },
          }),
        ],
      }),
      validationError('cluster', {
        constraints: { isDefined: 'cluster is required', nestedValidation: 'nested property' },
      }),
    ];
    expect(flattenValidationErrors(errors)).toEqual([
      {
        field: 'training.microBatchSize',
        message: 'microBatchSize must be a positive integer, e.g. 1',
      },
      {
        field: 'training.learningRate',
        message: "unknown field 'learningRate'; remove it (check its spelling and nesting)",
      },
      { field: 'cluster', message: 'cluster is required' },
    ]);
  });
});

describe('ProblemDetailsFilter', () => {
  it('answers DTO errors with 400 problem+json listing the fields', () => {
    const errors = [
      { field: 'training.precision', message: "precision 'fp8-magic' is not one of" },
    ];
    const { status, type, body } = answer(new RequestValidationException(errors));
    expect(status).toBe(400);
    expect(type).toBe('application/problem+json');
    expect(body).toEqual(expect.objectContaining({ status: 400, title: 'Bad Request', errors }));
  });

  it("answers the engine's PlanValidationError with 400 and its errors", () => {
    const errors = [{ field: 'parallelism.tensorParallel', message: 'must divide 32' }];
    const { status, body } = answer(new PlanValidationError(errors));
    expect(status).toBe(400);
    expect(body.errors).toEqual(errors);
  });

  it('keeps the status of HTTP exceptions', () => {
    const { status, body } = answer(new NotFoundException("no saved plan with id 'x'"));
    expect(status).toBe(404);
    expect(body).toEqual(
      expect.objectContaining({
        title: 'Not Found',
        detail: "no saved plan with id 'x'",
        errors: [],
      }),
    );
  });

  it('answers anything unexpected with 500, logs it, and leaks nothing', () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { status, body } = answer(
      new TypeError("Cannot read properties of undefined (reading 'secret')"),
    );
    expect(status).toBe(500);
    expect(JSON.stringify(body)).not.toMatch(/secret|TypeError|at /);
    expect(log).toHaveBeenCalledTimes(1);
    log.mockRestore();
  });
});
