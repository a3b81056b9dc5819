import { PlanResult } from '../engine';
import { CSV_HEADER, csvRecord, csvRowOf } from './plans-csv';
import { SavedPlanRecord } from './saved-plan';

const GIB = 1024 ** 3;

function record(name: string, tags: string[], cost: Partial<PlanResult['cost']>): SavedPlanRecord {
  const result = {
    layout: {
      gpus: 16,
      nodes: 2,
      gpusPerNode: 8,
      dataParallel: 4,
      tensorParallel: 2,
      pipelineParallel: 2,
      contextParallel: 1,
      expertParallel: 1,
    },
    memory: {
      perGpu: {
        allocatedPeakBytes: 30 * GIB,
        deviceUsedBytes: 33.5 * GIB,
        capacityBytes: 80 * GIB,
        fits: true,
      },
    },
    performance: { stepTimeSeconds: 2, tokensPerSecond: 12345.5 },
    cost: { usdPerMillionTokens: 0.5, ...cost },
  } as unknown as PlanResult;
  return {
    id: 'a1',
    name,
    tags,
    notes: null,
    createdAt: '2026-01-02T03:04:05.000Z',
    modelId: 'llama-3-8b',
    gpuId: 'h100-80gb',
    input: {},
    result,
  };
}

describe('CSV records (RFC 4180)', () => {
  const csv =
    CSV_HEADER +
    [
      record('zero-3, "fast"\nrun', ['budget', 'q3'], { gpuHours: 12.5, totalUsd: 33.625 }),
      record('=HYPERLINK("x")', [], {}),
    ]
      .map((plan) => csvRecord(csvRowOf(plan)))
      .join('');
  const lines = csv.split('\r\n');

  it('ends every record with CRLF and names the columns first', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(lines[0].split(',')).toEqual(
      expect.arrayContaining(['id', 'name', 'tags', 'layout', 'allocatedPeakGiB', 'gpuHours']),
    );
  });

  it('quotes a field with a comma, quote or line break and doubles inner quotes', () => {
    expect(lines[1]).toContain('"zero-3, ""fast""\nrun"');
    expect(lines[1]).toContain('dp4 tp2 pp2 cp1');
    expect(lines[1]).toContain(',30.00,33.50,');
    expect(lines[1].endsWith(',12.5,33.625')).toBe(true);
  });

  it('defuses a formula and leaves missing budget figures empty', () => {
    expect(lines[2]).toContain(`"'=HYPERLINK(""x"")"`);
    expect(lines[2].endsWith(',,')).toBe(true);
  });
});
