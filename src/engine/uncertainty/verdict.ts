// A plan's figures with how sure they are: each rank's 80% range of device memory and a verdict,
// applied after planning from bands the catalog layer loads (the engine reads no files).
import { PlanResult, RankMemory, Verdict } from '../vocabulary';
import { BandKey, measuredRange } from './bands';
import { ErrorBands } from './fit';

const GIB = 1024 ** 3;

/** The calibration rows a plan is judged by: any run on more than one GPU is `multi-gpu`, one GPU
 * goes by training method; serving plans, which no row measures, take the pooled band. */
export function bandKeyOf(result: PlanResult): BandKey {
  if (result.request.workload === 'inference') return 'pooled';
  if (result.layout.gpus > 1) return 'multi-gpu';
  return result.request.training.method;
}

/**
 * `does not fit` when the estimate overflows the card less its safety margin (the contract's
 * `fits`); `tight` when the estimate fits but the top of the range does not; `fits` otherwise.
 */
export function verdictOf(rank: RankMemory, range: [number, number]): Verdict {
  if (!rank.fits) return 'does not fit';
  const usable = rank.deviceUsedBytes + rank.headroomBytes; // capacity less the safety margin
  return range[1] > usable ? 'tight' : 'fits';
}

function withRange(rank: RankMemory, band: { lowError: number; highError: number }): RankMemory {
  const range = measuredRange(rank.deviceUsedBytes, band);
  return { ...rank, deviceUsedRangeBytes: range, verdict: verdictOf(rank, range) };
}

/** The plan with deviceUsedRangeBytes and verdict on every rank (and perGpu, the worst), the band
 * they came from, and a line in the assumptions saying so. */
export function withUncertainty(result: PlanResult, bands: ErrorBands): PlanResult {
  const key = bandKeyOf(result);
  const band = bands.bands[key];
  const ranks = result.memory.ranks.map((rank) => withRange(rank, band));
  const worst = result.memory.ranks.indexOf(result.memory.perGpu);
  const perGpu = worst >= 0 ? ranks[worst] : withRange(result.memory.perGpu, band);
  const rows = band.rows.harness + band.rows.published;
  const [low, high] = perGpu.deviceUsedRangeBytes!;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const note =
    `device used, 80% range ${(low / GIB).toFixed(1)}-${(high / GIB).toFixed(1)} GiB: on runs of ` +
    `kind '${key}' the planner's figure was ${pct(band.lowError)} to ${pct(band.highError)} off ` +
    `the measurement (predicted / measured - 1; ${rows} calibration rows, shrunk toward all rows)`;
  return {
    ...result,
    memory: {
      ...result.memory,
      perGpu,
      ranks,
      errorBand: {
        category: key,
        coverage: bands.coverage,
        lowError: band.lowError,
        highError: band.highError,
        rows,
      },
    },
    assumptions: [...result.assumptions, note],
  };
}
