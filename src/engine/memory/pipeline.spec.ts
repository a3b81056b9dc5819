import { pipelineBubbleFraction } from './pipeline';

describe('pipeline bubble (memory-model.md section 4)', () => {
  it('bubble: (p - 1) / (m v + p - 1)', () => {
    expect(pipelineBubbleFraction(4, 8, 1)).toBeCloseTo(3 / 11, 12);
    expect(pipelineBubbleFraction(4, 8, 2)).toBeCloseTo(3 / 19, 12);
    expect(pipelineBubbleFraction(1, 8, 1)).toBe(0);
  });
});
