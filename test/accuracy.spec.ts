// Guards the planner's accuracy on published measurements: a less accurate change cannot land.
import { loadCatalog } from '../src/catalog/catalog';
import { scoreCalibration } from '../scripts/accuracy-report';
import { loadCalibrationRows } from '../scripts/calibration-rows';
import { loadMeasuredH100Rows } from '../scripts/measured-h100';

// The targets: a median of 5% and a 90th percentile of 12%. The phase-total engine reached 3.1%
// and 11.1%; the timeline engine, simulated from each model's code, reached 1.9% and 10.8% once
// litgpt's tables are planned from what its code keeps (zero_pad's saved lora_B output,
// Fabric's fp32 logits, the bf16 copy of each dequantised fp16 weight: README, "Accuracy"), and
// 2.0% and 10.8% with deep stacks simulated whole. The bounds hold the 12% target and the
// median with some room, so that nothing slips.
const MEDIAN_BOUND = 0.025;
const P90_BOUND = 0.12;
// Rows under-predicted by more than 10% whose cause is the planner's, not the source's: none.
const PLANNER_GAPS_BOUND = 0;

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

// Our own H100 runs state every flag. The allocated peak stays at least as good as the
// phase-total engine's 0.9% median and 2.4% 90th percentile (the timeline reaches 0.0% / 0.3%).
const H100_MEDIAN_BOUND = 0.009;
const H100_P90_BOUND = 0.024;
// Reserved and device used, the figures that decide out-of-memory: median at most 3%, 90th
// percentile at most 6% (the timeline's simulated allocator reaches 0.2-0.3% and 3.8%).
const RESERVED_MEDIAN_BOUND = 0.03;
const RESERVED_P90_BOUND = 0.06;
// Device used under-predicted by more than 5%: one run, Mistral-7B under FSDP2 on 8 GPUs with
// full checkpointing at 4,096 tokens (-13.6%), whose allocated peak is matched and whose
// allocator was not traced; the rest must not join it.
const DEVICE_UNDER_BOUND = -0.05;
const DEVICE_UNDER_UNEXPLAINED = ['h100-208'];

describe('accuracy on our own H100 runs (data/calibration/measured-h100.csv)', () => {
  const report = scoreCalibration(loadMeasuredH100Rows(), loadCatalog());

  it('plans every run', () => {
    expect(report.failed).toEqual([]);
    expect(report.scored.length).toBeGreaterThanOrEqual(60);
  });
  it(`median absolute error stays within ${(H100_MEDIAN_BOUND * 100).toFixed(1)}%, held-out group too`, () => {
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

describe('reserved and device used on our own H100 runs', () => {
  const catalog = loadCatalog();
  const reserved = scoreCalibration(loadMeasuredH100Rows('reserved'), catalog);
  const device = scoreCalibration(loadMeasuredH100Rows('device'), catalog);

  it.each([
    ['reserved', reserved],
    ['device used', device],
  ])(
    `%s: median within ${RESERVED_MEDIAN_BOUND * 100}%, 90th percentile within ${RESERVED_P90_BOUND * 100}%`,
    (_, report) => {
      expect(report.failed).toEqual([]);
      expect(report.overall.medianAbsError).toBeLessThanOrEqual(RESERVED_MEDIAN_BOUND);
      expect(report.overall.p90AbsError).toBeLessThanOrEqual(RESERVED_P90_BOUND);
    },
  );
  it('under-predicts device used by more than 5% on no run but the one left unexplained', () => {
    const under = device.scored.filter((s) => s.signedError < DEVICE_UNDER_BOUND).map((s) => s.id);
    expect(under).toEqual(DEVICE_UNDER_UNEXPLAINED);
  });
});
