// What changed between a saved PlanResult and the same request planned by the current engine.
import { PlanResult } from '../engine';

export interface FigureDifference {
  /** Dotted path in the PlanResult, e.g. memory.perGpu.deviceUsedBytes. */
  field: string;
  saved: unknown;
  current: unknown;
}

/** The parts of a result that hold figures; the request echo, warnings and prose are left out. */
const FIGURE_SECTIONS = [
  'model.parameters',
  'layout',
  'memory',
  'performance',
  'cost',
  'inference',
];
/** Derived or descriptive leaves that would only repeat a difference already listed. */
const SKIPPED_KEYS = new Set(['breakdownGiB', 'label', 'priceSource']);

function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (node, key) =>
        node !== null && typeof node === 'object'
          ? (node as Record<string, unknown>)[key]
          : undefined,
      value,
    );
}

function collect(saved: unknown, current: unknown, field: string, out: FigureDifference[]): void {
  const bothObjects =
    saved !== null && current !== null && typeof saved === 'object' && typeof current === 'object';
  if (bothObjects) {
    const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
    for (const key of keys) {
      if (SKIPPED_KEYS.has(key)) continue;
      collect(
        (saved as Record<string, unknown>)[key],
        (current as Record<string, unknown>)[key],
        `${field}.${key}`,
        out,
      );
    }
    return;
  }
  if (saved !== current) out.push({ field, saved: saved ?? null, current: current ?? null });
}

/** Every figure whose value differs, in the order of the result's sections. */
export function planDifferences(saved: PlanResult, current: PlanResult): FigureDifference[] {
  const out: FigureDifference[] = [];
  for (const section of FIGURE_SECTIONS)
    collect(at(saved, section), at(current, section), section, out);
  return out;
}
