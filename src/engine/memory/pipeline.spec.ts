import { microBatchesInFlight, pipelineBubbleFraction } from './pipeline';

describe('pipeline schedules (memory-model.md section 4)', () => {
  it('1F1B: stage i holds min(p - i, m) micro-batches', () => {
    const p = 4;
    const m = 8;
    expect([0, 1, 2, 3].map((i) => microBatchesInFlight('1f1b', i, p, m, 1))).toEqual([4, 3, 2, 1]);
  });
  it('1F1B with fewer micro-batches than stages: the first stage holds m', () => {
    expect(microBatchesInFlight('1f1b', 0, 8, 3, 1)).toBe(3);
  });
  it('interleaved 1F1B: the first stage holds p (1 + (p - 1) / (p v))', () => {
    const p = 4;
    const v = 2;
    expect(microBatchesInFlight('interleaved', 0, p, 16, v)).toBeCloseTo(
      p * (1 + (p - 1) / (p * v)),
      10,
    );
  });
  it('GPipe holds every micro-batch', () => {
    expect(microBatchesInFlight('gpipe', 2, 4, 16, 1)).toBe(16);
  });
  it('no pipeline: one micro-batch at a time', () => {
    expect(microBatchesInFlight('1f1b', 0, 1, 16, 1)).toBe(1);
  });
  it('bubble: (p - 1) / (m v + p - 1)', () => {
    expect(pipelineBubbleFraction(4, 8, 1)).toBeCloseTo(3 / 11, 12);
    expect(pipelineBubbleFraction(4, 8, 2)).toBeCloseTo(3 / 19, 12);
    expect(pipelineBubbleFraction(1, 8, 1)).toBe(0);
  });
});
