// The one set of ValidationPipe options, and how class-validator's errors become field errors.
import { BadRequestException, ValidationPipeOptions } from '@nestjs/common';
import { ValidationError } from 'class-validator';
import { FieldError } from '../engine';
import { mustBeObjectMessage } from './validators';

/** A request body or query that failed its DTO's rules; the problem filter lists `errors`. */
export class RequestValidationException extends BadRequestException {
  constructor(public readonly errors: FieldError[]) {
    super(`${errors.length} invalid field(s): ${errors.map((e) => e.field).join(', ')}`);
  }
}

/** class-validator's own wording for the two structural checks, reworded for users. */
function messageFor(field: string, constraint: string, message: string): string {
  const last = field.split('.').pop() ?? field;
  // A list item is named by its path ('variants.0'), since its index alone says nothing.
  const name = /^\d+$/.test(last) ? field : last;
  if (constraint === 'whitelistValidation') {
    return `unknown field '${name}'; remove it (check its spelling and nesting)`;
  }
  if (constraint === 'nestedValidation') return mustBeObjectMessage(name);
  return message;
}

/** Depth-first walk of nested errors into dotted paths such as `training.microBatchSize`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const flat: FieldError[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = Object.entries(error.constraints ?? {});
    // A missing required object only needs "is required", not also "must be an object".
    const relevant = constraints.some(([constraint]) => constraint === 'isDefined')
      ? constraints.filter(([constraint]) => constraint === 'isDefined')
      : constraints;
    const messages = new Set(
      relevant.map(([constraint, message]) => messageFor(field, constraint, message)),
    );
    for (const message of messages) flat.push({ field, message });
    flat.push(...flattenValidationErrors(error.children ?? [], field));
  }
  return flat;
}

/** Global ValidationPipe options: strip nothing silently, reject unknown fields, build DTOs. */
export const VALIDATION_PIPE_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors: ValidationError[]) =>
    new RequestValidationException(flattenValidationErrors(errors)),
};
