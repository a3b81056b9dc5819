// Guards the planner's accuracy on published measurements: a less accurate change cannot land.
import { loadCatalog } from '../src/catalog/catalog';
import { scoreCalibration } from '../scripts/accuracy-report';
import { loadCalibrationRows } from '../scripts/calibration-rows';

describe('accuracy on the published calibration rows (issue targets)', () => {
  const report = scoreCalibration(loadCalibrationRows(), loadCatalog());

  it('plans every scored and fit-only row', () => {
    expect(report.failed).toEqual([]);
  });
  it('median absolute error is at most 5%', () => {
    expect(report.overall.medianAbsError).toBeLessThanOrEqual(0.05);
  });
  it('90th-percentile absolute error is at most 12%', () => {
    expect(report.overall.p90AbsError).toBeLessThanOrEqual(0.12);
  });
});
