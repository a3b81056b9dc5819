// The page's figures, written out by hand: what a person reads must be the bytes the API sent.
import {
  count,
  days,
  gib,
  gibRange,
  percent,
  rejectionText,
  seconds,
  summaryLabel,
  summaryValue,
  usd,
  variantLabel,
} from '../../public/js/format.js';

const GIB = 2 ** 30;

describe('the web page writes figures', () => {
  it('bytes in GiB (2^30): two decimals below 10 GiB, one above, a dash when missing', () => {
    expect(gib(2 * GIB)).toBe('2.00 GiB');
    expect(gib(81_920 * 2 ** 20)).toBe('80.0 GiB'); // an A100 80GB as nvidia-smi reports it
    expect(gib(-1.5 * GIB)).toBe('-1.50 GiB');
    expect(gib(80 * GIB, 0)).toBe('80 GiB');
    expect(gib(undefined)).toBe('–');
    expect(gib(Number.NaN)).toBe('–');
  });

  it('a range of bytes in GiB with the unit once, and days with one decimal', () => {
    expect(gibRange([115.2 * GIB, 133.8 * GIB])).toBe('115.2–133.8 GiB');
    expect(gibRange([2 * GIB, 12.5 * GIB])).toBe('2.00–12.5 GiB');
    expect(gibRange(undefined)).toBe('–');
    expect(days(2.345)).toBe('2.3 days');
    expect(days(undefined)).toBe('–');
  });

  it('counts with a metric suffix: Llama-3-8B has 8,030,261,248 parameters', () => {
    expect(count(8_030_261_248)).toBe('8.03 B');
    expect(count(1.2e12)).toBe('1.20 T');
    expect(count(2_500_000)).toBe('2.5 M');
    expect(count(1_500)).toBe('1.5 k');
    expect(count(12.345)).toBe('12.35');
  });

  it('money in cents below $100 and whole dollars above', () => {
    expect(usd(2.5)).toBe('$2.50');
    expect(usd(12_345.6)).toBe('$12,346');
  });

  it('durations in ms below a second and minutes past two', () => {
    expect(seconds(0.0123)).toBe('12.3 ms');
    expect(seconds(4.5)).toBe('4.50 s');
    expect(seconds(600)).toBe('10.0 min');
    expect(percent(0.4)).toBe('40%');
  });

  it('names a ZeRO row as people write it and leaves other labels alone', () => {
    expect(variantLabel('zeroStage 3')).toBe('ZeRO-3');
    expect(variantLabel('tensorParallel 2')).toBe('tensorParallel 2');
  });

  it('says why a search turned layouts down, the three largest reasons first', () => {
    const text = rejectionText({
      outOfMemory: 76,
      outOfMemoryByRank: { a: 1, b: 40, c: 20, d: 15 },
      boundOutOfMemory: 120,
      invalidSplit: 3,
      invalidSplitByField: { 'parallelism.tensorParallel': 3 },
    });
    expect(text).toBe(
      '76 out of memory (b: 40, c: 20, d: 15); 120 over the card by the memory bound (not planned); 3 impossible splits (parallelism.tensorParallel: 3)',
    );
    expect(rejectionText(undefined)).toBe('');
  });

  it("words the saved plans' totals and writes each in its unit", () => {
    expect(summaryLabel('notFitting')).toBe('not fitting');
    expect(summaryLabel('deviceUsedBytes')).toBe('device used');
    expect(summaryValue('totalUsd', 1234.5)).toBe('$1,235');
    expect(summaryValue('deviceUsedBytes', 3 * GIB)).toBe('3.00 GiB');
    expect(summaryValue('gpuHours', 2_000)).toBe('2.0 k');
  });
});
