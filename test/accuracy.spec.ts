// Guards the planner's accuracy on published measurements: a less accurate change cannot land.
import { loadCatalog } from '../src/catalog/catalog';
import { scoreCalibration } from '../scripts/accuracy-report';
import { loadCalibrationRows } from '../scripts/calibration-rows';

// The targets are a median of 5% and a 90th percentile of 12%. The planner reaches
// 5.6% and 19.9% (see README, "Accuracy"); these bounds ratchet at what it reaches today so
// that no change can make it less accurate, and move down as the model improves.
const MEDIAN_BOUND = 0.06;
const P90_BOUND = 0.2;

describe('accuracy on the published calibration rows', () => {
  const report = scoreCalibration(loadCalibrationRows(), loadCatalog());

  it('plans every scored and fit-only row', () => {
    expect(report.failed).toEqual([]);
  });
  it(`median absolute error stays within ${MEDIAN_BOUND * 100}%`, () => {
    expect(report.overall.medianAbsError).toBeLessThanOrEqual(MEDIAN_BOUND);
  });
  it(`90th-percentile absolute error stays within ${P90_BOUND * 100}%`, () => {
    expect(report.overall.p90AbsError).toBeLessThanOrEqual(P90_BOUND);
  });
  // Reproductions of one configuration differ by about 10% (calibration README), so a fit-only
  // row disagrees only when the plan misses the card by more than 5% of its capacity.
  it('agrees with every fit-only row within 5% of the card', () => {
    const catalog = loadCatalog();
    const rows = new Map(loadCalibrationRows().map((r) => [r.id, r]));
    const disagreements = report.fitChecks.filter((check) => {
      const gpu = catalog.findGpu(rows.get(Number(check.id))!.request!.cluster.gpu)!;
      const ratio = check.deviceUsedBytes / gpu.memoryBytes;
      return check.expectFits ? ratio > 1.05 : ratio < 0.95;
    });
    expect(disagreements).toEqual([]);
  });
});
