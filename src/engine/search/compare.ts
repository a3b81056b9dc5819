// Side-by-side plans: one base request, several variants, each planned on its own.
import { PlanWalk, walkedThrough } from './plan-walk';
import { PlanRequestInput } from '../request/normalize';
import {
  FieldError,
  KV_CACHE_DTYPES,
  ModelArchitecture,
  PlanResult,
  PlanValidationError,
  PREFERENCE_OBJECTIVES,
  RECOMPUTE_MODES,
  TRAINING_METHODS,
  ZERO_STAGES,
} from '../vocabulary';

/** Every field may be left out, at any depth; arrays are replaced whole. */
export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Fields `vary` knows, and where each lives in a request. */
const VARY_PATHS = {
  zeroStage: ['parallelism', 'zeroStage'],
  tensorParallel: ['parallelism', 'tensorParallel'],
  pipelineParallel: ['parallelism', 'pipelineParallel'],
  activationCheckpointing: ['training', 'activationCheckpointing'],
  microBatchSize: ['training', 'microBatchSize'],
  method: ['training', 'method'],
  preference: ['training', 'preference'],
  precision: ['training', 'precision'],
  optimizer: ['training', 'optimizer'],
  gpu: ['cluster', 'gpu'],
  batchSize: ['inference', 'batchSize'],
  weightPrecision: ['inference', 'weightPrecision'],
  kvCacheDtype: ['inference', 'kvCacheDtype'],
} as const;

export type VaryField = keyof typeof VARY_PATHS;
export const VARY_FIELDS = Object.keys(VARY_PATHS) as VaryField[];

export interface CompareVariant {
  label: string;
  overrides: DeepPartial<PlanRequestInput>;
}

export interface CompareSpec {
  /** Shortcut: one field over its usual values (or `values`). */
  vary?: VaryField;
  values?: unknown[];
  /** Explicit variants, each deep-merged into the base. */
  variants?: CompareVariant[];
}

/** One variant's plan, or why the engine would not plan it. */
export interface CompareEntry {
  label: string;
  result?: PlanResult;
  errors?: FieldError[];
}

/** The figures a person reads across variants; null where the variant could not be planned. */
export interface CompareRow {
  label: string;
  allocatedPeakBytes: number | null;
  deviceUsedBytes: number | null;
  /** Weights, gradients, optimizer states and master copy of the worst rank (the ZeRO paper's figure). */
  modelStateBytes: number | null;
  fits: boolean;
  headroomBytes: number | null;
  stepTimeSeconds: number | null;
  tokensPerSecond: number | null;
  usdPerMillionTokens: number | null;
  error?: string;
}

/** The model dimensions that decide which parallel degrees are worth listing. */
export type CompareShape = Pick<ModelArchitecture, 'numAttentionHeads' | 'numLayers'>;

const POWERS_OF_TWO = [1, 2, 4, 8];

/** Rows one comparison may plan, explicit variants and `vary` values together: 32 plans of the
 * deepest model the limits allow (1,024 layers, ~17 ms each) take about half a second. */
export const MAX_COMPARE_ROWS = 32;

/** The values `vary` walks through when none are given. */
export function defaultVaryValues(
  field: VaryField,
  base: PlanRequestInput,
  shape?: CompareShape,
): unknown[] {
  const gpus = (base.cluster.nodes ?? 1) * (base.cluster.gpusPerNode ?? 1);
  switch (field) {
    case 'zeroStage':
      return [...ZERO_STAGES];
    case 'tensorParallel':
      // Tensor parallelism splits heads inside a node.
      return POWERS_OF_TWO.filter(
        (t) =>
          gpus % t === 0 &&
          t <= (base.cluster.gpusPerNode ?? 1) &&
          (!shape || shape.numAttentionHeads % t === 0),
      );
    case 'pipelineParallel':
      return POWERS_OF_TWO.filter((p) => gpus % p === 0 && (!shape || shape.numLayers % p === 0));
    case 'activationCheckpointing':
      return [...RECOMPUTE_MODES];
    case 'microBatchSize':
      return [1, 2, 4, 8];
    case 'method':
      return [...TRAINING_METHODS];
    case 'preference':
      return [...PREFERENCE_OBJECTIVES];
    case 'precision':
      return ['fp32', 'bf16-mixed', 'bf16-pure'];
    case 'optimizer':
      return ['adamw', 'adamw-8bit', 'sgd-momentum', 'adafactor', 'lion'];
    case 'gpu':
      return ['a100-40gb', 'a100-80gb', 'h100-80gb', 'h200', 'b200'];
    case 'batchSize':
      return [1, 4, 16, 64];
    case 'weightPrecision':
      return ['bf16', 'fp8', 'int8', 'int4'];
    case 'kvCacheDtype':
      return [...KV_CACHE_DTYPES];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `overrides` laid over `base`: objects merge key by key, everything else replaces. */
export function deepMerge<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(overrides)) {
    return (overrides === undefined ? base : overrides) as T;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    merged[key] = isPlainObject(merged[key]) ? deepMerge(merged[key], value) : value;
  }
  return merged as T;
}

