// Picks the held-out fifth of the scored calibration rows with a seeded shuffle and records it.
// Run: npx ts-node --transpile-only scripts/pick-held-out.ts
import { writeFileSync } from 'fs';
import { calibrationPath, loadCalibrationRows } from './calibration-rows';

export const HELD_OUT_SEED = 20261122;
export const HELD_OUT_FRACTION = 0.2;

/** mulberry32 (Tommy Ettinger's 32-bit PRNG): the same sequence on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded Fisher-Yates shuffle of the ids in ascending order; the first fifth, ascending. */
export function pickHeldOut(
  ids: readonly number[],
  seed: number = HELD_OUT_SEED,
  fraction: number = HELD_OUT_FRACTION,
): number[] {
  const pool = [...ids].sort((a, b) => a - b);
  const random = mulberry32(seed);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.round(pool.length * fraction)).sort((a, b) => a - b);
}

function main(): void {
  const rows = loadCalibrationRows();
  const scored = rows.filter((row) => row.use === 'score').map((row) => row.id);
  const heldOut = new Set(pickHeldOut(scored));
  const updated = rows.map((row) => ({ ...row, heldOut: heldOut.has(row.id) }));
  writeFileSync(calibrationPath(), JSON.stringify(updated, null, 2) + '\n');
  console.log(
    `held out ${heldOut.size} of ${scored.length} scored rows: ${[...heldOut].join(', ')}`,
  );
}

if (require.main === module) main();
