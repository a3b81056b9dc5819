// The last check before a plan is saved: every figure is a number a reader can trust.
import type { AdviceFigures, FieldError, PlanResult, RankMemory } from '../engine';

type Rule = 'count' | 'signed' | 'figure';

/** Whether `value` obeys the rule: byte and parameter counts are exact non-negative integers
 * (past 2^53 - 1 a double no longer holds every integer); headroom may be negative; rates,
 * times and prices are finite and non-negative. */
function obeys(rule: Rule, value: unknown): boolean {
  if (typeof value !== 'number') return false;
  if (rule === 'count') return Number.isSafeInteger(value) && value >= 0;
  if (rule === 'signed') return Number.isSafeInteger(value);
  return Number.isFinite(value) && value >= 0;
}

function check(errors: FieldError[], field: string, rule: Rule, value: unknown): void {
  if (obeys(rule, value)) return;
  const wanted = {
    count: 'a whole number from 0 to 2^53 - 1',
    signed: 'a whole number between -(2^53 - 1) and 2^53 - 1',
    figure: 'a finite number of at least 0',
  }[rule];
  errors.push({ field, message: `${field} is ${JSON.stringify(value)}, not ${wanted}` });
}

/** The 80% range of device memory, [low, high] bytes, where the plan has one. */
function checkRange(errors: FieldError[], field: string, range?: [number, number]): void {
  range?.forEach((bytes, end) =>
    check(errors, `${field}.deviceUsedRangeBytes.${end}`, 'count', bytes),
  );
}

function checkRank(errors: FieldError[], field: string, rank: RankMemory): void {
  for (const key of [
    'allocatedPeakBytes',
    'reservedPeakBytes',
    'deviceUsedBytes',
    'capacityBytes',
    'modelStateBytes',
  ] as const) {
    check(errors, `${field}.${key}`, 'count', rank[key]);
  }
  check(errors, `${field}.headroomBytes`, 'signed', rank.headroomBytes);
  checkRange(errors, field, rank.deviceUsedRangeBytes);
  for (const [key, value] of Object.entries(rank.breakdown)) {
    check(errors, `${field}.breakdown.${key}`, 'count', value);
  }
  for (const [key, value] of Object.entries(rank.phaseTotals)) {
    check(errors, `${field}.phaseTotals.${key}`, 'count', value);
  }
}

/** The words among the numeric sections' fields (cost.priceSource says where a price came from). */
const TEXT_FIELDS = new Set(['priceSource']);

/** Figures of the numeric sections: each present value must be a finite non-negative number. */
function checkSection(errors: FieldError[], field: string, section: object | undefined): void {
  for (const [key, value] of Object.entries(section ?? {})) {
    if (!TEXT_FIELDS.has(key)) check(errors, `${field}.${key}`, 'figure', value);
  }
}

/** What an advised change comes to: its counts exact, its rates and prices finite. */
function checkAdvice(errors: FieldError[], field: string, figures: AdviceFigures): void {
  for (const key of ['gpus', 'deviceUsedBytes', 'capacityBytes'] as const) {
    check(errors, `${field}.${key}`, 'count', figures[key]);
  }
  checkRange(errors, field, figures.deviceUsedRangeBytes);
  const { stepTimeSeconds, tokensPerSecond, clusterPerHour, usdPerMillionTokens, totalUsd } =
    figures;
  checkSection(errors, field, {
    stepTimeSeconds,
    tokensPerSecond,
    clusterPerHour,
    usdPerMillionTokens,
    ...(totalUsd === undefined ? {} : { totalUsd }),
  });
}

/** A plan with a figure no store can hold exactly: answered 422, nothing saved. */
export class UnstorablePlanError extends Error {
  constructor(readonly errors: FieldError[]) {
    super('The plan has figures that cannot be stored as exact numbers; nothing was saved.');
  }
}

/** Every figure of `result` that breaks its rule; empty when the plan may be saved. */
export function unstorableFigures(result: PlanResult): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(result.model.parameters)) {
    check(errors, `model.parameters.${key}`, 'count', value);
  }
  for (const [key, value] of Object.entries(result.layout)) {
    check(errors, `layout.${key}`, 'count', value);
  }
  checkRank(errors, 'memory.perGpu', result.memory.perGpu);
  result.memory.ranks.forEach((rank, index) => checkRank(errors, `memory.ranks.${index}`, rank));
  check(errors, 'memory.hostPerNodeBytes', 'count', result.memory.hostPerNodeBytes);
  checkSection(errors, 'performance', result.performance);
  checkSection(errors, 'cost', result.cost);
  checkSection(errors, 'inference', result.inference);
  result.advice?.forEach((advice, index) =>
    checkAdvice(errors, `advice.${index}.figures`, advice.figures),
  );
  return errors;
}
