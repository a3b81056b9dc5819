// `npm run calibration:bands`: plans every calibration row, fits the error bands and writes
// data/calibration/error-bands.json; `npm run calibration:coverage` (--coverage) prints how often
// the 80% interval holds a run of a source it was built without, and writes nothing.
import { writeFileSync } from 'fs';
import { loadCatalog } from '../src/catalog/catalog';
import {
  buildErrorBands,
  Coverage,
  ENGINE_VERSION,
  ErrorBands,
  heldOutCoverage,
  nestedCoverage,
} from '../src/engine';
import {
  calibrationErrors,
  ERROR_BANDS_COMMAND,
  ERROR_BANDS_FILE,
  errorBandsPath,
  RowError,
} from './calibration-errors';

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const share = (c: Coverage) => (c.rows === 0 ? '-' : `${((100 * c.inside) / c.rows).toFixed(1)}%`);

/** The file: the bands the catalog loads, and how they were made and how well they hold. */
function bandsDocument(errors: RowError[], bands: ErrorBands): Record<string, unknown> {
  const count = (origin: string) => errors.filter((e) => e.origin === origin).length;
  return {
    generatedBy: `${ERROR_BANDS_COMMAND} (scripts/error-bands.ts)`,
    engineVersion: ENGINE_VERSION,
    statistic:
      "device used: our harness rows by nvidia-smi's used memory after the last step; published rows by the statistic each source reports (allocated, active, reserved or device)",
    error: 'predicted / measured - 1; measured = predicted / (1 + error)',
    rows: { harness: count('harness'), published: count('published') },
    ...bands,
    heldOutCoverage: nestedCoverage(errors),
  };
}

function printCoverage(errors: RowError[], bands: ErrorBands): void {
  console.log('80% intervals of device used: bands and leave-one-source-out coverage\n');
  console.log('band       tail   low err  high err  rows (harness/published)  held out, this tail');
  for (const [key, band] of Object.entries(bands.bands)) {
    const [fixed] = heldOutCoverage(errors, key as keyof ErrorBands['bands'], [band.tail]);
    console.log(
      `${key.padEnd(10)} ${(band.tail * 100).toFixed(1).padStart(4)}%  ${pct(band.lowError).padStart(7)}  ${pct(band.highError).padStart(8)}  ${`${band.rows.harness}/${band.rows.published}`.padStart(24)}  ${share(fixed).padStart(6)} of ${fixed.rows}`,
    );
  }
  console.log(
    '\nNested leave-one-source-out (the held-out source used neither for the quantiles nor for fitting the tail):',
  );
  const nested = nestedCoverage(errors);
  for (const [key, coverage] of Object.entries(nested).sort()) {
    console.log(
      `  ${key.padEnd(12)} ${share(coverage).padStart(6)}  (${coverage.inside} of ${coverage.rows})`,
    );
  }
  // The harsher split: every harness row judged by bands built from the published rows alone.
  const whole = nestedCoverage(
    errors.map((e) => (e.origin === 'harness' ? { ...e, source: 'harness' } : e)),
  );
  console.log(
    '\nThe same with our harness held out as one source (its rows judged by published rows alone):',
  );
  for (const [key, coverage] of Object.entries(whole).sort()) {
    console.log(
      `  ${key.padEnd(12)} ${share(coverage).padStart(6)}  (${coverage.inside} of ${coverage.rows})`,
    );
  }
  const sources = new Set(errors.map((e) => e.source));
  console.log(`\n${errors.length} rows from ${sources.size} sources: ${[...sources].join('; ')}`);
}

function main(): void {
  const errors = calibrationErrors(loadCatalog());
  const bands = buildErrorBands(errors);
  if (process.argv.includes('--coverage')) {
    printCoverage(errors, bands);
    return;
  }
  writeFileSync(errorBandsPath(), JSON.stringify(bandsDocument(errors, bands), null, 2) + '\n');
  console.log(
    `wrote ${ERROR_BANDS_FILE}: ${errors.length} rows, bands ${Object.keys(bands.bands).join(', ')}`,
  );
}

main();
