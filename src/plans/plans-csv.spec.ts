import { normalizeRequest, PlanRequestInput, PlanResult } from '../engine';
import { CSV_HEADER, csvRecord, csvRowOf } from './plans-csv';
import { SavedPlanRecord } from './saved-plan';

const GIB = 1024 ** 3;

/** The layout the record's figures stand for: 2 nodes of 8, ZeRO-1, full checkpointing. */
const TRAINING: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 8 },
  training: { microBatchSize: 2, sequenceLength: 8192, activationCheckpointing: 'full' },
  parallelism: { zeroStage: 1, tensorParallel: 2, pipelineParallel: 2 },
};

function record(
  name: string,
  tags: string[],
  cost: Partial<PlanResult['cost']>,
  input: PlanRequestInput = TRAINING,
): SavedPlanRecord {
  const result = {
    request: normalizeRequest(input),
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
        deviceUsedRangeBytes: [31.25 * GIB, 40 * GIB],
        verdict: 'fits',
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
      record('plain', [], {}),
      record('serving', [], {}, { ...TRAINING, workload: 'inference' }),
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

  it('carries the layout in full: workload, method, ZeRO stage, checkpointing, micro-batch, sequence', () => {
    const header = lines[0].split(',');
    const row = Object.fromEntries(lines[3].split(',').map((value, i) => [header[i], value]));
    expect(row).toMatchObject({
      workload: 'training',
      method: 'full',
      zeroStage: '1',
      activationCheckpointing: 'full',
      microBatchSize: '2',
      gradientAccumulationSteps: '1',
      sequenceLength: '8192',
      layout: 'dp4 tp2 pp2 cp1',
      verdict: 'fits',
      deviceUsedLowGiB: '31.25',
      deviceUsedHighGiB: '40.00',
    });
    // A serving plan has no training settings: those cells stay empty.
    const serving = Object.fromEntries(lines[4].split(',').map((value, i) => [header[i], value]));
    expect(serving).toMatchObject({
      workload: 'inference',
      method: '',
      zeroStage: '',
      sequenceLength: '',
    });
  });

  it('leaves the range and verdict empty for a plan saved before them', () => {
    const older = record('older', [], {});
    const {
      deviceUsedRangeBytes: _range,
      verdict: _verdict,
      ...perGpu
    } = older.result.memory.perGpu;
    older.result = { ...older.result, memory: { ...older.result.memory, perGpu } } as PlanResult;
    const header = lines[0].split(',');
    const cells = csvRecord(csvRowOf(older)).trimEnd().split(',');
    const row = Object.fromEntries(cells.map((value, i) => [header[i], value]));
    expect(row).toMatchObject({
      verdict: '',
      deviceUsedLowGiB: '',
      deviceUsedHighGiB: '',
      deviceUsedGiB: '33.50',
    });
  });

  it('defuses a formula and leaves missing budget figures empty', () => {
    expect(lines[2]).toContain(`"'=HYPERLINK(""x"")"`);
    expect(lines[2].endsWith(',,')).toBe(true);
  });
});