/** The variants a spec asks for: explicit ones first, then the `vary` shortcut's. */
export function variantsOf(
  base: PlanRequestInput,
  spec: CompareSpec,
  shape?: CompareShape,
): CompareVariant[] {
  const variants = [...(spec.variants ?? [])];
  if (spec.vary !== undefined) {
    if (!VARY_FIELDS.includes(spec.vary)) {
      throw new PlanValidationError([
        { field: 'vary', message: `unknown vary '${spec.vary}'; known: ${VARY_FIELDS.join(', ')}` },
      ]);
    }
    const [section, key] = VARY_PATHS[spec.vary];
    for (const value of spec.values ?? defaultVaryValues(spec.vary, base, shape)) {
      variants.push({
        label: `${spec.vary} ${String(value)}`,
        overrides: { [section]: { [key]: value } } as DeepPartial<PlanRequestInput>,
      });
    }
  } else if (spec.values !== undefined) {
    throw new PlanValidationError([{ field: 'values', message: 'values need a vary field' }]);
  }
  if (variants.length > MAX_COMPARE_ROWS) {
    throw new PlanValidationError([
      {
        field: 'variants',
        message: `a comparison plans at most ${MAX_COMPARE_ROWS} rows; variants and values together ask for ${variants.length}`,
      },
    ]);
  }
  if (variants.length === 0) {
    throw new PlanValidationError([
      { field: 'variants', message: `give variants, or vary one of: ${VARY_FIELDS.join(', ')}` },
    ]);
  }
  return variants;
}

/** The row of the comparison table for one entry. */
export function compareRow(entry: CompareEntry): CompareRow {
  const r = entry.result;
  if (!r) {
    return {
      label: entry.label,
      allocatedPeakBytes: null,
      deviceUsedBytes: null,
      modelStateBytes: null,
      fits: false,
      headroomBytes: null,
      stepTimeSeconds: null,
      tokensPerSecond: null,
      usdPerMillionTokens: null,
      error: (entry.errors ?? []).map((e) => `${e.field}: ${e.message}`).join('; '),
    };
  }
  const worst = r.memory.perGpu;
  return {
    label: entry.label,
    allocatedPeakBytes: worst.allocatedPeakBytes,
    deviceUsedBytes: worst.deviceUsedBytes,
    modelStateBytes: worst.modelStateBytes,
    fits: worst.fits,
    headroomBytes: worst.headroomBytes,
    stepTimeSeconds: r.performance.stepTimeSeconds,
    tokensPerSecond: r.performance.tokensPerSecond,
    usdPerMillionTokens: r.cost.usdPerMillionTokens,
  };
}

/** Plans every variant of `base`; a variant the engine rejects keeps its errors in its row. */
export function compareVariants(
  base: PlanRequestInput,
  spec: CompareSpec,
  run: (input: PlanRequestInput) => PlanResult,
  shape?: CompareShape,
): { rows: CompareEntry[]; table: CompareRow[] } {
  return walkedThrough(compareWalk(base, spec, run, shape));
}

/** compareVariants as a walk (plan-walk.ts): every row's request handed out at once. */
export function* compareWalk(
  base: PlanRequestInput,
  spec: CompareSpec,
  run: (input: PlanRequestInput) => PlanResult,
  shape?: CompareShape,
): PlanWalk<{ rows: CompareEntry[]; table: CompareRow[] }> {
  const variants = variantsOf(base, spec, shape).map(({ label, overrides }) => ({
    label,
    input: deepMerge(base, overrides),
  }));
  yield variants.map((variant) => variant.input);
  const rows = variants.map(({ label, input }): CompareEntry => {
    try {
      return { label, result: run(input) };
    } catch (error) {
      if (error instanceof PlanValidationError) return { label, errors: error.errors };
      throw error;
    }
  });
  return { rows, table: rows.map(compareRow) };
}
