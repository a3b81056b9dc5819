// The one set of ValidationPipe options, the global pipe that remembers what it has passed, and
// how class-validator's errors become field errors.
import {
  ArgumentMetadata,
  BadRequestException,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { ValidationError } from 'class-validator';
import { FieldError } from '../engine';
import { mustBeObjectMessage } from './validators';

/** A request body or query that failed its DTO's rules; the problem filter lists `errors`. */
export class RequestValidationException extends BadRequestException {
  constructor(public readonly errors: FieldError[]) {
    super(`${errors.length} invalid field(s): ${errors.map((e) => e.field).join(', ')}`);
  }
}

/** Unknown fields that another endpoint knows, by the end of their path: what to send here. */
const KNOWN_ELSEWHERE: [suffix: string, hint: string][] = [
  [
    'cluster.gpus',
    'a plan takes nodes and gpusPerNode (nodes x gpusPerNode GPUs in all), gpus-needed finds the count itself (maxGpus caps it); only /plans/search takes a GPU count',
  ],
];

/** class-validator's own wording for the two structural checks, reworded for users. */
function messageFor(field: string, constraint: string, message: string): string {
  const last = field.split('.').pop() ?? field;
  // A list item is named by its path ('variants.0'), since its index alone says nothing.
  const name = /^\d+$/.test(last) ? field : last;
  if (constraint === 'whitelistValidation') {
    const hint = KNOWN_ELSEWHERE.find(
      ([suffix]) => field === suffix || field.endsWith(`.${suffix}`),
    );
    if (hint) return `unknown field '${name}' here; ${hint[1]}`;
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

// Bodies and queries the pipe remembers having passed, per DTO class, the most recently used
// last: a page's requests and a few clients' repeated ones.
const REMEMBERED_PASSES = 1024;
// Longer bodies (inline config.json models) are validated every time rather than kept as keys.
const LONGEST_REMEMBERED = 16 * 1024;

/** The global ValidationPipe, remembering the JSON it has passed: the rules are pure functions of
 * the value, so the same body or query again is only built into its DTO, not checked again (the
 * checks of a large nested DTO cost about as much as the rest of a remembered estimate). */
export class RememberingValidationPipe extends ValidationPipe {
  private readonly passed = new WeakMap<object, Map<string, true>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    const rememberable =
      metatype !== undefined && this.toValidate(metadata) && isPlainObject(value);
    const key = rememberable ? JSON.stringify(value) : '';
    if (!rememberable || key.length > LONGEST_REMEMBERED) {
      return super.transform(value, metadata);
    }
    let passed = this.passed.get(metatype);
    if (!passed) {
      passed = new Map();
      this.passed.set(metatype, passed);
    }
    if (passed.delete(key)) {
      passed.set(key, true);
      // What ValidationPipe itself does to a value before it builds the DTO.
      this.closeArrayGaps(value);
      this.stripProtoKeys(value);
      return plainToInstance(metatype, value, this.transformOptions);
    }
    const built: unknown = await super.transform(value, metadata);
    passed.set(key, true);
    if (passed.size > REMEMBERED_PASSES) passed.delete(passed.keys().next().value!);
    return built;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
