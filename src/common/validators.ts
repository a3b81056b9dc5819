// Property validators whose messages tell the user what to send instead.
import { applyDecorators } from '@nestjs/common';
import {
  IsDefined,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

/** Past 2^53 - 1 an integer no longer has an exact double, and products of counts overflow. */
function tooLargeToHoldExactly(value: unknown): boolean {
  return Number.isInteger(value) && !Number.isSafeInteger(value);
}

function integerMessage(args: ValidationArguments | undefined, wanted: string): string {
  return tooLargeToHoldExactly(args?.value)
    ? `${args?.property} must be at most ${Number.MAX_SAFE_INTEGER} (got ${shown(args?.value)})`
    : `${args?.property} must be ${wanted} (got ${shown(args?.value)})`;
}

/** A count: an integer of at least 1. */
export function IsPositiveInteger(example: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPositiveInteger',
      validator: {
        validate: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1,
        defaultMessage: (args?: ValidationArguments) =>
          integerMessage(args, `a positive integer, e.g. ${example}`),
      },
    },
    options,
  );
}

/** A count with a documented range, such as GPUs per node (from 1 to 1,024). */
export function IsIntegerInRange(
  range: { min: number; max: number; example: number },
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIntegerInRange',
      validator: {
        validate: (value: unknown) =>
          Number.isSafeInteger(value) &&
          (value as number) >= range.min &&
          (value as number) <= range.max,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be an integer from ${range.min} to ${range.max}, e.g. ${range.example} (got ${shown(args?.value)})`,
      },
    },
    options,
  );
}

/** A byte count or other quantity that may be zero: an integer of at least 0. */
export function IsNonNegativeInteger(
  example: number,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNonNegativeInteger',
      validator: {
        validate: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0,
        defaultMessage: (args?: ValidationArguments) =>
          integerMessage(args, `an integer of at least 0, e.g. ${example}`),
      },
    },
    options,
  );
}

export interface NumberRange {
  min: number;
  max?: number;
  /** Whether `min` itself is excluded (mfu must be above 0). */
  minExclusive?: boolean;
  /** Whether `max` itself is excluded (fragmentation must stay below 1). */
  maxExclusive?: boolean;
  example: number;
}

function describeRange(range: NumberRange): string {
  const low = `${range.minExclusive ? '(' : '['}${range.min}`;
  const high = range.max === undefined ? 'inf)' : `${range.max}${range.maxExclusive ? ')' : ']'}`;
  return `${low}, ${high}`;
}

/** A finite number inside a range, such as a fraction or a price. */
export function IsNumberInRange(
  range: NumberRange,
  options?: ValidationOptions,
): PropertyDecorator {
  const inRange = (value: number) =>
    (range.minExclusive ? value > range.min : value >= range.min) &&
    (range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max));
  return ValidateBy(
    {
      name: 'isNumberInRange',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Number.isFinite(value) && inRange(value),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a number in ${describeRange(range)}, e.g. ${range.example} (got ${shown(args?.value)})`,
      },
    },
    options,
  );
}

/** One of a fixed list of values; the message lists them. */
export function IsOneOf(
  values: readonly (string | number)[],
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isOneOf',
      constraints: [values],
      validator: {
        validate: (value: unknown) => values.includes(value as string | number),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} ${shown(args?.value)} is not one of: ${values.join(', ')}`,
      },
    },
    options,
  );
}

/** true or false, not 'true' or 1. */
export function IsTrueOrFalse(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTrueOrFalse',
      validator: {
        validate: (value: unknown) => typeof value === 'boolean',
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be true or false (got ${shown(args?.value)})`,
      },
    },
    options,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Catalog ids and aliases: the longest Hugging Face id ("organisation/name") fits in 200. */
export const MAX_CATALOG_ID_LENGTH = 200;

/** A catalog id or alias, or an inline architecture / config.json object. */
export function IsModelReference(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isModelReference',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' &&
            value.trim().length > 0 &&
            value.length <= MAX_CATALOG_ID_LENGTH) ||
          (isPlainObject(value) && Object.keys(value).length > 0),
        defaultMessage: () =>
          `model must be a catalog id such as 'llama-3-8b' (see GET /api/v1/models; at most ${MAX_CATALOG_ID_LENGTH} characters) or an object of architecture fields (a Hugging Face config.json)`,
      },
    },
    options,
  );
}

/** LoRA target modules: 'all-linear' or a non-empty list of module names. */
export function IsTargetModules(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTargetModules',
      validator: {
        validate: (value: unknown) =>
          value === 'all-linear' ||
          (Array.isArray(value) &&
            value.length > 0 &&
            value.every((name) => typeof name === 'string' && name.length > 0)),
        defaultMessage: () =>
          'targetModules must be \'all-linear\' or a list of module names, e.g. ["q_proj", "v_proj"]',
      },
    },
    options,
  );
}

/** Anything but null or undefined: with `each`, a list with no holes. */
export function IsNotNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotNull',
      validator: {
        validate: (value: unknown) => value !== null && value !== undefined,
        defaultMessage: (args?: ValidationArguments) => `${args?.property} must not be null`,
      },
    },
    options,
  );
}

/** What a section that must be an object is told; nested validation words its failures alike. */
export function mustBeObjectMessage(property: string): string {
  return `${property} must be an object { ... }, not a list or a single value`;
}

/** A plain JSON object (not an array, not null): ValidateNested alone lets a list through. */
export function IsPlainObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPlainObject',
      validator: {
        validate: (value: unknown) => isPlainObject(value),
        defaultMessage: (args?: ValidationArguments) => mustBeObjectMessage(args?.property ?? ''),
      },
    },
    options,
  );
}

/** Labels: a list of up to `maxTags` non-empty strings of at most `maxLength` characters. */
export function IsLabelList(
  maxTags: number,
  maxLength: number,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLabelList',
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) &&
          value.length <= maxTags &&
          value.every(
            (label) => typeof label === 'string' && label.length > 0 && label.length <= maxLength,
          ),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a list of at most ${maxTags} non-empty labels of at most ${maxLength} characters, e.g. ["baseline"]`,
      },
    },
    options,
  );
}

/** A GPU catalog id: a non-empty string no longer than MAX_CATALOG_ID_LENGTH; required unless
 * `optional` (an override that may leave the GPU as it is). */
export function IsGpuId(example: string, optional = false): PropertyDecorator {
  const catalogId = `gpu must be a catalog id such as '${example}'`;
  const required = `gpu is required: a catalog id such as '${example}' (see GET /api/v1/gpus)`;
  return applyDecorators(
    optional ? IsOptional() : IsDefined({ message: required }),
    IsString({ message: catalogId }),
    MinLength(1, { message: catalogId }),
    MaxLength(MAX_CATALOG_ID_LENGTH, {
      message: `gpu must be a catalog id of at most ${MAX_CATALOG_ID_LENGTH} characters`,
    }),
  );
}
