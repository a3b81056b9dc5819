// Guards the planner's accuracy on published measurements: a less accurate change cannot land.
import { loadCatalog } from '../src/catalog/catalog';
import { scoreCalibration } from '../scripts/accuracy-report';
import { loadCalibrationRows } from '../scripts/calibration-rows';
import { loadMeasuredH100Rows } from '../scripts/measured-h100';

// The targets: a median of 5% and a 90th percentile of 12%. The planner reaches 3.1%
// and 11.1% (see README, "Accuracy"). The 90th percentile was 13.0% until the logits that
// torchtune's decoder returns were counted in fp32 (self.output(h).float()) where the loop keeps
// them: that brought the May 2024 torchtune rows 0.5 GiB up, row 27 below the 90th percentile.
const MEDIAN_BOUND = 0.05;
const P90_BOUND = 0.12;
// Rows under-predicted by more than 10% whose cause is the planner's, not the source's.
const PLANNER_GAPS_BOUND = 1;

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
  it('explains every row it under-predicts by more than 10%', () => {
    const unexplained = report.scored
      .filter((s) => s.signedError < -0.1 && !s.underPrediction)
      .map((s) => s.id);
    expect(unexplained).toEqual([]);
  });
  it(`leaves at most ${PLANNER_GAPS_BOUND} such rows to gaps in the planner`, () => {
    const gaps = report.scored.filter(
      (s) => s.signedError < -0.1 && s.underPrediction?.kind === 'planner',
    );
    expect(gaps.length).toBeLessThanOrEqual(PLANNER_GAPS_BOUND);
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

// Our own H100 runs state every flag, so they are held to the targets with room for the
// run-to-run noise of an allocator (README, "Our own measurements"): 0.9% / 2.4% today.
const H100_MEDIAN_BOUND = 0.05;
const H100_P90_BOUND = 0.04;

describe('accuracy on our own H100 runs (data/calibration/measured-h100.csv)', () => {
  const report = scoreCalibration(loadMeasuredH100Rows(), loadCatalog());

  it('plans every run', () => {
    expect(report.failed).toEqual([]);
    expect(report.scored.length).toBeGreaterThanOrEqual(60);
  });
  it(`median absolute error stays within ${H100_MEDIAN_BOUND * 100}%, held-out group too`, () => {
    expect(report.overall.medianAbsError).toBeLessThanOrEqual(H100_MEDIAN_BOUND);
    expect(report.heldOut.medianAbsError).toBeLessThanOrEqual(H100_MEDIAN_BOUND);
  });
  it(`90th-percentile absolute error stays within ${H100_P90_BOUND * 100}%`, () => {
    expect(report.overall.p90AbsError).toBeLessThanOrEqual(H100_P90_BOUND);
  });
  it('under-predicts no run by more than 10%', () => {
    expect(report.scored.filter((s) => s.signedError < -0.1).map((s) => s.id)).toEqual([]);
  });
  it('plans the runs that ran out of memory as not fitting', () => {
    expect(report.fitChecks.filter((f) => f.fits !== f.expectFits)).toEqual([]);
  });
});
